// Group commit: one fsync shared by every append to a file that asked for durability while the
// file's previous fsync ran, across producers. Each file has its own loop: the appends waiting on it
// are answered by its next sync, which starts as soon as the one before it ends. Under load the
// fsync rate thus adapts to the disk instead of to the request rate, and a partition whose sync is
// quick does not wait for a slower one (a store-wide round did: every partition's next sync waited
// for the slowest of the last round).
import type { FileHandle } from "../runtime.ts";

type Waiter = { resolve: () => void; reject: (e: unknown) => void };

/** One file's loop: appends waiting for its next sync, and whether one is scheduled or running. */
type FileLoop = { waiting: Waiter[]; busy: boolean };

export class GroupCommit {
  private files = new Map<FileHandle, FileLoop>();
  private windowMs: number;
  private idle: (() => void)[] = [];
  /** Syncs started, each answering every append that waited for it (for tests and benchmarks). */
  rounds = 0;

  /** `windowMs`: how long a file's first waiting append waits for company; 0 = the next timer tick. */
  constructor(windowMs = 0) {
    this.windowMs = windowMs;
  }

  /** Resolves once everything appended to `file` before this call is on stable storage. */
  sync(file: FileHandle): Promise<void> {
    return new Promise((resolve, reject) => {
      let loop = this.files.get(file);
      if (!loop) this.files.set(file, loop = { waiting: [], busy: false });
      loop.waiting.push({ resolve, reject });
      if (!loop.busy) {
        loop.busy = true;
        // A timer tick (or the window) lets appends issued in the same tick join.
        setTimeout(() => this.run(file, loop!), this.windowMs);
      }
    });
  }

  private run(file: FileHandle, loop: FileLoop): void {
    const batch = loop.waiting;
    loop.waiting = [];
    this.rounds++;
    Promise.resolve().then(() => file.sync()).then(
      () => {
        for (const w of batch) w.resolve();
      },
      (e) => {
        for (const w of batch) w.reject(e);
      },
    ).then(() => {
      if (loop.waiting.length > 0) return this.run(file, loop);
      loop.busy = false;
      this.files.delete(file);
      if (this.files.size === 0) { for (const f of this.idle.splice(0)) f(); }
    });
  }

  /** Waits for every requested sync to finish. */
  drain(): Promise<void> {
    if (this.files.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
