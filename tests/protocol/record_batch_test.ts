import { describe, expect, test } from "bun:test";
import {
  BATCH_HEADER_SIZE,
  batchBaseOffset,
  batchCrcValid,
  batchLastOffset,
  batchMaxTimestamp,
  batchPartitionLeaderEpoch,
  buildControlBatch,
  buildRecordBatch,
  CRC_OFFSET,
  CRC_START,
  decodeRecords,
  isBatchError,
  MAGIC_OFFSET,
  parseControlRecord,
  RECORD_COUNT_OFFSET,
  RecordBatchError,
  scanBatches,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
} from "../../src/protocol/record_batch.ts";
import { crc32c } from "../../src/protocol/crc32c.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function sample(codec = 0, n = 5) {
  return buildRecordBatch({
    baseOffset: 0n,
    codec,
    producerId: 1234n,
    producerEpoch: 3,
    baseSequence: 17,
    records: Array.from({ length: n }, (_, i) => ({
      key: i === 1 ? null : `key-${i}`,
      value: i === 2 ? null : `value ${i} `.repeat(i * 10 + 1),
      headers: i === 3 ? [{ key: "h1", value: "v1" }, { key: "h2", value: null }] : undefined,
      timestamp: 1_700_000_000_000 + i * 7,
    })),
  });
}

function concat(...bs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(bs.reduce((s, b) => s + b.length, 0));
  let o = 0;
  for (const b of bs) out.set(b, o), o += b.length;
  return out;
}

describe("record batch", () => {
  test("header size constant", () => {
    expect(BATCH_HEADER_SIZE).toBe(61);
  });

  for (const codec of [0, 1, 2, 3, 4]) {
    test(`build -> scan -> decode round trip, codec ${codec}`, () => {
      const b = sample(codec);
      const s = scanBatches(b);
      if (isBatchError(s)) throw new Error(s.message);
      expect(s.length).toBe(1);
      expect(s[0]).toMatchObject({
        position: 0,
        size: b.length,
        recordCount: 5,
        lastOffsetDelta: 4,
        codec,
        producerEpoch: 3,
        baseSequence: 17,
        isTransactional: false,
        isControl: false,
        baseTimestamp: 1_700_000_000_000,
        maxTimestamp: 1_700_000_000_028,
      });
      expect(s[0].producerId).toBe(1234n);
      const d = decodeRecords(b);
      expect(d.records.length).toBe(5);
      expect(d.records.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
      expect(d.records.map((r) => r.timestamp)).toEqual([0, 7, 14, 21, 28].map((x) => 1_700_000_000_000n + BigInt(x)));
      expect(d.records[1].key).toBeNull();
      expect(d.records[2].value).toBeNull();
      expect(dec(d.records[4].value)).toBe("value 4 ".repeat(41));
      expect(d.records[3].headers.map((h) => [h.key, dec(h.value)])).toEqual([["h1", "v1"], ["h2", null]]);
    });
  }

  test("several batches in one blob; positions; setBaseOffset / epoch keep the CRC valid", () => {
    const a = sample(0, 3), b = sample(1, 2), c = sample(4, 1);
    const blob = concat(a, b, c);
    const s = scanBatches(blob);
    if (isBatchError(s)) throw new Error(s.message);
    expect(s.map((x) => x.position)).toEqual([0, a.length, a.length + b.length]);
    setBaseOffset(blob, s[1].position, 1000n);
    setBaseOffset(blob, s[2].position, 2 ** 40);
    setPartitionLeaderEpoch(blob, s[0].position, 9);
    expect(batchBaseOffset(blob, s[1].position)).toBe(1000n);
    expect(batchLastOffset(blob, s[1].position)).toBe(1001n);
    expect(batchBaseOffset(blob, s[2].position)).toBe(BigInt(2 ** 40));
    expect(batchPartitionLeaderEpoch(blob, 0)).toBe(9);
    expect(isBatchError(scanBatches(blob))).toBe(false);
    setBaseOffset(blob, 0, -1n);
    expect(batchBaseOffset(blob, 0)).toBe(-1n);
    expect(() => setBaseOffset(blob, 0, 1n << 63n)).toThrow(RangeError);
  });

  test("CRC corruption is detected at every byte of the CRC-covered range", () => {
    const b = sample(1, 3);
    for (let i = CRC_START; i < b.length; i++) {
      const c = b.slice();
      c[i] ^= 0x01;
      const s = scanBatches(c);
      expect(isBatchError(s) && s.error).toBe("CORRUPT_MESSAGE");
      expect(() => decodeRecords(c)).toThrow(RecordBatchError);
    }
    // and in the CRC field itself
    for (let i = CRC_OFFSET; i < CRC_START; i++) {
      const c = b.slice();
      c[i] ^= 0x80;
      expect(isBatchError(scanBatches(c))).toBe(true);
    }
  });

  test("truncation at every position yields a BatchError or RecordBatchError, nothing else", () => {
    for (const codec of [0, 1, 2, 3, 4]) {
      const first = sample(codec, 4);
      const whole = concat(first, sample(codec, 2));
      for (let cut = 1; cut < whole.length; cut++) {
        const t = whole.slice(0, cut);
        const s = scanBatches(t);
        expect(isBatchError(s)).toBe(cut !== first.length);
        try {
          decodeRecords(t);
        } catch (e) {
          expect(e).toBeInstanceOf(RecordBatchError);
        }
      }
    }
  });

  test("records section that lies about its contents is a typed error", () => {
    const b = sample(0, 3);
    // Corrupt each byte of the records section, fix the CRC, and decode: must throw typed or succeed.
    for (let i = BATCH_HEADER_SIZE; i < b.length; i++) {
      for (const x of [0x00, 0x7f, 0x80, 0xff]) {
        const c = b.slice();
        c[i] = x;
        new DataView(c.buffer).setUint32(CRC_OFFSET, crc32c(c, CRC_START));
        try {
          decodeRecords(c);
        } catch (e) {
          expect(e).toBeInstanceOf(RecordBatchError);
        }
      }
    }
    // recordCount claims more than present
    const c = b.slice();
    new DataView(c.buffer).setInt32(RECORD_COUNT_OFFSET, 4);
    new DataView(c.buffer).setUint32(CRC_OFFSET, crc32c(c, CRC_START));
    const s = scanBatches(c);
    expect(isBatchError(s) && s.error).toBe("INVALID_RECORD");
    expect(() => decodeRecords(c)).toThrow(RecordBatchError);
  });

  test("magic other than 2 is rejected, naming the magic", () => {
    for (
      const [m, code] of [[0, "UNSUPPORTED_FOR_MESSAGE_FORMAT"], [1, "UNSUPPORTED_FOR_MESSAGE_FORMAT"], [
        3,
        "CORRUPT_MESSAGE",
      ]] as const
    ) {
      const b = sample();
      b[MAGIC_OFFSET] = m;
      const s = scanBatches(b);
      if (!isBatchError(s)) throw new Error("accepted");
      expect(s.error).toBe(code);
      expect(s.message).toContain(`magic ${m}`);
    }
  });

  test("batchLength too small or too large, trailing bytes", () => {
    const b = sample();
    const small = b.slice();
    new DataView(small.buffer).setInt32(8, 48);
    expect(isBatchError(scanBatches(small))).toBe(true);
    const big = b.slice();
    new DataView(big.buffer).setInt32(8, b.length);
    expect(isBatchError(scanBatches(big))).toBe(true);
    const neg = b.slice();
    new DataView(neg.buffer).setInt32(8, -5);
    expect(isBatchError(scanBatches(neg))).toBe(true);
    const trailing = concat(b, new Uint8Array(5));
    const s = scanBatches(trailing);
    expect(isBatchError(s) && s.position).toBe(b.length);
    expect(scanBatches(new Uint8Array(0))).toEqual([]);
  });

  test("setLogAppendTime sets the type bit and maxTimestamp and keeps the CRC valid", () => {
    for (const codec of [0, 3]) {
      const b = sample(codec);
      setLogAppendTime(b, 0, 1_800_000_000_000);
      expect(batchCrcValid(b, 0)).toBe(true);
      const s = scanBatches(b);
      if (isBatchError(s)) throw new Error(s.message);
      expect(s[0].timestampType).toBe(1);
      expect(s[0].maxTimestamp).toBe(1_800_000_000_000);
      expect(batchMaxTimestamp(b)).toBe(1_800_000_000_000n);
      const d = decodeRecords(b);
      expect(d.records.every((r) => r.timestamp === 1_800_000_000_000n)).toBe(true);
    }
  });

  test("control batches (transaction markers)", () => {
    for (const commit of [true, false]) {
      const b = buildControlBatch({
        baseOffset: 42n,
        producerId: 77n,
        producerEpoch: 5,
        commit,
        coordinatorEpoch: 11,
        timestamp: 1,
      });
      const s = scanBatches(b);
      if (isBatchError(s)) throw new Error(s.message);
      expect(s[0]).toMatchObject({
        isControl: true,
        isTransactional: true,
        recordCount: 1,
        producerEpoch: 5,
        baseSequence: -1,
      });
      const d = decodeRecords(b);
      expect(d.baseOffset).toBe(42n);
      const r = d.records[0];
      expect(Array.from(r.key!)).toEqual([0, 0, 0, commit ? 1 : 0]);
      expect(Array.from(r.value!)).toEqual([0, 0, 0, 0, 0, 11]);
      expect(parseControlRecord(r.key, r.value)).toEqual({ type: commit ? 1 : 0, commit, coordinatorEpoch: 11 });
    }
  });

  test("a compression bomb is refused by the size cap", () => {
    const b = buildRecordBatch({ codec: 1, records: [{ key: null, value: new Uint8Array(8 << 20) }] });
    expect(b.length).toBeLessThan(20_000);
    expect(decodeRecords(b).records[0].value!.length).toBe(8 << 20);
    for (const codec of [1, 2, 3, 4]) {
      const bomb = buildRecordBatch({ codec, records: [{ key: null, value: new Uint8Array(4 << 20) }] });
      let err: unknown;
      try {
        decodeRecords(bomb, { maxDecompressedSize: 1 << 20 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RecordBatchError);
      expect((err as RecordBatchError).code).toBe("CORRUPT_MESSAGE");
    }
  });

  test("hand-made golden batch (layout per the Kafka protocol guide)", () => {
    // one record, key null, value "a", timestamp delta 0, base ts 1, no producer
    const b = buildRecordBatch({ records: [{ key: null, value: "a", timestamp: 1 }] });
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    expect(hex.slice(0, 16)).toBe("0000000000000000"); // baseOffset
    expect(b.length).toBe(61 + 8);
    expect(hex.slice(16, 24)).toBe((b.length - 12).toString(16).padStart(8, "0"));
    expect(hex.slice(24, 34)).toBe("ffffffff02"); // epoch -1, magic 2
    // records: len 7, attrs 0, tsDelta 0, offsetDelta 0, key -1 (01), value len 1 (02) 'a', headers 0
    expect(hex.slice(61 * 2)).toBe("0e000000010261" + "00");
  });
});
