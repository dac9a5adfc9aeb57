// Group commit: one fsync shared by every append to a file that asked for durability while the
// file's previous fsync ran, across producers. Each file has its own loop: the appends waiting on it
// are answered by its next sync, which starts as soon as the one before it ends. Under load the
// fsync rate thus adapts to the disk instead of to the request rate, and a partition whose sync is
// quick does not wait for a slower one (a store-wide round did: every partition's next sync waited
// for the slowest of the last round).
// A failed fsync is final for its file: every later sync() of it rejects with the same error. Linux
// reports a writeback error once and may drop the dirty pages; the next fsync would then succeed and
// answer appends as durable whose data before them was lost (PostgreSQL's "fsyncgate").
import type { FileHandle } from "../runtime.ts";

type Waiter = { resolve: () => void; reject: (e: unknown) => void };

/** One file's loop: appends waiting for its next sync, and whether one is scheduled or running. */
type FileLoop = { waiting: Waiter[]; busy: boolean; done: Promise<void>; end: () => void };

export class GroupCommit {
  private files = new Map<FileHandle, FileLoop>();
  private windowMs: number;
  private idle: (() => void)[] = [];
  private broken = new WeakMap<FileHandle, unknown>();
  /** Syncs started, each answering every append that waited for it (for tests and benchmarks). */
  rounds = 0;

  /** `windowMs`: how long a file's first waiting append waits for company; 0 = the next timer tick. */
  constructor(windowMs = 0) {
    this.windowMs = windowMs;
  }

  /** Resolves once everything appended to `file` before this call is on stable storage. */
  sync(file: FileHandle): Promise<void> {
    if (this.broken.has(file)) return Promise.reject(this.broken.get(file));
    return new Promise((resolve, reject) => {
      let loop = this.files.get(file);
      if (!loop) {
        let end = () => {};
        const done = new Promise<void>((r) => end = r);
        this.files.set(file, loop = { waiting: [], busy: false, done, end });
      }
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
    Promise.resolve().then(() => {
      if (this.broken.has(file)) throw this.broken.get(file);
      return file.sync();
    }).then(
      () => {
        for (const w of batch) w.resolve();
      },
      (e) => {
        if (!this.broken.has(file)) this.broken.set(file, e);
        for (const w of batch) w.reject(e);
      },
    ).then(() => {
      if (loop.waiting.length > 0) return this.run(file, loop);
      loop.busy = false;
      this.files.delete(file);
      loop.end();
      if (this.files.size === 0) { for (const f of this.idle.splice(0)) f(); }
    });
  }

  /** Resolves once no sync of `file` is waiting or running (before its handle may be closed). */
  async settled(file: FileHandle): Promise<void> {
    while (this.files.has(file)) await this.files.get(file)!.done;
  }

  /** Waits for every requested sync to finish. */
  drain(): Promise<void> {
    if (this.files.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
