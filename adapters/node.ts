// Node adapter: Runtime over node:net and node:fs/promises.
// Node 20 cannot run .ts, so scripts/build.ts bundles adapters/node_main.ts into dist/chronik.mjs.
// Under Bun or Deno this file is also an entry point (`bun adapters/node.ts`).
import * as http from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";
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
import { processHost } from "./stdio.ts";
import { processStats } from "./process_stats.ts";
import { nodeFileSystem, threadPoolSize } from "./node_fs.ts";

/** Bytes queued in the socket beyond which write() reports backpressure. */
const HIGH_WATER = 1 << 20;

/** Each plain TCP connection's own read buffer (Node's reads are 64 KiB too). */
const READ_BUFFER = 64 << 10;

/**
 * Makes the socket read into one buffer of its own, which each read overwrites, and calls onData
 * with the bytes read. Node otherwise allocates a fresh 64 KiB buffer per read: under produce,
 * about 11% of the broker's samples were in V8's major GC. `onread` does this for client sockets;
 * server sockets have no public option for it, so this sets the fields net.Socket's constructor
 * sets for `onread` (found by their symbols' descriptions) and points the handle at the buffer, as
 * the constructor does. Node 20 reads them in its socket read callback, and its pause() and
 * resume() handle such sockets. Where any piece is missing (another Node line, Bun's node:net),
 * nothing is changed and false is returned: reads stay as they were.
 */
function readIntoOwnBuffer(socket: net.Socket, onData: (chunk: Uint8Array) => void): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })._handle;
  if (typeof handle?.useUserBuffer !== "function") return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  const own = Object.getOwnPropertySymbols(socket);
  const field = (name: string) => own.find((s) => s.description === name);
  const kBuffer = field("kBuffer"), kBufferCb = field("kBufferCb"), kBufferGen = field("kBufferGen");
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) return false;
  if (fields[kBuffer] !== null || fields[kBufferCb] !== null || fields[kBufferGen] !== null) return false;
  const buffer = new Uint8Array(READ_BUFFER);
  fields[kBuffer] = buffer;
  fields[kBufferCb] = (n: number) => {
    onData(buffer.subarray(0, n));
  };
  handle.useUserBuffer(buffer);
  return true;
}

class NodeConn implements Conn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  #socket: net.Socket;
  #pending = 0; // writes not yet handed to the kernel
  #waiters: (() => void)[] = [];
  #closed = false;
  #onFlushed = (): void => {
    if (this.#pending > 0 && --this.#pending === 0) this.#wake();
  };

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
  }

  write(chunk: Uint8Array, sent?: () => void): boolean {
    if (this.#closed || this.#socket.destroyed) return true;
    this.#pending++;
    // Node's own boolean uses its 16 KiB mark; ours is larger so Fetch responses don't stall reading.
    // The write callback runs once libuv has handed the bytes to the kernel (or failed: then not `sent`).
    this.#socket.write(
      chunk,
      sent === undefined ? this.#onFlushed : (error?: Error | null) => {
        this.#onFlushed();
        if (!error) sent();
      },
    );
    return this.#socket.writableLength <= HIGH_WATER;
  }

  drained(): Promise<void> {
    if (this.#pending === 0 || this.#socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // end() flushes and sends FIN; destroySoon() also releases the fd once flushed, even if the peer never closes.
    this.#socket.destroySoon();
  }

  /** Called on 'close': nothing more will be written. */
  _gone(): void {
    this.#closed = true;
    this.#pending = 0;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/** Whether the debug line saying which read path connections take was logged (once per process). */
let toldReads = false;

function serve(socket: net.Socket, accept: (conn: Conn) => ConnHandler): NodeConn {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
  const conn = new NodeConn(socket);
  let handler: ConnHandler;
  try {
    handler = accept(conn);
  } catch (e) {
    socket.destroy();
    nodeRuntime.log("error", `accept failed: ${e instanceof Error ? e.message : String(e)}`);
    return conn;
  }
  let error: unknown;
  // A TLS socket decrypts in JS and hands out its own buffers.
  const plain = !(socket instanceof tls.TLSSocket);
  const lent = plain && readIntoOwnBuffer(socket, (chunk) => handler.data(chunk, true));
  socket.on("data", (b: Uint8Array) => {
    // Buffer.slice() shares memory; the core expects Uint8Array semantics.
    handler.data(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  });
  if (plain && !toldReads) {
    toldReads = true;
    nodeRuntime.log(
      "debug",
      lent
        ? "connections read into buffers of their own"
        : "connections read into a fresh buffer per read (no onread fields here)",
    );
  }
  socket.on("error", (e) => {
    error = e;
  });
  socket.on("close", () => {
    conn._gone();
    handler.end(error);
  });
  return conn;
}

/** node:http request in, Web Request to the handler, Web Response back out. */
async function bridge(req: http.IncomingMessage, res: http.ServerResponse, fetch: FetchHandler): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    }
    const body = chunks.length > 0 && req.method !== "GET" && req.method !== "HEAD" ? Buffer.concat(chunks) : undefined;
    const response = await fetch(
      new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, { method: req.method, headers, body }),
      { remoteAddress: req.socket.remoteAddress ?? "" },
    );
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    res.writeHead(response.status, out);
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(e instanceof Error ? e.message : String(e));
  }
}

export const nodeRuntime: Runtime = {
  name: "node",
  fs: nodeFileSystem(threadPoolSize(4)), // libuv's default pool
  now: () => Date.now(),
  processStats,
  log(level: LogLevel, message: string) {
    const line = adapterLogLine(Date.now(), level, message);
    if (line !== null) process.stderr.write(line);
  },
  serve(options: { host: string; port: number }, fetch: FetchHandler): Promise<HttpServer> {
    return new Promise((resolve, reject) => {
      const server = http.createServer((req, res) => void bridge(req, res, fetch));
      server.once("error", reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off("error", reject);
        const addr = server.address() as net.AddressInfo;
        resolve({
          host: options.host,
          port: addr.port,
          close: () =>
            new Promise<void>((res) => {
              server.close(() => res());
              server.closeAllConnections();
            }),
        });
      });
    });
  },
  connect(options: ConnectOptions, handler: (conn: Conn) => ConnHandler): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const t = options.tls;
      const socket = t
        ? tls.connect({
          host: options.host,
          port: options.port,
          ca: t.ca,
          servername: t.serverName ?? (net.isIP(options.host) ? undefined : options.host),
          rejectUnauthorized: !t.insecure,
        })
        : net.connect({ host: options.host, port: options.port });
      socket.once("error", reject);
      socket.once(t ? "secureConnect" : "connect", () => {
        socket.off("error", reject);
        resolve(serve(socket, handler));
      });
    });
  },
  listen(options: ListenOptions, accept: (conn: Conn) => ConnHandler): Promise<Listener> {
    return new Promise((resolve, reject) => {
      // TLS: tls.Server hands over sockets after the handshake (secureConnection); they are net.Sockets.
      const server: net.Server = options.tls
        ? tls.createServer(
          { cert: options.tls.cert, key: options.tls.key, allowHalfOpen: false },
          (socket) => serve(socket, accept),
        )
        : net.createServer({ allowHalfOpen: false }, (socket) => serve(socket, accept));
      if (options.tls) {
        server.on("tlsClientError", (e) => nodeRuntime.log("debug", `TLS handshake failed: ${e.message}`));
      }
      server.once("error", reject);
      server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
        server.off("error", reject);
        server.on("error", (e) => nodeRuntime.log("error", `listener: ${e.message}`));
        const addr = server.address() as net.AddressInfo;
        resolve({
          host: options.host,
          port: addr.port,
          // server.close's callback waits for open connections; the port is released at once.
          close: () =>
            new Promise<void>((res) => {
              server.close();
              setImmediate(res);
            }),
        });
      });
    });
  },
};

/** Runs the CLI with process.argv; the process exits when the broker stops. */
export function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  return runMain(nodeRuntime, argv, processHost());
}

if ((import.meta as { main?: boolean }).main) await main();
