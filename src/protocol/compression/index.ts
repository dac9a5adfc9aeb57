// Kafka record-batch compression codecs (attributes bits 0-2). Synchronous: src/protocol never
// awaits. The broker stores batches as producers sent them, so these run only on slow paths
// (decoding for compaction, HTTP views, down-conversion, broker-side recompression).
// The one asynchronous step is `prepareCompression()`, awaited by the paths that compress with
// zstd before they do (the first call loads the wasm encoder, see zstd.ts); without it zstd
// output is stored frames, valid but not smaller.
//
// Every decompressor takes `maxSize` and throws CompressionError rather than produce more, so a
// small hostile batch cannot exhaust memory.
import { gzipCompress, gzipDecompress } from "./gzip.ts";
import { lz4Compress, lz4Decompress } from "./lz4.ts";
import { snappyCompress, snappyDecompress } from "./snappy.ts";
import { prepareZstd, zstdCompress, zstdDecompress } from "./zstd.ts";
import { CompressionError } from "./errors.ts";

export { CompressionError } from "./errors.ts";

export const Codec = {
  NONE: 0,
  GZIP: 1,
  SNAPPY: 2,
  LZ4: 3,
  ZSTD: 4,
} as const;
export type CodecId = (typeof Codec)[keyof typeof Codec];

/** Kafka's compression.type names, indexed by codec id. */
export const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

/** Default cap on one batch's decompressed records: 256 MiB. */
export const DEFAULT_MAX_DECOMPRESSED = 256 * 1024 * 1024;

/** Loads optional accelerators (the wasm zstd encoder). Never rejects. */
export function prepareCompression(): Promise<void> {
  return prepareZstd();
}

function unsupported(codec: number): never {
  throw new CompressionError(`unsupported compression codec ${codec}`, "UNSUPPORTED_COMPRESSION_TYPE");
}

export function compress(codec: number, data: Uint8Array): Uint8Array {
  switch (codec) {
    case Codec.NONE:
      return data;
    case Codec.GZIP:
      return gzipCompress(data);
    case Codec.SNAPPY:
      return snappyCompress(data);
    case Codec.LZ4:
      return lz4Compress(data);
    case Codec.ZSTD:
      return zstdCompress(data);
    default:
      return unsupported(codec);
  }
}

/** Throws CompressionError (CORRUPT_MESSAGE, or UNSUPPORTED_COMPRESSION_TYPE for an unknown codec). */
export function decompress(codec: number, data: Uint8Array, maxSize: number = DEFAULT_MAX_DECOMPRESSED): Uint8Array {
  switch (codec) {
    case Codec.NONE:
      if (data.length > maxSize) {
        throw new CompressionError(`records of ${data.length} bytes exceed the limit of ${maxSize}`);
      }
      return data;
    case Codec.GZIP:
      return gzipDecompress(data, maxSize);
    case Codec.SNAPPY:
      return snappyDecompress(data, maxSize);
    case Codec.LZ4:
      return lz4Decompress(data, maxSize);
    case Codec.ZSTD:
      return zstdDecompress(data, maxSize);
    default:
      return unsupported(codec);
  }
}
