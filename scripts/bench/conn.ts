// A lean pipelined Kafka connection for the load generator: requests are prebuilt frames, many
// may be in flight, responses come back in order (the broker guarantees it) and are matched by
// correlation id. Received frames are handed over as one Uint8Array (copied only when a frame
// spans socket chunks). node:net works under Bun, Node and Deno.
import { connect as netConnect, type Socket } from "node:net";
import { decodeResponse, encodeRequest } from "../../src/protocol/codec.ts";
import { readResponseHeader, writeRequestHeader } from "../../src/protocol/header.ts";
import { Reader } from "../../src/protocol/reader.ts";
import type { Api } from "../../src/protocol/schema.ts";
import { concatChunks, Writer } from "../../src/protocol/writer.ts";

/** Byte offset of the correlation id in a request frame (size, api key, api version first). */
export const CORRELATION_AT = 8;

/** Encodes a whole request frame (length prefix included) with correlation id 0. */
export function buildFrame<Q, S>(api: Api<Q, S>, version: number, body: Q, clientId = "chronik-bench"): Uint8Array {
  const w = new Writer(1024);
  w.int32(0);
  writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId: 0, clientId });
  encodeRequest(api, version, body, w);
  w.patchInt32(0, w.length - 4);
  const chunks = w.finish();
  // Always a fresh buffer: callers patch the correlation id per copy.
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

export function setCorrelation(frame: Uint8Array, id: number): void {
  frame[CORRELATION_AT] = id >>> 24;
  frame[CORRELATION_AT + 1] = id >>> 16;
  frame[CORRELATION_AT + 2] = id >>> 8;
  frame[CORRELATION_AT + 3] = id;
}

type Waiter = { id: number; resolve: (frame: Uint8Array) => void; reject: (e: Error) => void };

export class BenchConn {
  readonly socket: Socket;
  private waiters: Waiter[] = [];
  private head = 0;
  private nextId = 1;
  // Frame being assembled.
  private frame: Uint8Array | null = null;
  private filled = 0;
  private sizeBuf = new Uint8Array(4);
  private sizeFilled = 0;
  private drainWaiters: (() => void)[] = [];
  /** Reused for frames that span chunks while only one request is in flight (a consumer's fetch). */
  private spare = new Uint8Array(0);
  closed = false;
  bytesIn = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (d: Uint8Array) => this.onData(d));
    socket.on("drain", () => {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of w) f();
    });
    socket.on("close", () => {
      this.closed = true;
      const err = new Error("connection closed");
      for (let i = this.head; i < this.waiters.length; i++) this.waiters[i].reject(err);
      this.waiters = [];
      this.head = 0;
      for (const f of this.drainWaiters) f();
    });
    socket.on("error", () => {});
  }

  static open(host: string, port: number): Promise<BenchConn> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host, port }, () => {
        s.off("error", reject);
        resolve(new BenchConn(s));
      });
      s.once("error", reject);
    });
  }

  get inFlight(): number {
    return this.waiters.length - this.head;
  }

  /** Sends a prebuilt frame after patching its correlation id; resolves with the response frame (header included). */
  send(frame: Uint8Array): Promise<Uint8Array> {
    const id = this.nextId++ & 0x7fffffff;
    setCorrelation(frame, id);
    return new Promise((resolve, reject) => {
      this.waiters.push({ id, resolve, reject });
      this.socket.write(frame);
    });
  }

  /** Sends a frame that gets no response (acks=0). Resolves at once, or when the socket drains. */
  sendNoResponse(frame: Uint8Array): Promise<void> | null {
    if (this.socket.write(frame)) return null;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Encodes, sends and decodes one request (setup and slow paths). */
  async request<Q, S>(api: Api<Q, S>, version: number, body: Q): Promise<S> {
    const frame = await this.send(buildFrame(api, version, body));
    const r = new Reader(frame);
    readResponseHeader(r, api.key, version);
    return decodeResponse(api, version, r);
  }

  private onData(d: Uint8Array): void {
    this.bytesIn += d.length;
    let p = 0;
    const n = d.length;
    while (p < n) {
      if (this.frame === null) {
        if (this.sizeFilled === 0 && n - p >= 4) {
          const size = (d[p] << 24) | (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3];
          p += 4;
          if (n - p >= size) {
            // Whole frame inside this chunk: a view, no copy.
            this.deliver(d.subarray(p, p + size));
            p += size;
            continue;
          }
          this.frame = this.frameBuffer(size);
          this.filled = 0;
        } else {
          while (this.sizeFilled < 4 && p < n) this.sizeBuf[this.sizeFilled++] = d[p++];
          if (this.sizeFilled < 4) return;
          const b = this.sizeBuf;
          this.frame = this.frameBuffer((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
          this.filled = 0;
          this.sizeFilled = 0;
        }
      }
      const f = this.frame;
      const take = Math.min(f.length - this.filled, n - p);
      f.set(d.subarray(p, p + take), this.filled);
      this.filled += take;
      p += take;
      if (this.filled === f.length) {
        this.frame = null;
        this.deliver(f);
      }
    }
  }

  /**
   * A fresh buffer per multi-MB fetch response costs more in page faults than the copy itself, and
   * the generator would measure its own allocator. With one request in flight the previous frame
   * has been consumed (its promise continuation ran) before the next one arrives, so reuse is safe.
   */
  private frameBuffer(size: number): Uint8Array {
    if (this.inFlight !== 1) return new Uint8Array(size);
    if (this.spare.length < size) this.spare = new Uint8Array(Math.max(size, this.spare.length * 2));
    return this.spare.subarray(0, size);
  }

  private deliver(frame: Uint8Array): void {
    const w = this.waiters[this.head++];
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
    if (!w) throw new Error("response without a request");
    const id = (frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3];
    if (id !== w.id) {
      w.reject(new Error(`correlation id ${id}, expected ${w.id}`));
      return;
    }
    w.resolve(frame);
  }

  close(): void {
    this.socket.destroy();
  }
}

export { concatChunks };
