// The lock-file protocol behind FileSystem.lock, shared by the adapters: a file created exclusively
// that names the holding process. A file naming a live process (or, in this process, a lock not
// released) means ELOCKED; one naming a process that is gone is taken over.
import type { FileLock } from "../runtime.ts";

/** What an adapter lends: exclusive creation, reading, removal, and who is alive. */
export type LockFileOps = {
  /** Creates `path` holding `text`; false when it exists already. */
  createExclusive(path: string, text: string): Promise<boolean>;
  /** The file's text, or null when it vanished. */
  readText(path: string): Promise<string | null>;
  remove(path: string): Promise<void>;
  readonly pid: number;
  alive(pid: number): boolean;
};

/** Lock files this process holds, per adapter (a second lock in the same process is refused too). */
export async function takeLock(path: string, ops: LockFileOps, held: Set<string>): Promise<FileLock> {
  let pid = -1;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await ops.createExclusive(path, `${ops.pid}\n`)) {
      held.add(path);
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          held.delete(path);
          await ops.remove(path);
        },
      };
    }
    pid = Number((await ops.readText(path) ?? "").trim());
    const alive = pid === ops.pid ? held.has(path) : pid > 0 && ops.alive(pid);
    if (alive) break;
    await ops.remove(path); // left by a process that is gone
    pid = -1;
  }
  return Promise.reject(
    Object.assign(new Error(`${path} is held by ${pid > 0 ? `process ${pid}` : "another process"}`), {
      code: "ELOCKED",
      pid,
    }),
  );
}
