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

/** Whether a node:http request carries a body (RFC 9112 §6.3: a Content-Length above 0, or chunked). */
function hasBody(req: http.IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/**
 * The request body as a Web stream, read as the handler pulls: the socket is paused while a chunk waits,
 * so a streaming upload (the REST v3 produce) is answered as it arrives. The handler cancelling it
 * leaves the rest to be drained, so the response can still be written on this connection.
 */
function bodyStream(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  let done = false;
  req.pause();
  return new ReadableStream<Uint8Array>({
    start(ctl) {
      req.on("data", (b: Buffer) => {
        if (done) return;
        ctl.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        if ((ctl.desiredSize ?? 0) <= 0) req.pause();
      });
      req.on("end", () => {
        if (!done) ctl.close();
        done = true;
      });
      req.on("error", (e) => {
        if (!done) ctl.error(e);
        done = true;
      });
      req.on("close", () => {
        if (!done) ctl.error(new Error("the request was aborted"));
        done = true;
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      done = true;
      req.resume();
    },
  }, { highWaterMark: 1 });
}

/** The most a GET request's body may hold (read whole: a Web Request cannot carry it). */
const MAX_GET_BODY = 1 << 20;

/**
 * A GET request's body, read whole, or null when over MAX_GET_BODY. Confluent's REST proxy takes
 * the partitions of `GET …/offsets` in a body; the Web Request forbids one on GET, so the bytes are
 * given to the handler through the request's text()/json()/arrayBuffer() (what hono reads).
 */
async function getBody(req: http.IncomingMessage): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Uint8Array).byteLength;
    if (size > MAX_GET_BODY) return null;
    chunks.push(c as Uint8Array);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}

function withBody(request: Request, bytes: Uint8Array): Request {
  const text = new TextDecoder().decode(bytes);
  Object.defineProperties(request, {
    text: { value: () => Promise.resolve(text) },
    json: { value: () => Promise.resolve().then(() => JSON.parse(text)) },
    arrayBuffer: { value: () => Promise.resolve(bytes.slice().buffer) },
  });
  return request;
}

/** Writes a Web Response out as it is produced (a streamed body chunk by chunk, with backpressure). */
async function writeResponse(res: http.ServerResponse, response: Response): Promise<void> {
  const out: Record<string, string> = {};
  response.headers.forEach((v, k) => (out[k] = v));
  res.writeHead(response.status, out);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  // The client gone: stop producing the body (a streaming produce stops reading its upload).
  res.once("close", () => void reader.cancel().catch(() => {}));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (res.destroyed) return;
    if (!res.write(value)) {
      await new Promise<void>((r) => {
        res.once("drain", r);
        res.once("close", r);
      });
    }
  }
  res.end();
}

/** node:http request in, Web Request to the handler, Web Response back out. */
async function bridge(req: http.IncomingMessage, res: http.ServerResponse, fetch: FetchHandler): Promise<void> {
  try {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    }
    const url = `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
    const method = req.method ?? "GET";
    let request: Request;
    if (!hasBody(req) || method === "HEAD") {
      request = new Request(url, { method, headers });
    } else if (method === "GET") {
      const bytes = await getBody(req);
      if (bytes === null) {
        res.writeHead(413, { "content-type": "text/plain" });
        res.end(`A GET request body is limited to ${MAX_GET_BODY} bytes`);
        return;
      }
      request = withBody(new Request(url, { method, headers }), bytes);
    } else {
      // duplex "half": the body is a stream (undici requires saying so).
      request = new Request(url, { method, headers, body: bodyStream(req), duplex: "half" } as RequestInit);
    }
    await writeResponse(res, await fetch(request, { remoteAddress: req.socket.remoteAddress ?? "" }));
  } catch (e) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
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
