// Record batches for the object data path tests, laid out as a produce request carries them.
import { buildRecordBatch, decodeRecords, scanBatches } from "../../src/protocol/record_batch.ts";
import type { BatchInfo } from "../../src/protocol/record_batch.ts";

/** `n` batches of `per` records each (values "<tag>-<i>-<j>"), back to back, as a produce request has them. */
export function batches(tag: string, n = 1, per = 2, valueBytes = 0): { buf: Uint8Array; metas: BatchInfo[] } {
  const parts = Array.from({ length: n }, (_, i) =>
    buildRecordBatch({
      records: Array.from({ length: per }, (_, j) => ({
        key: null,
        value: `${tag}-${i}-${j}` + "x".repeat(valueBytes),
        timestamp: 1000 + i,
      })),
    }));
  const buf = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  const metas = scanBatches(buf);
  if (!Array.isArray(metas)) throw new Error(metas.message);
  return { buf, metas };
}

export function values(batchList: Uint8Array[]): string[] {
  return batchList.flatMap((b) => decodeRecords(b).records.map((r) => new TextDecoder().decode(r.value!)));
}

/**
 * An object data path config for in-memory stores (no S3 client: pass `store`): flushed after 1 ms or 1 MiB,
 * a 1 MiB cache of 4 KiB blocks, object keys under `prefix`.
 */
export function smallPathConfig(prefix: string) {
  return { s3: null as never, prefix, flushMs: 1, flushBytes: 1 << 20, cacheBytes: 1 << 20, blockBytes: 4096 };
}
