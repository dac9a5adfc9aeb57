// Deno adapter: Runtime over Deno.listen and Deno.open. Entry point: `deno run -A adapters/deno.ts`.
import { runMain } from "../src/cli.ts";
import { adapterLogLine } from "../src/log.ts";
import type {
  Conn,
  ConnectOptions,
  ConnHandler,
  FetchHandler,
  FileHandle,
  FileInfo,
  FileSystem,
  HttpServer,
  Listener,
  ListenOptions,
  LogLevel,
  Runtime,
} from "../src/runtime.ts";
import { InFlight } from "../src/runtime/in_flight.ts";
import type { LockFileOps } from "../src/runtime/lock_file.ts";
import { takeLock } from "../src/runtime/lock_file.ts";
import { baseName, parentDir } from "./paths.ts";

/** Bytes queued in the adapter beyond which write() reports backpressure. */
const HIGH_WATER = 1 << 20;
/** Read buffer: starts small (idle connections pin little), doubles while reads fill it, up to READ_MAX. */
const READ_SIZE = 64 * 1024;
const READ_MAX = 1024 * 1024;
/** Free read buffers kept per size (64 KiB to 1 MiB): at most 4 x 1.94 MiB in all. */
const SPARE_PER_SIZE = 4;

/**
 * Read buffers of the sizes the read loop moves between. Under produce a connection's reads go
 * back and forth between full (grow) and short (shrink), and each change allocated a new zeroed
 * buffer: about one per 420 KB received at 630 MB/s, memset 1.2-1.4% of the broker's samples, and
 * more external memory for V8's GC to track. Buffers are lent to the core, which copies what it
 * keeps, so a buffer left behind is free at once.
 */
const spareReadBuffers: Uint8Array[][] = [];

function takeReadBuffer(size: number): Uint8Array {
  return spareReadBuffers[Math.log2(size / READ_SIZE)]?.pop() ?? new Uint8Array(size);
}

function giveReadBuffer(buf: Uint8Array): void {
  const list = (spareReadBuffers[Math.log2(buf.length / READ_SIZE)] ??= []);
  if (list.length < SPARE_PER_SIZE) list.push(buf);
}
/** Small queued chunks are merged up to this size into one write. */
const COALESCE = 64 * 1024;

class DenoConn implements Conn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  #c: Deno.Conn;
  #handler: ConnHandler | null = null;
  #queue: Uint8Array[] = [];
  #sent: ((() => void) | undefined)[] = []; // write()'s callback per #queue entry
  #queued = 0;
  #writing = false;
  #waiters: (() => void)[] = [];
  #paused: PromiseWithResolvers<void> | null = null;
  #closing = false;
  #gone = false;

  constructor(c: Deno.Conn) {
    this.#c = c;
    const addr = c.remoteAddr as Deno.NetAddr;
    this.remoteAddress = addr.hostname;
    this.remotePort = addr.port;
  }

  start(handler: ConnHandler): void {
    this.#handler = handler;
    this.#readLoop().then(
      () => this.#finish(),
      (e) => this.#finish(e),
    );
  }

  async #readLoop(): Promise<void> {
    let buf = takeReadBuffer(READ_SIZE);
    try {
      while (!this.#gone) {
        let n: number | null;
        try {
          n = await this.#c.read(buf);
        } catch (e) {
          // close() from our side interrupts the pending read; that is an orderly end.
          if (
            this.#closing || this.#gone || e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted
          ) return;
          throw e;
        }
        if (n === null) return;
        while (this.#paused) await this.#paused.promise;
        if (this.#gone) return;
        // Lent: the core copies what it keeps (frames into pooled buffers), so this buffer is read
        // into again. A fresh one per read cost zeroing, page faults and GC for every byte received.
        this.#handler!.data(buf.subarray(0, n), true);
        // A full read means more is waiting: read bigger next time (fewer reads); a small one shrinks
        // the buffer back, so idle connections hold only READ_SIZE.
        const len = buf.length;
        const size = n === len ? Math.min(len * 2, READ_MAX) : n < len / 8 ? READ_SIZE : len;
        if (size !== len) {
          giveReadBuffer(buf);
          buf = takeReadBuffer(size);
        }
      }
    } finally {
      giveReadBuffer(buf);
    }
  }

  write(chunk: Uint8Array, sent?: () => void): boolean {
    if (this.#gone || this.#closing) return true;
    this.#queue.push(chunk);
    this.#sent.push(sent);
    this.#queued += chunk.byteLength;
    if (!this.#writing) this.#pump();
    return this.#queued <= HIGH_WATER;
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#gone) {
        let chunk = this.#queue[0];
        let taken = 1;
        if (chunk.byteLength < COALESCE && this.#queue.length > 1) {
          let size = chunk.byteLength;
          while (taken < this.#queue.length && size + this.#queue[taken].byteLength <= COALESCE) {
            size += this.#queue[taken++].byteLength;
          }
          if (taken > 1) {
            const merged = new Uint8Array(size);
            let at = 0;
            for (let i = 0; i < taken; i++) {
              merged.set(this.#queue[i], at);
              at += this.#queue[i].byteLength;
            }
            chunk = merged;
            // The merged copy holds the bytes now: the originals are free.
            const done = this.#sent.splice(0, taken, undefined);
            this.#queue.splice(0, taken, chunk);
            for (const f of done) f?.();
          }
        }
        const n = await this.#c.write(chunk);
        this.#queued -= n;
        if (n < chunk.byteLength) this.#queue[0] = chunk.subarray(n);
        else {
          this.#queue.shift();
          this.#sent.shift()?.();
        }
      }
    } catch (e) {
      this.#queue = [];
      this.#sent = [];
      this.#queued = 0;
      this.#writing = false;
      this.#wake();
      this.#shutdown();
      this.#finish(e);
      return;
    }
    this.#writing = false;
    this.#wake();
    if (this.#closing) this.#shutdown();
  }

  drained(): Promise<void> {
    if (this.#queued === 0 || this.#gone) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  pause(): void {
    this.#paused ??= Promise.withResolvers<void>();
  }

  resume(): void {
    const p = this.#paused;
    this.#paused = null;
    p?.resolve();
  }

  close(): void {
    if (this.#closing || this.#gone) return;
    this.#closing = true;
    if (!this.#writing) this.#shutdown();
  }

  #shutdown(): void {
    try {
      this.#c.close();
    } catch {
      // already closed
    }
    this.resume(); // let a paused read loop see the end
  }

  #finish(error?: unknown): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#shutdown();
    this.#queue = [];
    this.#sent = [];
    this.#queued = 0;
    this.#wake();
    this.#handler?.end(error);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

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

const encoder = new TextEncoder();

function writeAll(out: { writeSync(b: Uint8Array): number }, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += out.writeSync(bytes.subarray(done));
}

function writeStderr(text: string): void {
  writeAll(Deno.stderr, encoder.encode(text));
}

/** Deno.cpuUsage (microseconds) is newer than some Deno type definitions. */
const cpuUsage = (Deno as unknown as { cpuUsage?: () => { user: number; system: number } }).cpuUsage;

export const denoRuntime: Runtime = {
  name: "deno",
  fs: denoFileSystem,
  now: () => Date.now(),
  // No GC time: Deno lists a "gc" performance entry type but delivers no entries.
  processStats() {
    const cpu = cpuUsage?.() ?? { user: NaN, system: NaN };
    return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: Deno.memoryUsage().rss };
  },
  log(level: LogLevel, message: string) {
    const line = adapterLogLine(Date.now(), level, message);
    if (line !== null) writeStderr(line);
  },
  serve(options: { host: string; port: number }, fetch: FetchHandler): Promise<HttpServer> {
    return new Promise((resolve) => {
      const server = Deno.serve({
        hostname: options.host,
        port: options.port,
        onListen: (addr) =>
          resolve({ host: options.host, port: (addr as Deno.NetAddr).port, close: () => server.shutdown() }),
      }, (req, info) => fetch(req, { remoteAddress: (info.remoteAddr as Deno.NetAddr).hostname ?? "" }));
    });
  },
  async connect(options: ConnectOptions, handler: (conn: Conn) => ConnHandler): Promise<Conn> {
    const t = options.tls;
    const tcp = await Deno.connect({ hostname: options.host, port: options.port, transport: "tcp" });
    tcp.setNoDelay(true);
    let c: Deno.Conn = tcp;
    if (t) {
      // connectTls verifies (and sends as SNI) the host it dials; startTls over the TCP connection lets the
      // certificate be checked against another name (--tls-server-name) while dialing an address.
      let tls: Deno.TlsConn;
      try {
        tls = await Deno.startTls(tcp, {
          hostname: t.serverName ?? options.host,
          ...(t.ca ? { caCerts: [t.ca] } : {}),
        });
      } catch (e) {
        // Refused before any handshake (a server name that is no host name): the TCP connection is still
        // open. (Deno closes it itself when it refuses the CA.)
        try {
          tcp.close();
        } catch { /* already closed */ }
        throw e;
      }
      try {
        await tls.handshake();
      } catch (e) {
        tls.close();
        // Deno's TLS has no per-connection switch to skip verification: say so rather than ignore the option.
        if (t.insecure && e instanceof Error) {
          e.message += " (--tls-insecure has no effect under Deno: give --tls-ca, or run Deno with " +
            "--unsafely-ignore-certificate-errors)";
        }
        throw e;
      }
      c = tls;
    }
    const conn = new DenoConn(c);
    conn.start(handler(conn));
    return conn;
  },
  async listen(options: ListenOptions, accept: (conn: Conn) => ConnHandler): Promise<Listener> {
    const l: Deno.Listener = options.tls
      ? Deno.listenTls({
        hostname: options.host,
        port: options.port,
        transport: "tcp",
        cert: options.tls.cert,
        key: options.tls.key,
      })
      : Deno.listen({ hostname: options.host, port: options.port, transport: "tcp" });
    (async () => {
      for (;;) {
        let c: Deno.Conn;
        try {
          c = await l.accept();
        } catch (e) {
          if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return; // listener closed
          denoRuntime.log("warn", `accept: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        try {
          if ("setNoDelay" in c) {
            (c as Deno.TcpConn).setNoDelay(true);
            (c as Deno.TcpConn).setKeepAlive(true);
          }
        } catch {
          // the peer may already be gone
        }
        const conn = new DenoConn(c);
        try {
          conn.start(accept(conn));
        } catch (e) {
          denoRuntime.log("error", `accept failed: ${e instanceof Error ? e.message : String(e)}`);
          c.close();
        }
      }
    })();
    return {
      host: options.host,
      port: (l.addr as Deno.NetAddr).port,
      close: async () => {
        try {
          l.close();
        } catch {
          // already closed
        }
      },
    };
  },
};

/** Runs the CLI with Deno.args; the process exits when the broker stops. */
export function main(argv: string[] = Deno.args): Promise<number> {
  return runMain(denoRuntime, argv, {
    onSignal(fn) {
      Deno.addSignalListener("SIGINT", () => fn("SIGINT"));
      Deno.addSignalListener("SIGTERM", () => fn("SIGTERM"));
    },
    exit: (code) => Deno.exit(code),
    print: (text) => writeAll(Deno.stdout, encoder.encode(text)),
    printError: (text) => writeStderr(text),
    write: (bytes) => Promise.resolve(writeAll(Deno.stdout, bytes)),
    env: Deno.env.toObject(),
    stdin: () => Deno.stdin.readable,
    stdoutIsTTY: Deno.stdout.isTerminal(),
    stderrIsTTY: Deno.stderr.isTerminal(),
  });
}

if (import.meta.main) await main();
