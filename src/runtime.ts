// Ports: the only way the core reaches sockets, files and time. Types only.
// adapters/{bun,deno,node}.ts and src/runtime/memory.ts implement them.

/** One accepted TCP connection, as the core sees it. */
export interface Conn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Queues bytes for sending, in call order. The core does not modify `chunk` until `sent` runs.
   * Returns false once the queue holds more than the adapter's high-water mark;
   * the core then stops reading (pause) until `drained()` resolves.
   * `sent` runs once the adapter no longer holds `chunk` (the kernel has its bytes, or the adapter
   * copied them), possibly before write() returns; the core may then reuse the memory. Callbacks
   * run in write order. When the connection fails or closes first, `sent` may never run.
   */
  write(chunk: Uint8Array, sent?: () => void): boolean;
  /** Resolves when the send queue is empty (at once if it already is, or the conn is closed). */
  drained(): Promise<void>;
  /** Stop / restart delivering `data` callbacks (read-side backpressure). */
  pause(): void;
  resume(): void;
  /** Sends what is queued, then closes. Idempotent. `end()` on the handler follows. */
  close(): void;
}

/** What the core gives back for each accepted connection. */
export interface ConnHandler {
  /**
   * Received bytes. The chunk belongs to the core from here on, unless `borrowed`: then the adapter
   * reuses its memory once data() returns, and the core copies what it keeps (into pooled buffers).
   */
  data(chunk: Uint8Array, borrowed?: boolean): void;
  /** The peer closed, the conn errored, or close() finished. Called once. */
  end(error?: unknown): void;
}

export interface ListenOptions {
  host: string;
  /** 0 picks a free port; `Listener.port` tells which. */
  port: number;
  /** Serve TLS with this certificate chain and private key (PEM); the Conn carries plaintext. */
  tls?: TlsOptions;
}

export interface TlsOptions {
  /** The certificate chain, leaf first (PEM). */
  cert: string;
  /** The private key (PEM, unencrypted). */
  key: string;
}

/** An outbound TCP connection (the admin CLI's Kafka client, storage clients). */
export interface ConnectOptions {
  host: string;
  port: number;
  /** Speak TLS; the Conn carries plaintext. */
  tls?: ClientTlsOptions;
}

export interface ClientTlsOptions {
  /** Trusted CA certificates (PEM); the system's when absent. */
  ca?: string;
  /** Server name to verify and send as SNI; `host` by default (every adapter; Deno through startTls). */
  serverName?: string;
  /** Skip certificate verification (tests, self-signed brokers). Not honoured by Deno (use --unsafely-ignore-certificate-errors). */
  insecure?: boolean;
}

/** An HTTP server of the HTTP side (health, metrics, REST). */
export interface HttpServer {
  readonly host: string;
  readonly port: number;
  /** Stops accepting and closes. */
  close(): Promise<void>;
}

/** A Web-standard request handler (what hono's app.fetch is), told the client's address. */
export type FetchHandler = (request: Request, info: { remoteAddress: string }) => Response | Promise<Response>;

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting. Open connections are left to the core. */
  close(): Promise<void>;
}

/** A file opened for positional reads and appends. Offsets are byte positions (< 2^53). */
export interface FileHandle {
  /** Reads up to `length` bytes at `position`; fewer only at end of file. */
  read(position: number, length: number): Promise<Uint8Array>;
  /**
   * Reads into `buffer` from `position`, filling it but at end of file; resolves with the bytes read.
   * The caller owns `buffer` (it may come from a pool); nothing else writes into it afterwards.
   */
  readInto(position: number, buffer: Uint8Array): Promise<number>;
  /**
   * Appends at the end of the file; resolves when the OS has the bytes (not necessarily the disk).
   * Appends issued without awaiting land in call order and never overlap.
   */
  append(data: Uint8Array): Promise<void>;
  /** Writes at a position (index files, headers). */
  write(position: number, data: Uint8Array): Promise<void>;
  /** fdatasync. */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  /** Size as this handle sees it, counting its own appends still in flight. */
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface FileInfo {
  name: string;
  isDirectory: boolean;
  size: number;
}

/**
 * Paths use "/" separators. Failures reject with an Error whose `code` is the POSIX name
 * ("ENOENT", "ENOSPC", "EIO", …), as Node reports them; the adapters make sure of it.
 */
export interface FileSystem {
  /** Opens read-write (never truncates), creating the file when `create` is set; ENOENT otherwise. */
  open(path: string, options?: { create?: boolean }): Promise<FileHandle>;
  /** The whole file, or null if it does not exist. */
  readFile(path: string): Promise<Uint8Array | null>;
  /**
   * Writes a whole file atomically (temp file, sync, rename). `mode`: the new file's permission bits
   * (default 0o644); files holding secrets (SCRAM keys in admin.json) are written 0o600.
   */
  writeFileAtomic(path: string, data: Uint8Array, options?: { mode?: number }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or an empty directory (any directory with `recursive`). A missing path is not an error. */
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  /** Entries of a directory sorted by name; [] if it does not exist. */
  list(dir: string): Promise<FileInfo[]>;
  /** null if the path does not exist. */
  stat(path: string): Promise<FileInfo | null>;
  /** Creates the directory and missing parents; an existing directory is fine. */
  mkdir(path: string): Promise<void>;
  /**
   * Takes an exclusive lock for this process: a lock file at `path` naming the holder (host, PID
   * namespace, pid, instance) whose lease the holder renews (and an OS lock where the runtime has
   * one). Rejects with code "ELOCKED" while another live holder (or, within this process, an
   * unreleased lock) has it, even one on another host or in another PID namespace; a lock whose
   * holder is gone is taken over (see src/runtime/lock_file.ts).
   */
  lock(path: string, options?: LockOptions): Promise<FileLock>;
}

export interface LockOptions {
  /** A holder that stops renewing for this long is gone (default 10000). */
  leaseMs?: number;
  /** Where to say that the lock is being watched, taken over or lost. */
  log?: (level: LogLevel, message: string) => void;
}

export interface FileLock {
  /** Removes the lock file if it still names this holder. Idempotent. */
  release(): Promise<void>;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Runtime {
  /** "bun" | "deno" | "node" | "memory" … shown in logs and metrics. */
  readonly name: string;
  listen(options: ListenOptions, accept: (conn: Conn) => ConnHandler): Promise<Listener>;
  /**
   * Opens an outbound TCP (or TLS) connection, the client side of `listen`: `handler` is given the
   * Conn and returns who receives its bytes. Absent where the runtime has no network (memory).
   */
  connect?(options: ConnectOptions, handler: (conn: Conn) => ConnHandler): Promise<Conn>;
  /** Serves HTTP with a fetch handler; absent where the runtime has no network (the memory runtime). */
  serve?(options: { host: string; port: number }, fetch: FetchHandler): Promise<HttpServer>;
  readonly fs: FileSystem;
  /** Wall clock in ms (Date.now by default; tests may move it). */
  now(): number;
  /** Writes one log line. Adapters send it to stderr. */
  log(level: LogLevel, message: string): void;
  /** The process's CPU time, resident memory and GC time (/metrics); absent where unknown (memory). */
  processStats?(): ProcessStats;
}

export interface ProcessStats {
  /** User plus system CPU time since the process started. */
  cpuSeconds: number;
  /** Resident set size. */
  residentBytes: number;
  /** Time spent in garbage collection since it was first asked for; absent where the runtime does not tell. */
  gcSeconds?: number;
  /** Garbage collections counted with gcSeconds. */
  gcCount?: number;
}
