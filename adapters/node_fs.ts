// FileSystem over node:fs/promises. Used by the Node and Bun adapters (Bun implements node:fs natively).
import { constants, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import * as fsp from "node:fs/promises";
import type { FileHandle, FileInfo, FileSystem } from "../src/runtime.ts";
import { InFlight } from "../src/runtime/in_flight.ts";
import type { LockFileOps } from "../src/runtime/lock_file.ts";
import { takeLock } from "../src/runtime/lock_file.ts";
import { baseName, parentDir } from "./paths.ts";

const OPEN_RW = constants.O_RDWR;
const OPEN_CREATE = constants.O_RDWR | constants.O_CREAT;

/** Node's Buffer is a Uint8Array whose slice() does not copy; hand the core a plain view. */
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function code(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/**
 * fsyncs allowed at once. Every file operation runs on a thread pool: libuv's under Node
 * (UV_THREADPOOL_SIZE, 4 threads unless set), Bun's own (as many threads as cores here, also sized by
 * UV_THREADPOOL_SIZE). A sync, even of a small file, waits for the disk to flush its cache, so while
 * a rolled 1 GiB segment is written back it takes seconds; syncs that take every thread (a group
 * commit over 4 partitions, 4 segments rolling together, their index files) leave the appends and
 * reads of every request queued behind the disk. One thread stays free for them (two syncs at least,
 * below). Node, acks=all,
 * 1 KiB records, 4 partitions: 242-250 MB/s unbounded, 285-296 with one sync at a time, 321-339 with
 * two, 341-365 with three; Bun, acks=1, 4 segments rolling together: 0 MB/s for 2-3 s unbounded.
 */
class SyncLimit {
  #running = 0;
  #waiters: (() => void)[] = [];
  readonly max: number;

  /** At least two: on a 2-thread pool one sync at a time halves the group commit (Bun acks=all
   * 268-270 against 309-338 MB/s); the file engine flushes rolled segments one at a time store-wide,
   * so those alone never take both threads. */
  constructor(poolThreads: number) {
    this.max = Math.max(2, poolThreads - 1);
  }

  async run(sync: () => Promise<void>): Promise<void> {
    while (this.#running >= this.max) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#running++;
    try {
      await sync();
    } finally {
      this.#running--;
      this.#waiters.shift()?.();
    }
  }
}

/** The file thread pool's size: UV_THREADPOOL_SIZE when set (both runtimes read it at launch), else the runtime's default. */
export function threadPoolSize(runtimeDefault: number): number {
  return Number(process.env.UV_THREADPOOL_SIZE) || runtimeDefault;
}

class NodeFile implements FileHandle {
  #fh: fsp.FileHandle;
  /** End of file as this handle sees it, including appends still in flight (null: ask the OS). */
  #end: number | null;
  #syncs = new InFlight();
  #sync: (fh: fsp.FileHandle) => Promise<void>;

  constructor(fh: fsp.FileHandle, size: number, sync: (fh: fsp.FileHandle) => Promise<void>) {
    this.#fh = fh;
    this.#end = size;
    this.#sync = sync;
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    const got = await this.readInto(position, buf);
    return got === length ? buf : buf.slice(0, got);
  }

  async readInto(position: number, buffer: Uint8Array): Promise<number> {
    const length = buffer.byteLength;
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.#fh.read(buffer, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  }

  async append(data: Uint8Array): Promise<void> {
    // The position is taken synchronously so concurrent appends land in call order without overlapping.
    if (this.#end === null) this.#end = (await this.#fh.stat()).size;
    const at = this.#end;
    this.#end += data.byteLength;
    await this.#writeAll(at, data);
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    if (this.#end !== null) this.#end = Math.max(this.#end, position + data.byteLength);
    await this.#writeAll(position, data);
  }

  async #writeAll(position: number, data: Uint8Array): Promise<void> {
    try {
      let done = 0;
      while (done < data.byteLength) {
        const { bytesWritten } = await this.#fh.write(data, done, data.byteLength - done, position + done);
        done += bytesWritten;
      }
    } catch (e) {
      this.#end = null; // a torn write leaves the size unknown
      throw e;
    }
  }

  sync(): Promise<void> {
    return this.#syncs.track(this.#sync(this.#fh));
  }

  async truncate(size: number): Promise<void> {
    this.#end = null;
    await this.#fh.truncate(size);
    this.#end = size;
  }

  async size(): Promise<number> {
    if (this.#end === null) this.#end = (await this.#fh.stat()).size;
    return this.#end;
  }

  /** Syncs may wait for a free thread (SyncLimit): they finish before the descriptor goes. */
  async close(): Promise<void> {
    await this.#syncs.settled();
    return this.#fh.close();
  }
}

async function info(path: string, name: string): Promise<FileInfo | null> {
  try {
    const s = await fsp.stat(path);
    return { name, isDirectory: s.isDirectory(), size: s.isDirectory() ? 0 : s.size };
  } catch (e) {
    if (code(e) === "ENOENT") return null;
    throw e;
  }
}

/** fsync on the directory makes a rename or create durable; some file systems refuse it, which we tolerate. */
async function syncDir(dir: string, limit: SyncLimit): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, constants.O_RDONLY);
    const d = fh;
    await limit.run(() => d.sync());
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => {});
  }
}

let tmpCounter = 0;

const heldLocks = new Set<string>();

function pidNamespace(): string {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return "";
  }
}

const lockOps: LockFileOps = {
  // Written aside, then hard-linked into place: the lock file never exists without its holder's name.
  async createExclusive(path, text) {
    const tmp = `${path}.tmp-${process.pid}-${tmpCounter++}`;
    await fsp.writeFile(tmp, text, { mode: 0o644 });
    try {
      await fsp.link(tmp, path);
      return true;
    } catch (e) {
      if (code(e) === "EEXIST") return false;
      throw e;
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  },
  readText: (path) => fsp.readFile(path, "utf8").catch(() => null),
  async overwrite(path, text) {
    const fh = await fsp.open(path, "r+");
    try {
      const bytes = new TextEncoder().encode(text);
      await fh.write(bytes, 0, bytes.length, 0);
      await fh.truncate(bytes.length);
    } finally {
      await fh.close();
    }
  },
  remove: (path) => fsp.rm(path, { force: true }),
  pid: process.pid,
  host: hostname(),
  pidNamespace: pidNamespace(),
  alive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return code(e) === "EPERM"; // alive, just not ours
    }
  },
};

/**
 * The FileSystem over node:fs/promises for a process whose file thread pool has `poolThreads`
 * threads (one per process). `syncFd`, when given, runs the syncs of open files (appends made
 * durable, rolled segments) instead of the pool once they overlap; small files written whole and
 * directories still sync on the pool.
 */
export function nodeFileSystem(poolThreads: number, syncFd?: (fd: number) => Promise<void>): FileSystem {
  const limit = new SyncLimit(poolThreads);
  // Syncs go to syncFd from the first time two overlap (a group commit or a roll flush under load);
  // one at a time (start-up, metadata) they stay on the pool, so syncFd's workers never start in an
  // idle broker.
  let poolSyncs = 0;
  let offload = false;
  const syncFile = async (fh: fsp.FileHandle): Promise<void> => {
    if (syncFd !== undefined && (offload || poolSyncs > 0)) {
      offload = true;
      return syncFd(fh.fd);
    }
    poolSyncs++;
    try {
      await limit.run(() => fh.datasync());
    } finally {
      poolSyncs--;
    }
  };
  return {
    lock: (path, options) => takeLock(path, lockOps, heldLocks, options),

    async open(path, options) {
      const fh = await fsp.open(path, options?.create ? OPEN_CREATE : OPEN_RW, 0o644);
      try {
        return new NodeFile(fh, (await fh.stat()).size, syncFile);
      } catch (e) {
        await fh.close();
        throw e;
      }
    },

    async readFile(path) {
      try {
        return plain(await fsp.readFile(path));
      } catch (e) {
        if (code(e) === "ENOENT") return null;
        throw e;
      }
    },

    async writeFileAtomic(path, data, options) {
      const tmp = `${path}.tmp-${Date.now().toString(36)}-${(tmpCounter++).toString(36)}`;
      const mode = options?.mode ?? 0o644;
      const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, mode);
      try {
        let done = 0;
        while (done < data.byteLength) {
          done += (await fh.write(data, done, data.byteLength - done, done)).bytesWritten;
        }
        await limit.run(() => fh.datasync());
      } catch (e) {
        await fh.close().catch(() => {});
        await fsp.rm(tmp, { force: true }).catch(() => {});
        throw e;
      }
      await fh.close();
      await fsp.rename(tmp, path);
      await syncDir(parentDir(path), limit);
    },

    async rename(from, to) {
      await fsp.rename(from, to);
    },

    async remove(path, options) {
      if (options?.recursive) {
        await fsp.rm(path, { recursive: true, force: true });
        return;
      }
      try {
        await fsp.unlink(path);
      } catch (e) {
        const c = code(e);
        if (c === "ENOENT") return;
        if (c === "EISDIR" || c === "EPERM") {
          await fsp.rmdir(path);
          return;
        }
        throw e;
      }
    },

    async list(dir) {
      let names: string[];
      try {
        names = await fsp.readdir(dir);
      } catch (e) {
        if (code(e) === "ENOENT") return [];
        throw e;
      }
      const infos = await Promise.all(names.map((n) => info(`${dir}/${n}`, n)));
      return infos.filter((i): i is FileInfo => i !== null).sort((
        a,
        b,
      ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    stat(path) {
      return info(path, baseName(path));
    },

    async mkdir(path) {
      await fsp.mkdir(path, { recursive: true });
    },
  };
}
