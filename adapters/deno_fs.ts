// Deno adapter, files: the FileSystem port over Deno.open and friends, with lock files.
import type { FileHandle, FileInfo, FileSystem } from "../src/runtime.ts";
import { InFlight } from "../src/runtime/in_flight.ts";
import type { LockFileOps } from "../src/runtime/lock_file.ts";
import { takeLock } from "../src/runtime/lock_file.ts";
import { baseName, parentDir } from "./paths.ts";

// Deno has no pread/pwrite, so each handle runs its operations one at a time (seek, then read/write),
// and skips the seek when the file position is already right (the common case: sequential appends).
class DenoFile implements FileHandle {
  #f: Deno.FsFile;
  #path: string;
  #pos = 0;
  #end: number;
  #tail: Promise<unknown> = Promise.resolve();
  /** A second handle of the same file for fdatasync (see sync); null until the first sync. */
  #syncer: Promise<Deno.FsFile | null> | null = null;
  #syncing = new InFlight();

  constructor(f: Deno.FsFile, path: string, size: number) {
    this.#f = f;
    this.#path = path;
    this.#end = size;
  }

  #run<T>(op: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(op, op);
    this.#tail = p.catch(() => {});
    return p;
  }

  async #seek(to: number): Promise<void> {
    if (this.#pos !== to) {
      this.#pos = -1; // unknown until the seek succeeds
      this.#pos = await this.#f.seek(to, Deno.SeekMode.Start);
    }
  }

  async #writeAll(position: number, data: Uint8Array): Promise<void> {
    await this.#seek(position);
    let done = 0;
    try {
      while (done < data.byteLength) done += await this.#f.write(data.subarray(done));
    } finally {
      this.#pos = position + done;
      this.#end = Math.max(this.#end, this.#pos);
    }
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    const got = await this.readInto(position, buf);
    return got === length ? buf : buf.slice(0, got);
  }

  readInto(position: number, buffer: Uint8Array): Promise<number> {
    return this.#run(async () => {
      await this.#seek(position);
      const length = buffer.byteLength;
      let got = 0;
      try {
        while (got < length) {
          const n = await this.#f.read(buffer.subarray(got));
          if (n === null || n === 0) break;
          got += n;
        }
      } finally {
        this.#pos = position + got;
      }
      return got;
    });
  }

  append(data: Uint8Array): Promise<void> {
    return this.#run(() => this.#writeAll(this.#end, data));
  }

  write(position: number, data: Uint8Array): Promise<void> {
    return this.#run(() => this.#writeAll(position, data));
  }

  /**
   * Seek and write share this handle's position, so its operations run one at a time; a sync among
   * them would hold every later append of the file until the disk answers (acks=all: 260-298 MB/s on
   * Deno). fdatasync flushes the file itself, whichever descriptor asks: so the sync waits for the
   * operations queued before it, then runs on a second handle, outside the queue. If that handle
   * cannot be opened (the file was renamed or removed), this handle syncs, still outside the queue
   * (close waits for syncs in flight from inside it).
   */
  sync(): Promise<void> {
    return this.#syncing.track(this.#tail.then(async () => {
      this.#syncer ??= Deno.open(this.#path, { read: true, write: true }).catch(() => null);
      const syncer = await this.#syncer;
      await (syncer ?? this.#f).syncData();
    }));
  }

  truncate(size: number): Promise<void> {
    return this.#run(async () => {
      await this.#f.truncate(size);
      this.#end = size;
    });
  }

  size(): Promise<number> {
    return this.#run(async () => this.#end);
  }

  close(): Promise<void> {
    return this.#run(async () => {
      await this.#syncing.settled();
      (await this.#syncer)?.close();
      this.#f.close();
    });
  }
}

/** Deno's errors carry a `code` on recent versions; make sure they do, so the core can test e.code === "ENOENT". */
function withCode(e: unknown): unknown {
  if (e instanceof Error && (e as { code?: string }).code === undefined) {
    const code = e instanceof Deno.errors.NotFound
      ? "ENOENT"
      : e instanceof Deno.errors.AlreadyExists
      ? "EEXIST"
      : e instanceof Deno.errors.PermissionDenied
      ? "EACCES"
      : e instanceof Deno.errors.IsADirectory
      ? "EISDIR"
      : undefined;
    if (code) Object.defineProperty(e, "code", { value: code });
  }
  return e;
}

async function wrapErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw withCode(e);
  }
}

async function info(path: string, name: string): Promise<FileInfo | null> {
  try {
    const s = await Deno.stat(path);
    return { name, isDirectory: s.isDirectory, size: s.isDirectory ? 0 : s.size };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw withCode(e);
  }
}

let tmpCounter = 0;

const heldLocks = new Set<string>();

function pidNamespace(): string {
  try {
    return Deno.readLinkSync("/proc/self/ns/pid");
  } catch {
    return "";
  }
}

const lockOps: LockFileOps = {
  // Written aside, then hard-linked into place: the lock file never exists without its holder's name.
  async createExclusive(path, text) {
    const tmp = `${path}.tmp-${Deno.pid}-${tmpCounter++}`;
    await Deno.writeTextFile(tmp, text);
    try {
      await Deno.link(tmp, path);
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) return false;
      throw withCode(e);
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  },
  readText: (path) => Deno.readTextFile(path).catch(() => null),
  async overwrite(path, text) {
    const f = await Deno.open(path, { read: true, write: true });
    try {
      const bytes = new TextEncoder().encode(text);
      let n = 0;
      while (n < bytes.length) n += await f.write(bytes.subarray(n));
      await f.truncate(bytes.length);
    } finally {
      f.close();
    }
  },
  remove: (path) => Deno.remove(path).catch(() => {}),
  pid: Deno.pid,
  host: Deno.hostname(),
  pidNamespace: pidNamespace(),
  /** /proc where there is one; elsewhere assume the process lives (the user removes a stale lock). */
  alive(pid) {
    try {
      Deno.statSync("/proc/self");
    } catch {
      return true;
    }
    try {
      Deno.statSync(`/proc/${pid}`);
      return true;
    } catch {
      return false;
    }
  },
  // flock(2): held until released or the process dies, across PID namespaces on this kernel.
  async osLock(path) {
    const f = await Deno.open(`${path}.flock`, { read: true, write: true, create: true });
    if (!(await f.tryLock(true))) {
      f.close();
      return null;
    }
    return async () => {
      await f.unlock().catch(() => {});
      f.close();
    };
  },
};

export const denoFileSystem: FileSystem = {
  lock: (path, options) => takeLock(path, lockOps, heldLocks, options),

  open: (path, options) =>
    wrapErrors(async () => {
      const f = await Deno.open(path, { read: true, write: true, create: options?.create ?? false });
      try {
        return new DenoFile(f, path, (await f.stat()).size);
      } catch (e) {
        f.close();
        throw e;
      }
    }),

  async readFile(path) {
    try {
      return await Deno.readFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw withCode(e);
    }
  },

  writeFileAtomic: (path, data, options) =>
    wrapErrors(async () => {
      const tmp = `${path}.tmp-${Date.now().toString(36)}-${(tmpCounter++).toString(36)}`;
      const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: options?.mode ?? 0o644 });
      try {
        let done = 0;
        while (done < data.byteLength) done += await f.write(data.subarray(done));
        await f.syncData();
      } catch (e) {
        f.close();
        await Deno.remove(tmp).catch(() => {});
        throw e;
      }
      f.close();
      await Deno.rename(tmp, path);
      try {
        const d = await Deno.open(parentDir(path), { read: true });
        try {
          await d.sync();
        } finally {
          d.close();
        }
      } catch {
        // best effort: not every file system lets a directory be synced
      }
    }),

  rename: (from, to) => wrapErrors(() => Deno.rename(from, to)),

  async remove(path, options) {
    try {
      await Deno.remove(path, { recursive: options?.recursive ?? false });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw withCode(e);
    }
  },

  async list(dir) {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) names.push(e.name);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw withCode(e);
    }
    const infos = await Promise.all(names.map((n) => info(`${dir}/${n}`, n)));
    return infos.filter((i): i is FileInfo => i !== null).sort((
      a,
      b,
    ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },

  stat: (path) => info(path, baseName(path)),

  mkdir: (path) => wrapErrors(() => Deno.mkdir(path, { recursive: true })),
};
