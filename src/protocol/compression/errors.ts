/**
 * Thrown when compressed data cannot be decoded, or would decode to more than the caller's
 * limit. `code` is the Kafka error name a broker answers with.
 */
export class CompressionError extends Error {
  readonly code: "CORRUPT_MESSAGE" | "UNSUPPORTED_COMPRESSION_TYPE";
  constructor(message: string, code: "CORRUPT_MESSAGE" | "UNSUPPORTED_COMPRESSION_TYPE" = "CORRUPT_MESSAGE") {
    super(message);
    this.name = "CompressionError";
    this.code = code;
  }
}

/** Collects output chunks and fails as soon as their total passes `max`. */
export class BoundedSink {
  readonly chunks: Uint8Array[] = [];
  total = 0;
  readonly max: number;
  readonly what: string;
  constructor(max: number, what: string) {
    this.max = max;
    this.what = what;
  }
  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (this.total > this.max) {
      throw new CompressionError(`${this.what}: decompressed size exceeds the limit of ${this.max} bytes`);
    }
    this.chunks.push(chunk);
  }
  concat(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** Wraps any non-CompressionError thrown by a third-party codec. */
export function corrupt(what: string, e: unknown): CompressionError {
  if (e instanceof CompressionError) return e;
  return new CompressionError(`${what}: corrupt data (${e instanceof Error ? e.message : String(e)})`);
}
