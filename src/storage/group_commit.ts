// Group commit: one fsync round shared by every append that asked for durability in the same window,
// across producers and partitions. A round syncs each dirty file once; appends that arrive while a
// round runs join the next one, so under load the fsync rate adapts to the disk instead of to the
// request rate.
import type { FileHandle } from "../runtime.ts";

type Waiter = { resolve: () => void; reject: (e: unknown) => void };

export class GroupCommit {
  /** Files to sync in the next round, each with the appends waiting on it. */
  private pending = new Map<FileHandle, Waiter[]>();
  private running: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private windowMs: number;
  /** Rounds run and files synced (for tests and benchmarks). */
  rounds = 0;
  syncs = 0;

  /** `windowMs`: how long a round waits for company after the first request; 0 = start at once. */
  constructor(windowMs = 0) {
    this.windowMs = windowMs;
  }

  /** Resolves once everything appended to `file` before this call is on stable storage. */
  sync(file: FileHandle): Promise<void> {
    return new Promise((resolve, reject) => {
      let list = this.pending.get(file);
      if (!list) this.pending.set(file, (list = []));
      list.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.timer) return;
    if (this.windowMs > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.start();
      }, this.windowMs);
    } else {
      // A microtask lets appends issued in the same tick join.
      this.timer = setTimeout(() => {
        this.timer = null;
        this.start();
      }, 0);
    }
  }

  private start(): void {
    if (this.running || this.pending.size === 0) return;
    const round = this.pending;
    this.pending = new Map();
    this.rounds++;
    this.running = Promise.all([...round].map(async ([file, waiters]) => {
      this.syncs++;
      try {
        await file.sync();
        for (const w of waiters) w.resolve();
      } catch (e) {
        for (const w of waiters) w.reject(e);
      }
    })).then(() => {
      this.running = null;
      if (this.pending.size > 0) this.schedule();
    });
  }

  /** Waits for every requested sync to finish. */
  async drain(): Promise<void> {
    while (this.running || this.pending.size > 0 || this.timer) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
        this.start();
      }
      await this.running;
      if (!this.running && this.pending.size > 0) this.start();
    }
  }
}
