// validateRecords: Kafka's LogValidator checks on every record, walked in place (no copy when fine).
import { describe, expect, test } from "bun:test";
import {
  batchCrcValid,
  batchMaxTimestamp,
  buildRecordBatch,
  type RecordCheckOptions,
  scanBatches,
  validateRecords,
} from "../../src/protocol/record_batch.ts";
import { rawBatch } from "../helpers/poison.ts";

const NOW = Date.now();
const opts = (o: Partial<RecordCheckOptions> = {}): RecordCheckOptions => ({
  requireKeys: false,
  checkTimestamps: true,
  now: NOW,
  beforeMaxMs: Number.MAX_SAFE_INTEGER,
  afterMaxMs: 3600000,
  logAppendTime: false,
  maxDecompressedSize: 1 << 20,
  partitionName: "t-0",
  ...o,
});

function check(batch: Uint8Array, o: Partial<RecordCheckOptions> = {}) {
  const s = scanBatches(batch);
  if (!Array.isArray(s)) throw new Error(`scan: ${s.message}`);
  return { problem: validateRecords(batch, s[0], opts(o)), info: s[0] };
}

describe("validateRecords", () => {
  test("a well-formed batch passes untouched (same bytes, no rewrite)", () => {
    for (const codec of [0, 1, 2, 3, 4]) {
      const b = buildRecordBatch({
        codec,
        records: [
          { key: "a", value: "1", timestamp: NOW, headers: [{ key: "h", value: "x" }, { key: "n", value: null }] },
          { key: null, value: null, timestamp: NOW - 5 },
        ],
      });
      const before = b.slice();
      const { problem } = check(b);
      expect(problem).toBeNull();
      expect(b).toEqual(before);
    }
  });

  test("a zero maxTimestamp (older sarama) is recomputed from the records, CRC rewritten", () => {
    const b = rawBatch({
      baseTimestamp: NOW - 100,
      maxTimestamp: 0,
      records: [{ timestampDelta: 0 }, { timestampDelta: 70 }, { timestampDelta: 20 }],
    });
    const { problem, info } = check(b);
    expect(problem).toBeNull();
    expect(batchMaxTimestamp(b)).toBe(BigInt(NOW - 30));
    expect(info.maxTimestamp).toBe(NOW - 30);
    expect(batchCrcValid(b)).toBe(true);
  });

  const poison: [string, Parameters<typeof rawBatch>[0], number][] = [
    ["record length 2^31-1", { records: [{}, { lengthOverride: 0x7fffffff }] }, 1],
    ["negative record length", { records: [{ lengthOverride: -7 }] }, 0],
    ["negative key length -5", { records: [{}, {}, { keyLengthOverride: -5 }] }, 2],
    ["key length past the record", { records: [{ keyLengthOverride: 100 }] }, 0],
    ["header count 2^31-1", { records: [{ headerCountOverride: 0x7fffffff }] }, 0],
    ["negative header count", { records: [{ headerCountOverride: -1 }] }, 0],
    ["bytes after a record's last field", { records: [{ extra: Uint8Array.of(1, 2, 3) }] }, 0],
    ["trailing bytes after the last record", { records: [{}], trailing: Uint8Array.of(0, 0, 0, 0) }, 0],
    ["record count says more than the bytes hold", { records: [{ value: new Uint8Array(30) }], recordCount: 2 }, 1],
    ["record count says fewer", { records: [{}, {}, {}], recordCount: 2 }, 1],
    ["null header key", { records: [{}, { headers: [{ key: null, value: null }] }] }, 1],
    ["(legal) a null header value", { records: [{ headers: [{ key: Uint8Array.of(104), value: null }] }] }, -1],
  ];
  for (const [name, spec, index] of poison) {
    test(`poison pill refused: ${name}`, () => {
      if (index === -1) { // (a well-formed control case: a null header value is legal)
        expect(check(rawBatch(spec)).problem).toBeNull();
        return;
      }
      for (const codec of [0, 1, 4]) {
        const { problem } = check(rawBatch({ ...spec, codec }));
        expect(problem).not.toBeNull();
        expect(problem!.error).toBe("INVALID_RECORD");
        expect(problem!.recordErrors[0].batchIndex).toBe(index);
      }
    });
  }

  test("a null key on a compacted topic: INVALID_RECORD naming each such record", () => {
    const b = rawBatch({ records: [{}, { key: null }, {}, { key: null }] });
    const { problem } = check(b, { requireKeys: true });
    expect(problem!.error).toBe("INVALID_RECORD");
    expect(problem!.recordErrors.map((e) => e.batchIndex)).toEqual([1, 3]);
    expect(problem!.recordErrors[0].message).toBe(
      "Compacted topic cannot accept message without key in topic partition t-0",
    );
    expect(check(rawBatch({ records: [{}, { key: null }] })).problem).toBeNull();
  });

  test("timestamps outside [now - before, now + after]: INVALID_TIMESTAMP with Kafka's message", () => {
    const future = rawBatch({ baseTimestamp: NOW, records: [{}, { timestampDelta: 3600001 }] });
    const { problem } = check(future);
    expect(problem!.error).toBe("INVALID_TIMESTAMP");
    expect(problem!.message).toBe("One or more records have been rejected due to invalid timestamp");
    expect(problem!.recordErrors).toEqual([{
      batchIndex: 1,
      message: `Timestamp ${NOW + 3600001} of message with offset 1 is out of range. The timestamp should be within [${
        NOW - Number.MAX_SAFE_INTEGER
      }, ${NOW + 3600000}]`,
    }]);
    const past = rawBatch({ baseTimestamp: NOW - 10_000, records: [{}] });
    expect(check(past, { beforeMaxMs: 5000 }).problem!.error).toBe("INVALID_TIMESTAMP");
    expect(check(rawBatch({ baseTimestamp: NOW - 10_000, records: [{}] }), { beforeMaxMs: 10_000 }).problem)
      .toBeNull();
    // LogAppendTime topics do not check; -1 (no timestamp) is never out of range.
    expect(check(rawBatch({ baseTimestamp: NOW + 1e9, records: [{}] }), { checkTimestamps: false }).problem)
      .toBeNull();
    expect(check(rawBatch({ baseTimestamp: -1, records: [{}] }), { beforeMaxMs: 0 }).problem).toBeNull();
  });

  test("an empty batch is refused, as Kafka refuses a count of 0", () => {
    const { problem } = check(rawBatch({ records: [], lastOffsetDelta: 0 }));
    expect(problem!.error).toBe("INVALID_RECORD");
  });

  test("a compressed batch inflating past the cap is refused", () => {
    const big = new Uint8Array(300_000);
    const b = rawBatch({ codec: 1, records: [{ value: big }] });
    const { problem } = check(b, { maxDecompressedSize: 100_000 });
    expect(problem!.error).toBe("CORRUPT_MESSAGE");
  });
});
