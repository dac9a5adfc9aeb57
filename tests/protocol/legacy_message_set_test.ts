import { describe, expect, test } from "bun:test";
import { compress } from "../../src/protocol/compression/index.ts";
import { buildMessageSet, crc32, upConvertMessageSet } from "../../src/protocol/legacy_message_set.ts";
import { decodeRecords, scanBatches } from "../../src/protocol/record_batch.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

describe("legacy message sets (magic 0/1)", () => {
  test("crc32 known vector", () => {
    expect(crc32(enc.encode("123456789"))).toBe(0xcbf43926);
  });

  for (const magic of [0, 1] as const) {
    test(`magic ${magic} up-converts to one v2 batch`, () => {
      const set = buildMessageSet(magic, [
        { key: enc.encode("a"), value: enc.encode("1"), timestamp: 1000n },
        { key: null, value: null, timestamp: 1001n },
      ]);
      const batch = upConvertMessageSet(set) as Uint8Array;
      expect(batch).toBeInstanceOf(Uint8Array);
      expect(Array.isArray(scanBatches(batch))).toBe(true);
      const d = decodeRecords(batch);
      expect(d.records.map((r) => [r.key && dec.decode(r.key), r.value && dec.decode(r.value), r.timestamp])).toEqual([
        ["a", "1", magic === 1 ? 1000n : -1n],
        [null, null, magic === 1 ? 1001n : -1n],
      ]);
    });
  }

  test("a compressed wrapper keeps its codec", () => {
    const inner = buildMessageSet(1, [{ key: null, value: enc.encode("x"), timestamp: 5n }, {
      key: null,
      value: enc.encode("y"),
      timestamp: 6n,
    }]);
    const wrapper = buildMessageSet(1, [{ key: null, value: compress(1, inner), timestamp: 6n }]);
    // Set the wrapper's gzip attribute and fix its CRC.
    wrapper[17] = 1;
    new DataView(wrapper.buffer).setUint32(12, crc32(wrapper, 16, wrapper.length));
    const batch = upConvertMessageSet(wrapper) as Uint8Array;
    const d = decodeRecords(batch);
    expect(d.codec).toBe(1);
    expect(d.records.map((r) => dec.decode(r.value!))).toEqual(["x", "y"]);
  });

  test("bad CRC, truncation at every byte, garbage: errors, never exceptions", () => {
    const set = buildMessageSet(1, [{ key: enc.encode("k"), value: enc.encode("value"), timestamp: 1n }]);
    const bad = set.slice();
    bad[bad.length - 1] ^= 1;
    expect(upConvertMessageSet(bad)).toMatchObject({ error: "CORRUPT_MESSAGE" });
    for (let n = 1; n < set.length; n++) {
      const r = upConvertMessageSet(set.subarray(0, n));
      expect(r instanceof Uint8Array).toBe(false);
    }
    expect(upConvertMessageSet(new Uint8Array(0))).toMatchObject({ error: "INVALID_RECORD" });
  });
});
