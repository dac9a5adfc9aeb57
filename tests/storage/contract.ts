// The LogStore / PartitionLog contract (src/storage/store.ts), one suite run against every engine:
// contract_test.ts runs it on the memory engine, the file engine over the memory FileSystem and the
// file engine over the real file system (adapters/node_fs.ts).
import { describe, expect, test } from "bun:test";
import {
  batchBaseOffsetNumber,
  batchCrcValid,
  buildRecordBatch,
  decodeRecords,
  scanBatches,
} from "../../src/protocol/record_batch.ts";
import type { BatchInfo } from "../../src/protocol/record_batch.ts";
import type { LogStore, PartitionLog } from "../../src/storage/store.ts";

/** Makes a fresh store; `topicConfig` overrides topic configs (engines without segments ignore them). */
export type EngineFactory = (topicConfig?: Record<string, string>) => Promise<LogStore>;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One produce-style append: batches built, scanned, handed over. */
export function makeAppend(
  batches: { values: string[]; timestamps?: number[]; keys?: (string | null)[]; codec?: number }[],
): { buf: Uint8Array; metas: BatchInfo[] } {
  const parts = batches.map((b) =>
    buildRecordBatch({
      codec: b.codec ?? 0,
      records: b.values.map((v, i) => ({
        key: b.keys ? b.keys[i] : `k-${v}`,
        value: v,
        timestamp: b.timestamps?.[i] ?? 1_000 + i,
      })),
    })
  );
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

export async function appendValues(log: PartitionLog, values: string[], timestamps?: number[]) {
  const { buf, metas } = makeAppend([{ values, timestamps }]);
  return await log.append(buf, metas);
}

/** Every record readable from `from`, as "offset:value", checking each returned batch is whole and valid. */
export async function readAll(log: PartitionLog, from = 0, maxBytes = 1 << 20): Promise<string[]> {
  const out: string[] = [];
  let next = Math.max(from, log.logStartOffset);
  for (;;) {
    const batches = await log.read(next, maxBytes);
    if (batches.length === 0) return out;
    for (const b of batches) {
      expect(batchCrcValid(b)).toBe(true);
      for (const r of decodeRecords(b).records) {
        if (Number(r.offset) < next) continue;
        out.push(`${r.offset}:${r.value === null ? "null" : dec.decode(r.value)}`);
      }
      next = batchBaseOffsetNumber(b) + new DataView(b.buffer, b.byteOffset).getInt32(23) + 1;
    }
  }
}

export function runLogStoreContract(name: string, make: EngineFactory): void {
  describe(`LogStore contract: ${name}`, () => {
    test("a new partition is empty", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      expect(log.topic).toBe("t");
      expect(log.partition).toBe(0);
      expect(log.logStartOffset).toBe(0);
      expect(log.logEndOffset).toBe(0);
      expect(log.sizeInBytes).toBe(0);
      expect(await log.read(0, 1 << 20)).toEqual([]);
      expect(await log.batchForTimestamp(0)).toBeNull();
      expect(await log.maxTimestampBatch()).toBeNull();
      await s.close();
    });

    test("open returns the same log for the same partition; partitions are independent", async () => {
      const s = await make();
      const a = await s.open("t", 0);
      expect(await s.open("t", 0)).toBe(a);
      const b = await s.open("t", 1);
      await appendValues(a, ["x", "y"]);
      expect(b.logEndOffset).toBe(0);
      expect(a.logEndOffset).toBe(2);
      await s.close();
    });

    test("offsets are dense; base offsets are written into the stored batches", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      expect(await appendValues(log, ["a", "b", "c"])).toEqual({ baseOffset: 0, lastOffset: 2, logStartOffset: 0 });
      expect(await appendValues(log, ["d"])).toEqual({ baseOffset: 3, lastOffset: 3, logStartOffset: 0 });
      const { buf, metas } = makeAppend([{ values: ["e", "f"] }, { values: ["g"] }]);
      expect(await log.append(buf, metas)).toEqual({ baseOffset: 4, lastOffset: 6, logStartOffset: 0 });
      expect(log.logEndOffset).toBe(7);
      expect(log.sizeInBytes).toBeGreaterThan(0);
      expect(await readAll(log)).toEqual(["0:a", "1:b", "2:c", "3:d", "4:e", "5:f", "6:g"]);
      const batches = await log.read(0, 1 << 20);
      expect(batches.map((b) => batchBaseOffsetNumber(b))).toEqual([0, 3, 4, 6]);
      await s.close();
    });

    test("a read starts at the batch holding the offset; past the end it is empty", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      await appendValues(log, ["a", "b", "c"]);
      await appendValues(log, ["d", "e"]);
      expect((await log.read(1, 1 << 20)).map((b) => batchBaseOffsetNumber(b))).toEqual([0, 3]);
      expect((await log.read(3, 1 << 20)).map((b) => batchBaseOffsetNumber(b))).toEqual([3]);
      expect((await log.read(4, 1 << 20)).map((b) => batchBaseOffsetNumber(b))).toEqual([3]);
      expect(await log.read(5, 1 << 20)).toEqual([]);
      expect(await log.read(500, 1 << 20)).toEqual([]);
      await s.close();
    });

    test("maxBytes: whole batches only, the first one whatever its size unless strict (KIP-74)", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      const big = "x".repeat(500);
      for (let i = 0; i < 4; i++) await appendValues(log, [big + i]);
      const one = (await log.read(0, 1 << 20))[0].length;
      expect((await log.read(0, 10)).length).toBe(1);
      expect(await log.read(0, 10, true)).toEqual([]);
      expect((await log.read(0, one * 2)).length).toBe(2);
      expect((await log.read(0, one * 2 + one - 1)).length).toBe(2);
      expect((await log.read(1, one * 3, true)).map((b) => batchBaseOffsetNumber(b))).toEqual([1, 2, 3]);
      await s.close();
    });

    test("appends issued without awaiting complete in call order with increasing offsets", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      const done: number[] = [];
      const ps = [];
      for (let i = 0; i < 50; i++) {
        const { buf, metas } = makeAppend([{ values: Array.from({ length: (i % 3) + 1 }, (_, j) => `${i}.${j}`) }]);
        ps.push(
          log.append(buf, metas).then((r) => {
            done.push(i);
            return r;
          }),
        );
      }
      const rs = await Promise.all(ps);
      expect(done).toEqual([...Array(50).keys()]);
      let next = 0;
      for (const r of rs) {
        expect(r.baseOffset).toBe(next);
        next = r.lastOffset + 1;
      }
      expect(log.logEndOffset).toBe(next);
      expect((await readAll(log)).length).toBe(next);
      await s.close();
    });

    test("appendIf: stores only while the log end is the one given; else LogEndMovedError and nothing stored", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      if (!log.appendIf) return void await s.close(); // engines without it leave it out
      await appendValues(log, ["a", "b"]);
      const stale = makeAppend([{ values: ["stale"] }]);
      const err = await log.appendIf(1, stale.buf, stale.metas).then(() => null, (e) => e);
      expect((err as { code?: string }).code).toBe("LOG_END_MOVED");
      expect(log.logEndOffset).toBe(2);
      const ok = makeAppend([{ values: ["c"] }]);
      expect((await log.appendIf(2, ok.buf, ok.metas)).baseOffset).toBe(2);
      // Behind appends in flight: checked against the end they leave.
      const p1 = appendValues(log, ["d"]);
      const next = makeAppend([{ values: ["e"] }]);
      const p2 = log.appendIf(4, next.buf, next.metas);
      await p1;
      expect((await p2).baseOffset).toBe(4);
      expect(await readAll(log)).toEqual(["0:a", "1:b", "2:c", "3:d", "4:e"]);
      await s.close();
    });

    test("durable appends behave the same (memory engines ignore the flag)", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      const ps = [];
      for (let i = 0; i < 10; i++) {
        const { buf, metas } = makeAppend([{ values: [`v${i}`] }]);
        ps.push(log.append(buf, metas, { durable: true }));
      }
      expect((await Promise.all(ps)).map((r) => r.baseOffset)).toEqual([...Array(10).keys()]);
      expect(await readAll(log)).toEqual([...Array(10).keys()].map((i) => `${i}:v${i}`));
      await s.close();
    });

    test("batchForTimestamp: first batch whose max timestamp reaches it; maxTimestampBatch: earliest holder of the max", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      await appendValues(log, ["a", "b"], [100, 300]); // 0-1, max 300
      await appendValues(log, ["c"], [200]); // 2
      await appendValues(log, ["d", "e"], [500, 400]); // 3-4, max 500
      await appendValues(log, ["f"], [500]); // 5
      const at = async (ts: number) => (await log.batchForTimestamp(ts))?.baseOffset ?? null;
      expect(await at(0)).toBe(0);
      expect(await at(300)).toBe(0);
      expect(await at(301)).toBe(3);
      expect(await at(500)).toBe(3);
      expect(await at(501)).toBeNull();
      const max = await log.maxTimestampBatch();
      expect(max!.baseOffset).toBe(3);
      expect(batchBaseOffsetNumber(max!.batch)).toBe(3);
      await s.close();
    });

    test("advanceLogStart moves forward only, up to the log end; reads and lookups start there", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      for (let i = 0; i < 5; i++) await appendValues(log, [`a${i}`, `b${i}`], [1000 + i, 1000 + i]);
      await log.advanceLogStart(3);
      expect(log.logStartOffset).toBe(3);
      await log.advanceLogStart(1);
      expect(log.logStartOffset).toBe(3);
      expect((await readAll(log, 0))[0]).toBe("3:b1");
      expect((await log.batchForTimestamp(0))!.baseOffset).toBe(2);
      expect((await appendValues(log, ["z"])).logStartOffset).toBe(3);
      await log.advanceLogStart(1000);
      expect(log.logStartOffset).toBe(11);
      expect(await log.read(0, 1 << 20)).toEqual([]);
      expect(await log.maxTimestampBatch()).toBeNull();
      expect((await appendValues(log, ["after"])).baseOffset).toBe(11);
      expect(await readAll(log, 0)).toEqual(["11:after"]);
      await s.close();
    });

    test("onAppend listeners are called after each append until removed", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      let calls = 0;
      const off = log.onAppend(() => calls++);
      await appendValues(log, ["a"]);
      await appendValues(log, ["b"]);
      off();
      await appendValues(log, ["c"]);
      expect(calls).toBe(2);
      await s.close();
    });

    test("remove deletes a topic's partitions; reopening gives empty logs", async () => {
      const s = await make();
      const a = await s.open("gone", 0);
      const b = await s.open("gone", 1);
      await appendValues(a, ["a"]);
      await appendValues(b, ["b"]);
      const keep = await s.open("kept", 0);
      await appendValues(keep, ["k"]);
      await s.remove("gone", 2);
      expect((await s.open("gone", 0)).logEndOffset).toBe(0);
      expect((await s.open("gone", 1)).logEndOffset).toBe(0);
      expect(await readAll(await s.open("kept", 0))).toEqual(["0:k"]);
      await s.close();
    });

    test("named partition state: written atomically, read back whole, removed with the partition", async () => {
      const s = await make();
      const log = await s.open("st", 0);
      expect(await log.readState("producer")).toBeNull();
      await log.writeState("producer", new Uint8Array([1, 2, 3]));
      await log.writeState("producer", new Uint8Array([4, 5]));
      expect(await log.readState("producer")).toEqual(new Uint8Array([4, 5]));
      expect(await (await s.open("st", 1)).readState("producer")).toBeNull();
      await s.remove("st", 1);
      expect(await (await s.open("st", 0)).readState("producer")).toBeNull();
      await s.close();
    });

    test("compressed batches are stored and returned as sent", async () => {
      const s = await make();
      const log = await s.open("t", 0);
      for (const codec of [1, 2, 3, 4]) {
        const { buf, metas } = makeAppend([{ values: [`c${codec}a`, `c${codec}b`], codec }]);
        const sent = buf.slice();
        await log.append(buf, metas);
        const got = (await log.read(log.logEndOffset - 1, 1 << 20))[0];
        expect(got.subarray(8)).toEqual(sent.subarray(8));
      }
      expect(await readAll(log)).toEqual(["0:c1a", "1:c1b", "2:c2a", "3:c2b", "4:c3a", "5:c3b", "6:c4a", "7:c4b"]);
      await s.close();
    });

    test("many small segments: reads, timestamps and log start across segment boundaries", async () => {
      const s = await make({ "segment.bytes": "400", "index.interval.bytes": "100" });
      const log = await s.open("t", 0);
      const expected: string[] = [];
      for (let i = 0; i < 60; i++) {
        await appendValues(log, [`v${i}`, `w${i}`], [10_000 + i * 10, 10_000 + i * 10 + 5]);
        expected.push(`${2 * i}:v${i}`, `${2 * i + 1}:w${i}`);
      }
      expect(await readAll(log)).toEqual(expected);
      expect(await readAll(log, 0, 1)).toEqual(expected);
      for (const off of [0, 1, 37, 64, 119]) expect((await readAll(log, off))[0]).toBe(expected[off]);
      for (const i of [0, 17, 59]) {
        expect((await log.batchForTimestamp(10_000 + i * 10 + 3))!.baseOffset).toBe(2 * i);
        expect((await log.batchForTimestamp(10_000 + i * 10 + 6))?.baseOffset ?? null).toBe(
          i === 59 ? null : 2 * i + 2,
        );
      }
      expect((await log.maxTimestampBatch())!.baseOffset).toBe(118);
      await log.advanceLogStart(77);
      expect((await readAll(log, 0))[0]).toBe("77:w38");
      expect((await log.batchForTimestamp(0))!.baseOffset).toBe(76);
      await s.close();
    });
  });
}
