// Buffers that are reused: Fetch's read buffers, and the buffers the server assembles a request
// frame in when it arrives over several reads. A fresh ~1 MiB Uint8Array per partition per Fetch
// (or 64 KiB+ per Produce frame) is paid in zeroing, page faults and (V8) major GCs driven by
// external memory; pooled ones are not.
//
// Lifecycle: the file engine acquire()s a buffer for a Fetch read; the batches it returns are views
// of it. The server, once the connection reports the response's last chunk sent (Conn.write's
// callback), calls release() on the chunks: a chunk that is a view of a leased buffer returns it.
// A buffer that is never released (the response was dropped, the connection failed) is left to the
// GC; the lease is weak, so nothing leaks. Only a caller that drops every view after the write
// may lease: a buffer must never be reused while its bytes may still be read or sent. Request
// frames: the server releases one after its handler answers, only when the handler says it keeps
// no view of the request (Produce into an engine that does not keep appended buffers).

export class BufferPool {
  readonly maxIdleBytes: number;
  readonly maxBufferBytes: number;
  /** Capacities are multiples of this. */
  readonly grain: number;
  /** Free buffers by capacity. */
  #free = new Map<number, Uint8Array[]>();
  #idleBytes = 0;
  /** Leased buffers (whole capacity) by their ArrayBuffer. */
  #leased = new WeakMap<ArrayBufferLike, Uint8Array>();
  /** Counters for tests and tuning. */
  readonly stats = { acquired: 0, reused: 0, released: 0 };

  /** `maxIdleBytes`: free buffers kept at most; requests above `maxBufferBytes` are not pooled. */
  constructor(maxIdleBytes = 32 << 20, maxBufferBytes = 8 << 20, grain = 64 * 1024) {
    this.maxIdleBytes = maxIdleBytes;
    this.maxBufferBytes = maxBufferBytes;
    this.grain = grain;
  }

  /**
   * A buffer of `size` bytes (a view of a leased one of capacity rounded up to the grain); its contents
   * are left from earlier use. Above maxBufferBytes a plain, unpooled Uint8Array.
   */
  acquire(size: number): Uint8Array {
    if (size > this.maxBufferBytes) return new Uint8Array(size);
    this.stats.acquired++;
    const cap = Math.max(this.grain, Math.ceil(size / this.grain) * this.grain);
    const list = this.#free.get(cap);
    let buf = list?.pop();
    if (buf !== undefined) {
      this.#idleBytes -= cap;
      this.stats.reused++;
    } else {
      buf = new Uint8Array(cap);
    }
    this.#leased.set(buf.buffer, buf);
    return buf.subarray(0, size);
  }

  /** Whether `chunk` is a view of a leased buffer. */
  leased(chunk: Uint8Array): boolean {
    return this.#leased.has(chunk.buffer);
  }

  /** Returns the leased buffer `chunk` is a view of (no-op for other chunks or one already back). */
  release(chunk: Uint8Array): void {
    const buf = this.#leased.get(chunk.buffer);
    if (buf === undefined) return;
    this.#leased.delete(chunk.buffer);
    this.stats.released++;
    const cap = buf.byteLength;
    if (this.#idleBytes + cap > this.maxIdleBytes) return; // left to the GC
    let list = this.#free.get(cap);
    if (list === undefined) this.#free.set(cap, list = []);
    list.push(buf);
    this.#idleBytes += cap;
  }

  /** Bytes held in free buffers. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** Drops every free buffer (leases stay valid). */
  clear(): void {
    this.#free.clear();
    this.#idleBytes = 0;
  }
}
