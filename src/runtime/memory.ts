// In-memory Runtime: listeners in a per-runtime table, connections as in-process duplexes,
// a FileSystem in a Map with fault injection. For tests, and for running where there is no disk.
// Pure TS: only web-standard globals (queueMicrotask, setTimeout, TextEncoder).
import { formatLogLine } from "../log.ts";
import type {
  Conn,
  ConnectOptions,
  ConnHandler,
  FileHandle,
  FileInfo,
  FileSystem,
  Listener,
  ListenOptions,
  LogLevel,
  Runtime,
} from "../runtime.ts";

/** An error with a POSIX-style `code`, as the real adapters throw. */
export class MemoryError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
    this.name = "MemoryError";
  }
}

// ---------------------------------------------------------------------------------------------
// Connections

/** Bytes the server may queue towards a client before write() returns false. */
const MEMORY_HIGH_WATER = 1 << 20;

/** The client's end of an in-memory connection. */
export interface ClientConn {
  /** Sends bytes to the server (copied); they reach ConnHandler.data asynchronously, in order. */
  write(chunk: Uint8Array): void;
  /** Half-close from the client: the server's handler sees end() once earlier writes are delivered. */
  close(): void;
  /**
   * Server→client bytes. Without a callback they queue for read(). Setting one delivers the queue
   * to it at once.
   */
  ondata: ((chunk: Uint8Array) => void) | null;
  /** The server closed the connection (after its last data). */
  onend: (() => void) | null;
  /** Next chunk from the server, or null once the server closed and everything was read. */
  read(): Promise<Uint8Array | null>;
  /** Exactly `n` bytes from the server (fewer only if it closed first). */
  readExactly(n: number): Promise<Uint8Array>;
  /** Stop / resume taking server bytes: the server's queue grows, so its write() returns false. */
  pause(): void;
  resume(): void;
  /** True once the server closed its side. */
  readonly ended: boolean;
}

type Delivery = { chunks: Uint8Array[]; bytes: number; scheduled: boolean };

class MemoryConnection {
  // client → server
  toServer: Delivery = { chunks: [], bytes: 0, scheduled: false };
  serverPaused = false;
  clientClosed = false;
  serverEnded = false;
  handler: ConnHandler | null = null;
  /** Lend chunks from `scratch` (see MemoryRuntimeOptions.lendChunks). */
  lend = false;
  scratch = new Uint8Array(0);
  // server → client
  toClient: Delivery = { chunks: [], bytes: 0, scheduled: false };
  /** write()'s callback per toClient chunk. */
  toClientSent: ((() => void) | undefined)[] = [];
  clientPaused = false;
  serverClosing = false;
  clientEnded = false;
  drainWaiters: (() => void)[] = [];
  // client-side buffer when no ondata callback is set
  inbox: Uint8Array[] = [];
  readers: ((c: Uint8Array | null) => void)[] = [];
  ondata: ((chunk: Uint8Array) => void) | null = null;
  onend: (() => void) | null = null;

  // --- server side
  serverWrite(chunk: Uint8Array, sent?: () => void): boolean {
    if (this.serverClosing || this.clientEnded) return true;
    this.toClient.chunks.push(chunk);
    this.toClientSent.push(sent);
    this.toClient.bytes += chunk.byteLength;
    this.scheduleToClient();
    return this.toClient.bytes <= MEMORY_HIGH_WATER;
  }

  serverDrained(): Promise<void> {
    if (this.toClient.bytes === 0 || this.clientEnded) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  serverClose(): void {
    if (this.serverClosing) return;
    this.serverClosing = true;
    this.scheduleToClient();
  }

  scheduleToClient(): void {
    if (this.toClient.scheduled) return;
    this.toClient.scheduled = true;
    setTimeout(() => this.flushToClient(), 0);
  }

  flushToClient(): void {
    this.toClient.scheduled = false;
    if (this.clientEnded) return;
    while (!this.clientPaused && this.toClient.chunks.length > 0) {
      const chunk = this.toClient.chunks.shift()!;
      const sent = this.toClientSent.shift();
      this.toClient.bytes -= chunk.byteLength;
      if (sent === undefined) {
        this.deliverToClient(chunk);
      } else {
        // Like a kernel: the client gets a copy, and the server may reuse its chunk from here on.
        this.deliverToClient(chunk.slice());
        sent();
      }
    }
    if (this.toClient.bytes === 0) {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of w) f();
      if (this.serverClosing) this.endClient();
    }
  }

  deliverToClient(chunk: Uint8Array): void {
    if (this.ondata) this.ondata(chunk);
    else if (this.readers.length > 0) this.readers.shift()!(chunk);
    else this.inbox.push(chunk);
  }

  endClient(): void {
    if (this.clientEnded) return;
    this.clientEnded = true;
    for (const r of this.readers.splice(0)) r(null);
    this.onend?.();
    // Closing from the server ends the connection for both sides.
    this.endServer();
  }

  // --- client side
  clientWrite(chunk: Uint8Array): void {
    if (this.clientClosed || this.serverEnded) return;
    this.toServer.chunks.push(chunk.slice());
    this.toServer.bytes += chunk.byteLength;
    this.scheduleToServer();
  }

  clientClose(): void {
    if (this.clientClosed) return;
    this.clientClosed = true;
    this.scheduleToServer();
  }

  scheduleToServer(): void {
    if (this.toServer.scheduled || this.serverEnded) return;
    this.toServer.scheduled = true;
    queueMicrotask(() => this.flushToServer());
  }

  flushToServer(): void {
    this.toServer.scheduled = false;
    if (this.serverEnded || !this.handler) return;
    while (!this.serverPaused && this.toServer.chunks.length > 0) {
      const chunk = this.toServer.chunks.shift()!;
      this.toServer.bytes -= chunk.byteLength;
      if (this.lend) {
        if (this.scratch.length < chunk.length) this.scratch = new Uint8Array(chunk.length);
        this.scratch.set(chunk);
        this.handler.data(this.scratch.subarray(0, chunk.length), true);
        this.scratch.fill(0xee); // what the core kept must have been copied
      } else {
        this.handler.data(chunk);
      }
    }
    if (this.clientClosed && this.toServer.chunks.length === 0) {
      // The client going away also ends what the server was sending.
      this.clientEnded = true;
      this.toClient.chunks = [];
      this.toClientSent = [];
      this.toClient.bytes = 0;
      for (const f of this.drainWaiters.splice(0)) f();
      for (const r of this.readers.splice(0)) r(null);
      this.endServer();
    }
  }

  endServer(): void {
    if (this.serverEnded) return;
    this.serverEnded = true;
    this.handler?.end();
  }
}

class MemoryServerConn implements Conn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  #c: MemoryConnection;
  constructor(c: MemoryConnection, remotePort: number) {
    this.#c = c;
    this.remoteAddress = "memory";
    this.remotePort = remotePort;
  }
  write(chunk: Uint8Array, sent?: () => void): boolean {
    return this.#c.serverWrite(chunk, sent);
  }
  drained(): Promise<void> {
    return this.#c.serverDrained();
  }
  pause(): void {
    this.#c.serverPaused = true;
  }
  resume(): void {
    if (!this.#c.serverPaused) return;
    this.#c.serverPaused = false;
    this.#c.scheduleToServer();
  }
  close(): void {
    this.#c.serverClose();
  }
}

/** A client end as the Conn that Runtime.connect gives (writes are copied; no backpressure). */
function outboundOf(client: ClientConn, port: number, handler: (conn: Conn) => ConnHandler): Conn {
  const conn: Conn = {
    remoteAddress: "127.0.0.1",
    remotePort: port,
    write(chunk, sent) {
      client.write(chunk);
      sent?.();
      return true;
    },
    drained: () => Promise.resolve(),
    pause: () => client.pause(),
    resume: () => client.resume(),
    close: () => client.close(),
  };
  const h = handler(conn);
  client.ondata = (chunk) => h.data(chunk);
  client.onend = () => h.end();
  return conn;
}

function clientOf(c: MemoryConnection): ClientConn {
  return {
    write: (chunk) => c.clientWrite(chunk),
    close: () => c.clientClose(),
    get ondata() {
      return c.ondata;
    },
    set ondata(fn) {
      c.ondata = fn;
      if (fn) { for (const chunk of c.inbox.splice(0)) fn(chunk); }
    },
    get onend() {
      return c.onend;
    },
    set onend(fn) {
      c.onend = fn;
    },
    read() {
      if (c.inbox.length > 0) return Promise.resolve(c.inbox.shift()!);
      if (c.clientEnded) return Promise.resolve(null);
      return new Promise((resolve) => c.readers.push(resolve));
    },
    async readExactly(n) {
      const out = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const chunk = await this.read();
        if (chunk === null) return out.slice(0, got);
        const take = Math.min(chunk.byteLength, n - got);
        out.set(chunk.subarray(0, take), got);
        got += take;
        if (take < chunk.byteLength) c.inbox.unshift(chunk.subarray(take));
      }
      return out;
    },
    pause: () => {
      c.clientPaused = true;
    },
    resume: () => {
      c.clientPaused = false;
      c.scheduleToClient();
    },
    get ended() {
      return c.clientEnded;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// File system

export type FsOp =
  | "open"
  | "read"
  | "append"
  | "write"
  | "sync"
  | "truncate"
  | "size"
  | "close"
  | "readFile"
  | "writeFileAtomic"
  | "rename"
  | "remove"
  | "list"
  | "stat"
  | "mkdir"
  | "lock";

type Fault = { op: FsOp; error: Error; path: string | RegExp | undefined; remaining: number };

type MemFile = {
  data: Uint8Array; // capacity may exceed len
  len: number;
  /** What survives crash(): the content as of the last sync. */
  durable: Uint8Array;
  durableLen: number;
  /** Lowest byte changed since the last sync (Infinity: only appends beyond durableLen). */
  dirtyFrom: number;
};

function grow(buf: Uint8Array, need: number): Uint8Array {
  if (need <= buf.byteLength) return buf;
  const next = new Uint8Array(Math.max(need, buf.byteLength * 2, 64));
  next.set(buf);
  return next;
}

/** "a//b/./c/" → "a/b/c"; "/x/../y" → "/y". The root is "/" (absolute) or "." (relative). */
export function normalizePath(path: string): string {
  const abs = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  const joined = out.join("/");
  return abs ? `/${joined}` : joined === "" ? "." : joined;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}

function isRoot(path: string): boolean {
  return path === "/" || path === ".";
}

/** The memory FileSystem plus the knobs tests use to break it. */
export interface MemoryFileSystem extends FileSystem {
  /**
   * The next `count` (default 1) calls of `op` (on `path`, when given: exact normalized path or RegExp)
   * reject with `error` (default an MemoryError with code EIO). A string error becomes an MemoryError with that code.
   */
  failNext(op: FsOp, error?: Error | string, options?: { path?: string | RegExp; count?: number }): void;
  /** Total bytes all files may hold; writes past it store what fits, then reject with ENOSPC. null: no limit. */
  diskLimit: number | null;
  /** Bytes stored in all files. */
  used(): number;
  /**
   * Simulates power loss: every file falls back to its content at its last sync
   * (writeFileAtomic counts as synced), and open handles fail with EBADF.
   * Simplification: names (create, rename, remove) are durable at once.
   */
  crash(): void;
  /**
   * A slow disk: handle syncs of files matching `path` wait (their content is taken when they
   * finish) until the returned function is called. A crash() meanwhile fails them with EBADF.
   */
  holdSyncs(path: RegExp): () => void;
  /** How many times each operation ran (including failed ones). */
  readonly calls: Record<string, number>;
}

export function memoryFileSystem(): MemoryFileSystem {
  const files = new Map<string, MemFile>();
  const dirs = new Set<string>();
  const locks = new Set<string>();
  const faults: Fault[] = [];
  const holds: { path: RegExp; released: Promise<void> }[] = [];
  const calls: Record<string, number> = {};
  let generation = 0; // bumped by crash(): handles from before are dead
  let used = 0;

  const isDir = (p: string) => isRoot(p) || dirs.has(p);

  function check(op: FsOp, path: string): void {
    calls[op] = (calls[op] ?? 0) + 1;
    for (let i = 0; i < faults.length; i++) {
      const f = faults[i];
      if (f.op !== op) continue;
      if (f.path !== undefined && (typeof f.path === "string" ? normalizePath(f.path) !== path : !f.path.test(path))) {
        continue;
      }
      if (--f.remaining <= 0) faults.splice(i, 1);
      throw f.error;
    }
  }

  function requireParent(path: string): void {
    const parent = parentOf(path);
    if (!isDir(parent)) throw new MemoryError("ENOENT", `no such directory: ${parent}`);
  }

  /** Stores bytes at `pos`, up to the disk limit; throws ENOSPC after storing what fits. */
  function store(f: MemFile, pos: number, data: Uint8Array, path: string): void {
    const end = pos + data.byteLength;
    const growth = Math.max(0, end - f.len);
    let n = data.byteLength;
    if (fsys.diskLimit !== null && used + growth > fsys.diskLimit) {
      const room = Math.max(0, fsys.diskLimit - used);
      n = Math.max(0, Math.min(data.byteLength, f.len + room - pos));
    }
    if (n > 0) {
      f.data = grow(f.data, pos + n);
      if (pos > f.len) f.data.fill(0, f.len, pos);
      f.data.set(data.subarray(0, n), pos);
      const newLen = Math.max(f.len, pos + n);
      used += newLen - f.len;
      f.len = newLen;
      if (pos < f.durableLen) f.dirtyFrom = Math.min(f.dirtyFrom, pos);
    }
    if (n < data.byteLength) throw new MemoryError("ENOSPC", `no space left writing ${path}`);
  }

  function sync(f: MemFile): void {
    if (f.dirtyFrom >= f.durableLen) {
      // Only appends since the last sync: extend the durable copy.
      f.durable = grow(f.durable, f.len);
      f.durable.set(f.data.subarray(f.durableLen, f.len), f.durableLen);
    } else {
      f.durable = f.data.slice(0, f.len);
    }
    f.durableLen = f.len;
    f.dirtyFrom = Infinity;
  }

  function truncate(f: MemFile, size: number): void {
    if (size < f.len) {
      used -= f.len - size;
      f.len = size;
      if (size < f.durableLen) f.dirtyFrom = Math.min(f.dirtyFrom, size);
    } else if (size > f.len) {
      f.data = grow(f.data, size);
      f.data.fill(0, f.len, size);
      used += size - f.len;
      f.len = size;
    }
  }

  function newFile(): MemFile {
    return { data: new Uint8Array(0), len: 0, durable: new Uint8Array(0), durableLen: 0, dirtyFrom: Infinity };
  }

  function info(path: string): FileInfo | null {
    const name = isRoot(path) ? path : path.slice(path.lastIndexOf("/") + 1);
    if (isDir(path)) return { name, isDirectory: true, size: 0 };
    const f = files.get(path);
    return f ? { name, isDirectory: false, size: f.len } : null;
  }

  function handle(path: string): FileHandle {
    const gen = generation;
    let closed = false;
    const file = (op: FsOp): MemFile => {
      check(op, path);
      if (closed || gen !== generation) throw new MemoryError("EBADF", `handle closed: ${path}`);
      const f = files.get(path);
      if (!f) throw new MemoryError("ENOENT", `file was removed: ${path}`); // unlike POSIX; keeps tests honest
      return f;
    };
    const run = <T>(f: () => T): Promise<T> => {
      try {
        return Promise.resolve(f());
      } catch (e) {
        return Promise.reject(e);
      }
    };
    return {
      read: (position, length) =>
        run(() => {
          const f = file("read");
          const end = Math.min(f.len, position + length);
          return end <= position ? new Uint8Array(0) : f.data.slice(position, end);
        }),
      readInto: (position, buffer) =>
        run(() => {
          const f = file("read");
          const end = Math.min(f.len, position + buffer.byteLength);
          if (end <= position) return 0;
          buffer.set(f.data.subarray(position, end));
          return end - position;
        }),
      append: (data) =>
        run(() => {
          const f = file("append");
          store(f, f.len, data, path);
        }),
      write: (position, data) => run(() => store(file("write"), position, data, path)),
      sync: async () => {
        for (const h of [...holds]) if (h.path.test(path)) await h.released;
        return run(() => sync(file("sync")));
      },
      truncate: (size) => run(() => truncate(file("truncate"), size)),
      size: () => run(() => file("size").len),
      close: () =>
        run(() => {
          check("close", path);
          closed = true;
        }),
    };
  }

  const attempt = <T>(op: FsOp, rawPath: string, f: (path: string) => T): Promise<T> => {
    try {
      const path = normalizePath(rawPath);
      check(op, path);
      return Promise.resolve(f(path));
    } catch (e) {
      return Promise.reject(e);
    }
  };

  const fsys: MemoryFileSystem = {
    diskLimit: null,
    calls,

    open: (rawPath, options) =>
      attempt("open", rawPath, (path) => {
        if (isDir(path)) throw new MemoryError("EISDIR", `is a directory: ${path}`);
        if (!files.has(path)) {
          if (!options?.create) throw new MemoryError("ENOENT", `no such file: ${path}`);
          requireParent(path);
          files.set(path, newFile());
        }
        return handle(path);
      }),

    readFile: (rawPath) =>
      attempt("readFile", rawPath, (path) => {
        if (isDir(path)) throw new MemoryError("EISDIR", `is a directory: ${path}`);
        const f = files.get(path);
        return f ? f.data.slice(0, f.len) : null;
      }),

    writeFileAtomic: (rawPath, data) =>
      attempt("writeFileAtomic", rawPath, (path) => {
        if (isDir(path)) throw new MemoryError("EISDIR", `is a directory: ${path}`);
        requireParent(path);
        const old = files.get(path);
        const growth = data.byteLength - (old?.len ?? 0);
        if (fsys.diskLimit !== null && used + Math.max(0, growth) > fsys.diskLimit) {
          throw new MemoryError("ENOSPC", `no space left writing ${path}`); // atomic: nothing changes
        }
        const f = newFile();
        f.data = data.slice();
        f.len = data.byteLength;
        sync(f);
        used += growth;
        files.set(path, f);
      }),

    rename: (rawFrom, rawTo) =>
      attempt("rename", rawFrom, (from) => {
        const to = normalizePath(rawTo);
        if (from === to) return;
        requireParent(to);
        const f = files.get(from);
        if (f) {
          if (isDir(to)) throw new MemoryError("EISDIR", `is a directory: ${to}`);
          const old = files.get(to);
          if (old) used -= old.len;
          files.delete(from);
          files.set(to, f);
          return;
        }
        if (!dirs.has(from)) throw new MemoryError("ENOENT", `no such file: ${from}`);
        if (files.has(to)) throw new MemoryError("ENOTDIR", `not a directory: ${to}`);
        if (dirs.has(to) && [...files.keys(), ...dirs].some((p) => p.startsWith(`${to}/`))) {
          throw new MemoryError("ENOTEMPTY", `directory not empty: ${to}`);
        }
        const prefix = `${from}/`;
        for (const [p, file] of [...files]) {
          if (p.startsWith(prefix)) {
            files.delete(p);
            files.set(to + p.slice(from.length), file);
          }
        }
        for (const d of [...dirs]) {
          if (d === from || d.startsWith(prefix)) {
            dirs.delete(d);
            dirs.add(to + d.slice(from.length));
          }
        }
      }),

    remove: (rawPath, options) =>
      attempt("remove", rawPath, (path) => {
        const f = files.get(path);
        if (f) {
          used -= f.len;
          files.delete(path);
          return;
        }
        if (!dirs.has(path)) return;
        const prefix = `${path}/`;
        const inside = [...files.keys(), ...dirs].filter((p) => p.startsWith(prefix));
        if (inside.length > 0 && !options?.recursive) {
          throw new MemoryError("ENOTEMPTY", `directory not empty: ${path}`);
        }
        for (const p of inside) {
          const g = files.get(p);
          if (g) used -= g.len;
          files.delete(p);
          dirs.delete(p);
        }
        dirs.delete(path);
      }),

    list: (rawPath) =>
      attempt("list", rawPath, (path) => {
        if (files.has(path)) throw new MemoryError("ENOTDIR", `not a directory: ${path}`);
        if (!isDir(path)) return [];
        const prefix = path === "." ? "" : path === "/" ? "/" : `${path}/`;
        const out: FileInfo[] = [];
        for (const p of [...dirs, ...files.keys()]) {
          if (
            p.startsWith(prefix) && !p.slice(prefix.length).includes("/") && p.length > prefix.length &&
            !(path === "." && p.startsWith("/"))
          ) {
            out.push(info(p)!);
          }
        }
        return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      }),

    stat: (rawPath) => attempt("stat", rawPath, (path) => info(path)),

    lock: (rawPath) =>
      attempt("lock", rawPath, (path) => {
        if (locks.has(path)) throw Object.assign(new MemoryError("ELOCKED", `${path} is held`), { pid: 0 });
        locks.add(path);
        let released = false;
        return {
          release() {
            if (!released) {
              released = true;
              locks.delete(path);
            }
            return Promise.resolve();
          },
        };
      }),

    mkdir: (rawPath) =>
      attempt("mkdir", rawPath, (path) => {
        const parts: string[] = [];
        for (let p = path; !isRoot(p); p = parentOf(p)) parts.push(p);
        for (const p of parts.reverse()) {
          if (files.has(p)) throw new MemoryError("EEXIST", `file exists: ${p}`);
          dirs.add(p);
        }
      }),

    failNext(op, error, options) {
      const err = error === undefined
        ? new MemoryError("EIO", `injected ${op} failure`)
        : typeof error === "string"
        ? new MemoryError(error, `injected ${op} failure`)
        : error;
      faults.push({ op, error: err, path: options?.path, remaining: options?.count ?? 1 });
    },

    used: () => used,

    holdSyncs(path) {
      let release!: () => void;
      const hold = { path, released: new Promise<void>((r) => (release = r)) };
      holds.push(hold);
      return () => {
        holds.splice(holds.indexOf(hold), 1);
        release();
      };
    },

    crash() {
      generation++;
      used = 0;
      for (const f of files.values()) {
        f.data = f.durable.slice(0, f.durableLen);
        f.len = f.durableLen;
        f.dirtyFrom = Infinity;
        used += f.len;
      }
    },
  };
  return fsys;
}

// ---------------------------------------------------------------------------------------------
// Runtime

export type MemoryRuntimeOptions = {
  /** Base clock; Date.now by default. `advance()` adds to it. */
  now?: () => number;
  /** Where log lines go besides `logs`; nothing by default. */
  log?: (line: string) => void;
  fs?: MemoryFileSystem;
  /**
   * Deliver received bytes as the Deno adapter does: lent (`ConnHandler.data(chunk, true)`) from one
   * buffer per connection, which is overwritten with garbage once data() returns.
   */
  lendChunks?: boolean;
};

/** Two ways in: a test's client end (by port), or Runtime.connect's (the admin client in tests). */
export interface MemoryConnect {
  /** Opens an in-memory connection to a listener of this runtime. Throws ECONNREFUSED if none. */
  (port: number, host?: string): ClientConn;
  /** Runtime.connect: the same connection, delivered to a ConnHandler. */
  (options: ConnectOptions, handler: (conn: Conn) => ConnHandler): Promise<Conn>;
}

export type MemoryRuntime = Runtime & {
  readonly fs: MemoryFileSystem;
  connect: MemoryConnect;
  /** Moves now() forward. */
  advance(ms: number): void;
  /** Every line logged, formatted as the adapters print them (without the newline). */
  readonly logs: string[];
};

let nextEphemeral = 40000;

export function memoryRuntime(options: MemoryRuntimeOptions = {}): MemoryRuntime {
  const listeners = new Map<number, { host: string; accept: (conn: Conn) => ConnHandler }>();
  const base = options.now ?? (() => Date.now());
  let offset = 0;
  let clientPorts = 50000;
  const logs: string[] = [];
  const fs = options.fs ?? memoryFileSystem();

  const rt: MemoryRuntime = {
    name: "memory",
    fs,
    logs,
    now: () => base() + offset,
    advance(ms) {
      offset += ms;
    },
    log(level: LogLevel, message: string) {
      const line = formatLogLine(rt.now(), level, message);
      logs.push(line.slice(0, -1));
      options.log?.(line);
    },
    listen(opts: ListenOptions, accept: (conn: Conn) => ConnHandler): Promise<Listener> {
      if (opts.tls) {
        return Promise.reject(new MemoryError("EINVAL", "TLS listeners need a network runtime (bun, deno, node)"));
      }
      let port = opts.port;
      if (port === 0) {
        while (listeners.has(nextEphemeral)) nextEphemeral++;
        port = nextEphemeral++;
      } else if (listeners.has(port)) {
        return Promise.reject(new MemoryError("EADDRINUSE", `address in use: ${opts.host}:${port}`));
      }
      const entry = { host: opts.host, accept };
      listeners.set(port, entry);
      return Promise.resolve({
        host: opts.host,
        port,
        close: async () => {
          if (listeners.get(port) === entry) listeners.delete(port);
        },
      });
    },
    connect: ((target: number | ConnectOptions, handler?: string | ((conn: Conn) => ConnHandler)) => {
      if (typeof target === "object") {
        if (target.tls) {
          return Promise.reject(new MemoryError("EINVAL", "TLS connections need a network runtime (bun, deno, node)"));
        }
        try {
          return Promise.resolve(outboundOf(open(target.port), target.port, handler as (conn: Conn) => ConnHandler));
        } catch (e) {
          return Promise.reject(e);
        }
      }
      return open(target);
    }) as MemoryConnect,
  };
  function open(port: number): ClientConn {
    const l = listeners.get(port);
    if (!l) throw new MemoryError("ECONNREFUSED", `nothing listens on memory port ${port}`);
    const c = new MemoryConnection();
    c.lend = options.lendChunks === true;
    const client = clientOf(c);
    // The accept callback runs now, like a real accept before the client's first byte arrives.
    c.handler = l.accept(new MemoryServerConn(c, clientPorts++));
    return client;
  }
  return rt;
}
