// Echo over a Runtime's Conn with backpressure, and a TCP client that pushes bytes through it.
import * as net from "node:net";
import type { ConnHandler, Listener, Runtime } from "../../src/runtime.ts";

/** lent: chunks the adapter lent (`borrowed`), which it overwrites after data() returns. */
export type EchoStats = { conns: number; bytes: number; pauses: number; maxChunk: number; lent: number };

/** Echoes every byte; pauses reading whenever write() reports backpressure, resumes on drained(). */
export async function listenEcho(
  runtime: Runtime,
  onEnd?: (s: EchoStats) => void,
): Promise<{ listener: Listener; stats: EchoStats }> {
  const stats: EchoStats = { conns: 0, bytes: 0, pauses: 0, maxChunk: 0, lent: 0 };
  const listener = await runtime.listen({ host: "127.0.0.1", port: 0 }, (conn): ConnHandler => {
    stats.conns++;
    let paused = false;
    return {
      data(received, borrowed) {
        // A lent chunk (Deno's and Node's adapters read into one buffer) is the adapter's again after data().
        const chunk = borrowed ? received.slice() : received;
        if (borrowed) stats.lent++;
        stats.bytes += chunk.byteLength;
        stats.maxChunk = Math.max(stats.maxChunk, chunk.byteLength);
        if (!conn.write(chunk) && !paused) {
          paused = true;
          stats.pauses++;
          conn.pause();
          conn.drained().then(() => {
            paused = false;
            conn.resume();
          });
        }
      },
      end() {
        conn.close();
        onEnd?.(stats);
      },
    };
  });
  return { listener, stats };
}

export const CLOSE_BYTES = 8 << 20;

/** Per connection: queue CLOSE_BYTES in 64 KiB writes, ignoring backpressure, then close() right away. */
export function listenWriteThenClose(runtime: Runtime): Promise<Listener> {
  const src = pattern(CLOSE_BYTES);
  return runtime.listen({ host: "127.0.0.1", port: 0 }, (conn): ConnHandler => {
    for (let off = 0; off < CLOSE_BYTES; off += 65536) conn.write(src.slice(off, off + 65536));
    conn.close();
    return { data() {}, end() {} };
  });
}

export const REUSE_BYTES = 24 << 20;
const REUSE_SIZES = [7, 1000, 65536, 200_000, 300, 262_144, 4096, 131_071];

/**
 * Conn.write's `sent` callback: per connection, sends REUSE_BYTES of pattern() out of three 256 KiB
 * buffers, each overwritten with the next bytes only once `sent` reported its last write, in chunk
 * sizes from 7 B (coalesced by some adapters) to 256 KiB, then closes. A callback that came early
 * would show as wrong bytes at the client; one that never came, as a stall.
 */
export function listenReuse(runtime: Runtime): Promise<Listener> {
  const src = pattern(REUSE_BYTES);
  return runtime.listen({ host: "127.0.0.1", port: 0 }, (conn): ConnHandler => {
    const free: Uint8Array[] = [new Uint8Array(256 << 10), new Uint8Array(256 << 10), new Uint8Array(256 << 10)];
    let off = 0;
    let writes = 0;
    let sents = 0;
    let order = true;
    let k = 0;
    const pump = (): void => {
      while (off < REUSE_BYTES && free.length > 0) {
        const buf = free.pop()!;
        // Fill the whole buffer, then write it in pieces; only the last piece's callback frees it.
        const n = Math.min(buf.byteLength, REUSE_BYTES - off);
        buf.set(src.subarray(off, off + n));
        off += n;
        let at = 0;
        while (at < n) {
          const len = Math.min(REUSE_SIZES[k++ % REUSE_SIZES.length], n - at);
          const piece = buf.subarray(at, at + len);
          at += len;
          const seq = writes++;
          const last = at === n;
          conn.write(piece, () => {
            if (seq !== sents++) order = false;
            if (last) {
              buf.fill(0xee); // a chunk still queued would now send 0xee
              free.push(buf);
              queueMicrotask(pump);
            }
          });
        }
      }
      if (off >= REUSE_BYTES && sents === writes) {
        if (!order) throw new Error("sent callbacks out of write order");
        conn.close();
      }
    };
    pump();
    return { data() {}, end() {} };
  });
}

/** Connects, reads until the server closes; resolves with everything received. */
export function readAll(port: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.on("data", (b: Uint8Array) => chunks.push(b));
    sock.on("error", reject);
    sock.on("close", () => {
      const total = chunks.reduce((n, c) => n + c.byteLength, 0);
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.byteLength;
      }
      resolve(out);
    });
  });
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function pattern(size: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = i & 0xff;
  return out;
}

/**
 * Sends `total` bytes to an echo server and checks every byte that comes back. The client stops
 * reading for `stallMs` first so the server's send queue fills and its backpressure path runs.
 */
export function echoRoundTrip(
  port: number,
  total: number,
  stallMs = 300,
): Promise<{ ms: number; mismatchAt: number | null; received: number }> {
  const src = pattern(total);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let received = 0;
    let mismatchAt: number | null = null;
    sock.on("connect", () => {
      sock.pause();
      setTimeout(() => sock.resume(), stallMs);
      const CHUNK = 256 * 1024;
      let off = 0;
      const pump = () => {
        while (off < total) {
          const end = Math.min(total, off + CHUNK);
          const ok = sock.write(src.subarray(off, end));
          off = end;
          if (!ok) {
            sock.once("drain", pump);
            return;
          }
        }
      };
      pump();
    });
    sock.on("data", (b: Uint8Array) => {
      if (mismatchAt === null) {
        const want = src.subarray(received, received + b.byteLength);
        if (
          want.length !== b.byteLength ||
          Buffer.compare(
              Buffer.from(b.buffer, b.byteOffset, b.byteLength),
              Buffer.from(want.buffer, want.byteOffset, want.byteLength),
            ) !== 0
        ) {
          for (let i = 0; i < b.byteLength; i++) {
            if (b[i] !== want[i]) {
              mismatchAt = received + i;
              break;
            }
          }
          mismatchAt ??= received;
        }
      }
      received += b.byteLength;
      if (received >= total) sock.end();
    });
    sock.on("error", reject);
    sock.on("close", () => resolve({ ms: performance.now() - start, mismatchAt, received }));
  });
}
