/// <reference types="bun-types" />
// Bun adapter: Runtime over Bun.listen; files through node:fs/promises, which Bun implements natively.
// Entry point: `bun adapters/bun.ts`, and the compiled binary (`bun build --compile adapters/bun.ts`).
import { runMain } from "../src/cli.ts";
import { adapterLogLine } from "../src/log.ts";
import type {
  Conn,
  ConnectOptions,
  ConnHandler,
  FetchHandler,
  HttpServer,
  Listener,
  ListenOptions,
  LogLevel,
  Runtime,
} from "../src/runtime.ts";
import { availableParallelism } from "node:os";
import { workerSync } from "./bun_sync.ts";
import { processHost } from "./stdio.ts";
import { processStats } from "./process_stats.ts";
import { nodeFileSystem, threadPoolSize } from "./node_fs.ts";

/** Bytes queued in the adapter beyond which write() reports backpressure. */
const HIGH_WATER = 1 << 20;

/**
 * Bun hands out a fresh buffer per data callback, and JavaScriptCore frees them lazily: under
 * produce load Bun and the binary peaked at 285-310 MB. An asynchronous GC hint after every
 * 256 MiB received: 100 partitions, 3 alternating runs, peak 306/284/236 -> 256/254/285 MB (Bun),
 * 296/309 -> 283/288/273 (binary, runs not alternating), throughput unchanged. (Every 64 MiB was
 * no better and noisier.)
 */
const GC_EVERY = 256 << 20;
let received = 0;

// Bun.listen's write() is unbuffered: it returns how much the kernel took. The rest
// waits here until the socket's drain callback.
class BunConn implements Conn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  handler: ConnHandler | null = null;
  #socket: Bun.Socket<BunConn>;
  #queue: Uint8Array[] = [];
  #sent: ((() => void) | undefined)[] = []; // write()'s callback per #queue entry
  #head = 0; // index of the first unsent chunk in #queue
  #queued = 0; // bytes in #queue from #head on
  #waiters: (() => void)[] = [];
  #closing = false;
  #gone = false;

  constructor(socket: Bun.Socket<BunConn>) {
    this.#socket = socket;
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
  }

  write(chunk: Uint8Array, sent?: () => void): boolean {
    if (this.#gone || this.#closing) return true;
    if (this.#queued === 0) {
      const n = this.#socket.write(chunk);
      if (n >= chunk.byteLength) {
        sent?.(); // the kernel has the bytes: Bun does not keep the chunk
        return true;
      }
      if (n < 0) return true; // closing; the close callback follows
      chunk = chunk.subarray(n);
    }
    this.#queue.push(chunk);
    this.#sent.push(sent);
    this.#queued += chunk.byteLength;
    return this.#queued <= HIGH_WATER;
  }

  /** From the socket's drain callback: send what is queued, as far as the kernel takes it. */
  flush(): void {
    const q = this.#queue;
    while (this.#head < q.length) {
      const chunk = q[this.#head];
      const n = this.#socket.write(chunk);
      if (n < 0) break;
      this.#queued -= Math.max(n, 0);
      if (n < chunk.byteLength) {
        q[this.#head] = chunk.subarray(n);
        return;
      }
      const sent = this.#sent[this.#head++];
      if (sent !== undefined) sent();
    }
    this.#queue = [];
    this.#sent = [];
    this.#head = 0;
    this.#queued = 0;
    this.#wake();
    if (this.#closing) this.#socket.end();
  }

  drained(): Promise<void> {
    if (this.#queued === 0 || this.#gone) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  close(): void {
    if (this.#closing || this.#gone) return;
    this.#closing = true;
    if (this.#queued === 0) this.#socket.end();
  }

  /** From the close callback. */
  gone(error?: unknown): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#queue = [];
    this.#sent = [];
    this.#queued = 0;
    this.#wake();
    this.handler?.end(error);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/** Bun's socket callbacks, for accepted and outbound sockets alike. */
function socketHandlers(
  accept: (conn: Conn) => ConnHandler,
  errors: WeakMap<BunConn, unknown>,
): Bun.SocketHandler<BunConn> {
  return {
    binaryType: "uint8array",
    open(socket) {
      const conn = new BunConn(socket);
      socket.data = conn;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      try {
        conn.handler = accept(conn);
      } catch (e) {
        bunRuntime.log("error", `accept failed: ${e instanceof Error ? e.message : String(e)}`);
        socket.terminate();
      }
    },
    // Bun hands out a fresh Uint8Array per callback (checked in tests/runtime/bun_adapter_test.ts), so no copy.
    data(socket, chunk: Uint8Array) {
      received += chunk.byteLength;
      if (received >= GC_EVERY) {
        received = 0;
        Bun.gc(false);
      }
      socket.data?.handler?.data(chunk);
    },
    drain(socket) {
      socket.data?.flush();
    },
    error(socket, error) {
      if (socket.data) errors.set(socket.data, error);
    },
    close(socket, error) {
      const conn = socket.data;
      conn?.gone(error ?? errors.get(conn));
    },
  };
}

export const bunRuntime: Runtime = {
  name: "bun",
  // Bun's pool: a thread per core; file syncs run on workers of their own (bun_sync.ts).
  fs: nodeFileSystem(threadPoolSize(Math.max(2, availableParallelism())), workerSync()),
  now: () => Date.now(),
  processStats,
  log(level: LogLevel, message: string) {
    const line = adapterLogLine(Date.now(), level, message);
    if (line !== null) process.stderr.write(line);
  },
  serve(options: { host: string; port: number }, fetch: FetchHandler): Promise<HttpServer> {
    const server = Bun.serve({
      hostname: options.host,
      port: options.port,
      fetch: (req, srv) => fetch(req, { remoteAddress: srv.requestIP(req)?.address ?? "" }),
    });
    return Promise.resolve({
      host: options.host,
      port: server.port!,
      close: async () => void (await server.stop(true)),
    });
  },
  connect(options: ConnectOptions, handler: (conn: Conn) => ConnHandler): Promise<Conn> {
    const t = options.tls;
    return new Promise<Conn>((resolve, reject) => {
      let conn: BunConn | null = null;
      const handlers = socketHandlers((c) => {
        conn = c as BunConn;
        const h = handler(c);
        if (!t) resolve(c);
        return h;
      }, new WeakMap());
      Bun.connect<BunConn>({
        hostname: options.host,
        port: options.port,
        ...(t
          ? {
            tls: { ca: t.ca, rejectUnauthorized: !t.insecure, ...(t.serverName ? { serverName: t.serverName } : {}) },
          }
          : {}),
        socket: {
          ...handlers,
          // TLS: the Conn is handed over once the handshake has succeeded (and the certificate verified).
          handshake(socket, success, authorizationError) {
            if (!t) return;
            if (!success || (authorizationError && !t.insecure)) {
              reject(new Error(`TLS handshake failed: ${authorizationError?.message ?? "unknown error"}`));
              socket.end();
              return;
            }
            resolve(conn!);
          },
          close(socket, error) {
            handlers.close?.(socket, error);
            reject(new Error(`connection closed${error ? `: ${String(error)}` : ""}`));
          },
        },
      }).catch(reject);
    });
  },
  listen(options: ListenOptions, accept: (conn: Conn) => ConnHandler): Promise<Listener> {
    const errors = new WeakMap<BunConn, unknown>();
    let server: Bun.TCPSocketListener<BunConn>;
    try {
      server = Bun.listen<BunConn>(
        {
          hostname: options.host,
          port: options.port,
          exclusive: true,
          ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
          socket: socketHandlers(accept, errors),
        } satisfies Bun.TCPSocketListenOptions<BunConn>,
      );
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve({
      host: options.host,
      port: server.port,
      close: async () => {
        // false: leave open connections to the core.
        server.stop(false);
      },
    });
  },
};

/** Runs the CLI with process.argv; the process exits when the broker stops. */
export function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  return runMain(bunRuntime, argv, processHost());
}

if (import.meta.main) await main();
