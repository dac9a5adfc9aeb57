/// <reference types="bun-types" />
// fdatasync on worker threads of our own, for Bun. Bun runs its file operations on a pool of one
// thread per core (2 here), sized from UV_THREADPOOL_SIZE only at launch. A sync waits for the
// disk's cache flush, so syncs on the pool leave appends queued behind the disk: acks=all (1 KiB
// records, 4 partitions, 16 in flight) ran at 358-384 MB/s with two syncs on the pool, 417-467
// with one sync worker and 484-505 with two (2 runs each). The workers start at their first sync,
// which nodeFileSystem sends only once syncs overlap (so idle RSS is unchanged), and add 10-15 MB
// under load. Their code is a Blob URL, so the compiled binary needs no extra entry point.
const WORKERS = 2;

const SOURCE = `import { fdatasyncSync } from "node:fs";
self.onmessage = (e) => {
  const { id, fd } = e.data;
  try {
    fdatasyncSync(fd);
    postMessage({ id });
  } catch (x) {
    postMessage({ id, code: x?.code ?? "EIO", message: String(x?.message ?? x) });
  }
};`;

type Pending = { resolve: () => void; reject: (e: Error) => void };
type SyncWorker = { worker: Worker; busy: number; pending: Map<number, Pending> };
type Reply = { id: number; code?: string; message?: string };

/** A function that fdatasyncs a descriptor on one of WORKERS worker threads (the least busy). */
export function workerSync(): (fd: number) => Promise<void> {
  let url: string | null = null;
  const workers: (SyncWorker | null)[] = Array.from({ length: WORKERS }, () => null);
  let seq = 0;
  const start = (slot: number): SyncWorker => {
    url ??= URL.createObjectURL(new Blob([SOURCE], { type: "application/javascript" }));
    const w: SyncWorker = { worker: new Worker(url), busy: 0, pending: new Map() };
    w.worker.onmessage = (e: MessageEvent<Reply>) => {
      const p = w.pending.get(e.data.id);
      if (p === undefined) return;
      w.pending.delete(e.data.id);
      w.busy--;
      if (e.data.code === undefined) p.resolve();
      else p.reject(Object.assign(new Error(`fdatasync: ${e.data.message}`), { code: e.data.code }));
    };
    // A worker that dies fails what it held; its slot gets a new one at the next sync.
    w.worker.onerror = (e: ErrorEvent) => {
      for (const p of w.pending.values()) {
        p.reject(Object.assign(new Error(`sync worker failed: ${e.message}`), { code: "EIO" }));
      }
      w.pending.clear();
      w.worker.terminate();
      if (workers[slot] === w) workers[slot] = null;
    };
    w.worker.unref(); // never what keeps the process alive
    return (workers[slot] = w);
  };
  return (fd) =>
    new Promise<void>((resolve, reject) => {
      let w: SyncWorker | null = null;
      for (let i = 0; i < WORKERS; i++) {
        const c = workers[i] ?? start(i);
        if (w === null || c.busy < w.busy) w = c;
      }
      const id = seq++;
      w!.busy++;
      w!.pending.set(id, { resolve, reject });
      w!.worker.postMessage({ id, fd });
    });
}
