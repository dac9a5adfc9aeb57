// gzip (Kafka codec 1) via fflate. Output is bounded by streaming the input through fflate's
// Gunzip in small slices: deflate expands at most ~1032x, so each slice adds a bounded amount
// before the running total is checked.
import { Gunzip, gzipSync } from "fflate";
import { BoundedSink, CompressionError, corrupt } from "./errors.ts";

const SLICE = 4096;

export function gzipCompress(data: Uint8Array, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  return gzipSync(data, { level });
}

export function gzipDecompress(data: Uint8Array, maxSize: number): Uint8Array {
  const sink = new BoundedSink(maxSize, "gzip");
  let ended = false;
  try {
    const g = new Gunzip((chunk, final) => {
      sink.push(chunk);
      if (final) ended = true;
    });
    if (data.length === 0) throw new CompressionError("gzip: empty input");
    for (let i = 0; i < data.length; i += SLICE) {
      const end = Math.min(data.length, i + SLICE);
      g.push(data.subarray(i, end), end === data.length);
    }
  } catch (e) {
    throw corrupt("gzip", e);
  }
  if (!ended) throw new CompressionError("gzip: truncated stream");
  return sink.concat();
}
