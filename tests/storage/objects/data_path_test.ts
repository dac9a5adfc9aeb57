// The object data path on the in-memory store and index: gathering, the commit hook contract, reads through
// the block cache, failure behaviour and deletion rules. (The same path on a real S3 server: objects_s3_test.ts.)
import { describe, expect, test } from "bun:test";
import { ErrorCode } from "../../../src/protocol/errors.ts";
import { batchBaseOffset } from "../../../src/protocol/record_batch.ts";
import { compactSmallObjects } from "../../../src/storage/objects/compact.ts";
import { objectStoreConfig } from "../../../src/storage/objects/config.ts";
import { objectDataPath } from "../../../src/storage/objects/data_path.ts";
import { dataPrefix, decodeFooter, isDataObjectKey, newDataObjectKey } from "../../../src/storage/objects/format.ts";
import { deleteUnreferenced, sweepOrphans } from "../../../src/storage/objects/gc.ts";
import { type CommitHook, memoryObjectIndex } from "../../../src/storage/objects/index.ts";
import { objectLogStore } from "../../../src/storage/objects/log_store.ts";
import { memoryObjectStore } from "../../../src/storage/objects/memory.ts";
import { ObjectReader } from "../../../src/storage/objects/reader.ts";
import { ObjectStoreError } from "../../../src/storage/objects/store.ts";
import { ObjectAppendError, ObjectWriter } from "../../../src/storage/objects/writer.ts";
import { batches, values } from "../../helpers/object_batches.ts";

const PREFIX = "tenant/a";

function setup(o: { flushMs?: number; flushBytes?: number; cacheBytes?: number; blockBytes?: number } = {}) {
  const store = memoryObjectStore();
  const index = memoryObjectIndex();
  const config = objectStoreConfig({
    "chronik.object.store": `s3://bucket/${PREFIX}`,
    "chronik.s3.access.key.id": "k",
    "chronik.s3.secret.access.key": "s",
    "chronik.object.flush.ms": o.flushMs ?? 5,
    "chronik.object.flush.bytes": o.flushBytes ?? 1 << 20,
    "chronik.object.cache.bytes": o.cacheBytes ?? 1 << 20,
    "chronik.object.cache.block.bytes": o.blockBytes ?? 4096,
  })!;
  const path = objectDataPath({ config, index, nodeId: 7, store });
  return { store, index, path, config };
}

describe("writer", () => {
  test("appends of many partitions within flush.ms become one object; offsets dense per partition", async () => {
    const { store, index, path } = setup({ flushMs: 20 });
    const acks = await Promise.all([
      path.writer.append("t", 0, batches("a").buf, batches("a").metas),
      path.writer.append("t", 1, batches("b", 2).buf, batches("b", 2).metas),
      path.writer.append("t", 0, batches("c", 3).buf, batches("c", 3).metas),
      path.writer.append("u", 5, batches("d").buf, batches("d").metas),
    ]);
    expect(acks.map((a) => [a.baseOffset, a.lastOffset])).toEqual([[0, 1], [0, 3], [2, 7], [0, 1]]);
    expect(store.objects.size).toBe(1);
    expect(store.stats.requests.put).toBe(1);
    const [key, { body }] = [...store.objects][0];
    expect(isDataObjectKey(PREFIX, key)).toBe(true);
    expect(key).toStartWith("tenant/a/chronik-data/v1/");
    // Grouped by partition, call order kept within one: t-0 (a, c), t-1, u-5.
    const footer = decodeFooter(body);
    expect(footer.entries.map((e) => `${e.topic}-${e.partition}:${e.records}`)).toEqual([
      "t-0:2",
      "t-0:6",
      "t-1:4",
      "u-5:2",
    ]);
    expect(await index.offsets("t", 0)).toMatchObject({ logStartOffset: 0, logEndOffset: 8 });
  });

  test("the ack waits for the commit hook; the caller's buffer gets its base offsets", async () => {
    const store = memoryObjectStore();
    const index = memoryObjectIndex();
    let release!: () => void;
    const gate = new Promise<void>((r) => release = r);
    let commits = 0;
    const writer = new ObjectWriter({
      store,
      prefix: "",
      nodeId: 1,
      flushMs: 1,
      hook: { commit: async (o, e) => (++commits > 1 && await gate, index.commit(o, e)) },
    });
    await writer.append("t", 0, batches("x").buf, batches("x").metas);
    const b = batches("y", 2);
    let acked = false;
    const ack = writer.append("t", 0, b.buf, b.metas).then((r) => (acked = true, r));
    while (store.stats.requests.put < 2) await Bun.sleep(1);
    await Bun.sleep(20);
    expect(store.objects.size).toBe(2); // written...
    expect(acked).toBe(false); // ...but not acknowledged before the commit
    release();
    expect(await ack).toEqual({ baseOffset: 2, lastOffset: 5, logStartOffset: -1 });
    expect(batchBaseOffset(b.buf, 0)).toBe(2n);
    expect(batchBaseOffset(b.buf, b.metas[1].position)).toBe(4n);
  });

  test("flush.bytes cuts an object at once, without waiting for flush.ms", async () => {
    const { store, path } = setup({ flushMs: 3_600_000, flushBytes: 500 });
    const big = batches("big", 1, 10, 60);
    expect(big.buf.length).toBeGreaterThan(500);
    await path.writer.append("t", 0, big.buf, big.metas);
    expect(store.objects.size).toBe(1);
  });

  test("uploads overlap but commits keep cut order (a slow first PUT does not reorder offsets)", async () => {
    const store = memoryObjectStore();
    const index = memoryObjectIndex();
    const put = store.put.bind(store);
    const putOrder: string[] = [];
    const putDone: string[] = [];
    store.put = async (k, b, o) => {
      putOrder.push(k);
      if (putOrder.length === 1) await Bun.sleep(50);
      const r = await put(k, b, o);
      putDone.push(k);
      return r;
    };
    const commitOrder: string[] = [];
    const writer = new ObjectWriter({
      store,
      prefix: "",
      nodeId: 1,
      flushMs: 3_600_000,
      hook: { commit: (o, e) => (commitOrder.push(o.key), index.commit(o, e)) },
    });
    const first = writer.append("t", 0, batches("1").buf, batches("1").metas);
    writer.flush();
    const second = writer.append("t", 0, batches("2").buf, batches("2").metas);
    writer.flush();
    const [a, b] = await Promise.all([first, second]);
    expect(putDone).toEqual([putOrder[1], putOrder[0]]); // the second upload finished first...
    expect(commitOrder).toEqual(putOrder); // ...but commits went in cut order
    expect([a.baseOffset, b.baseOffset]).toEqual([0, 2]);
  });

  test("object store down: appends fail with a retriable KAFKA_STORAGE_ERROR, nothing is committed", async () => {
    const { store, index, path } = setup();
    store.down = true;
    const e = await path.writer.append("t", 0, batches("lost").buf, batches("lost").metas).catch((e) => e);
    expect(e).toBeInstanceOf(ObjectAppendError);
    expect(e.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(e.retriable).toBe(true);
    expect(e.message).toContain("object store is down");
    expect(await index.offsets("t", 0)).toEqual({ logStartOffset: 0, logEndOffset: 0, sizeInBytes: 0 });
    store.down = false;
    const ok = await path.writer.append("t", 0, batches("again").buf, batches("again").metas);
    expect(ok.baseOffset).toBe(0);
    expect(values(await path.reader.read("t", 0, 0, 1 << 20))).toEqual(["again-0-0", "again-0-1"]);
  });

  test("commit hook fails: the object's appends fail (retriable); the object is an orphan, not referenced", async () => {
    const { store, index, path } = setup();
    index.failNextCommit = new Error("database unavailable");
    const e = await path.writer.append("t", 0, batches("x").buf, batches("x").metas).catch((e) => e);
    expect(e.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(e.message).toContain("database unavailable");
    expect(store.objects.size).toBe(1);
    expect((await index.knownObjects([...store.objects.keys()])).size).toBe(0);
  });

  test("a commit whose answer was lost lands late (a hung PostgreSQL that wakes): it or the retry is refused, never both", async () => {
    const store = memoryObjectStore();
    const index = memoryObjectIndex();
    // The index answers nothing for held commits (the broker gives up); the test runs them later, as a server would.
    const held: Parameters<CommitHook["commit"]>[] = [];
    let hold = false;
    const hook = {
      ...index,
      commit: (...args: Parameters<CommitHook["commit"]>) =>
        hold ? (held.push(args), Promise.reject(new Error("no reply"))) : index.commit(...args),
    };
    const config = objectStoreConfig({
      "chronik.object.store": `s3://bucket/${PREFIX}`,
      "chronik.s3.access.key.id": "k",
      "chronik.s3.secret.access.key": "s",
      "chronik.object.flush.ms": 1,
    })!;
    const logs = objectLogStore({
      path: objectDataPath({ config, index: hook, nodeId: 7, store }),
      index,
      prefix: PREFIX,
    });
    const log = await logs.open("t", 0);
    const append = (tag: string) => log.append(batches(tag).buf, batches(tag).metas);
    await append("a");
    // The late commit lands after the retry: the retry took offsets 2-3, the late one is refused.
    hold = true;
    expect((await append("b").catch((e) => e)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    hold = false;
    await log.refresh!();
    expect((await append("b")).baseOffset).toBe(2);
    expect((await index.commit(...held.shift()!))[0]).toMatchObject({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR });
    // The late commit lands after the resync read the log end, before the retry: the retry is refused (retriable)
    // and the next resync finds the batch (the produce path then answers the producer's retry as a duplicate).
    hold = true;
    await append("c").catch(() => {});
    hold = false;
    await log.refresh!();
    expect(await index.commit(...held.shift()!)).toEqual([{ baseOffset: 4 }]);
    expect((await append("c").catch((e) => e)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    await log.refresh!();
    expect(log.logEndOffset).toBe(6);
    expect((await append("d")).baseOffset).toBe(6);
    expect(values(await log.read(0, 1 << 20))).toEqual(
      ["a", "b", "c", "d"].flatMap((t) => [`${t}-0-0`, `${t}-0-1`]),
    );
  });

  test("an entry refused by the index fails alone, with the index's error code", async () => {
    const { index, path } = setup();
    index.refuse.add("t-1");
    const [a, b] = await Promise.allSettled([
      path.writer.append("t", 0, batches("ok").buf, batches("ok").metas),
      path.writer.append("t", 1, batches("no").buf, batches("no").metas),
    ]);
    expect(a.status).toBe("fulfilled");
    expect(b.status === "rejected" && b.reason.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  test("backpressure: appends wait while maxBufferedBytes are queued or uploading", async () => {
    const store = memoryObjectStore();
    const put = store.put.bind(store);
    let release!: () => void;
    const gate = new Promise<void>((r) => release = r);
    let started = 0;
    store.put = async (k, b, o) => (started++, await gate, put(k, b, o));
    const one = batches("b", 1, 10, 50);
    const writer = new ObjectWriter({
      store,
      hook: memoryObjectIndex(),
      prefix: "",
      nodeId: 1,
      flushMs: 1,
      flushBytes: one.buf.length,
      maxBufferedBytes: 2 * one.buf.length,
    });
    const acks = [0, 1, 2, 3, 4].map((i) => {
      const b = batches(`b${i}`, 1, 10, 50);
      return writer.append("t", 0, b.buf, b.metas);
    });
    await Bun.sleep(20);
    expect(started).toBe(2); // two objects uploading fill the buffer; the later appends wait for room...
    release();
    // ...and enter in call order.
    expect((await Promise.all(acks)).map((a) => a.baseOffset)).toEqual([0, 10, 20, 30, 40]);
    expect(store.objects.size).toBe(5);
  });

  test("a retried create-only PUT that finds its own first attempt counts as written", async () => {
    const store = memoryObjectStore();
    const put = store.put.bind(store);
    store.put = async (k, b, o) => {
      await put(k, b, o); // the first attempt lands, its answer is "lost", the retry meets it:
      throw new ObjectStoreError("exists", "PreconditionFailed", 412, false, k, null, true);
    };
    const index = memoryObjectIndex();
    const writer = new ObjectWriter({ store, hook: index, prefix: "", nodeId: 1, flushMs: 1 });
    expect((await writer.append("t", 0, batches("x").buf, batches("x").metas)).baseOffset).toBe(0);
  });
});

describe("reader", () => {
  test("reads from any offset with the index's base offsets; maxBytes and KIP-74 as the log engines", async () => {
    const { path } = setup({ flushMs: 1 });
    const a = batches("a", 3);
    const b = batches("b", 2);
    await path.writer.append("t", 0, a.buf, a.metas);
    await path.writer.append("t", 0, b.buf, b.metas);
    const all = await path.reader.read("t", 0, 0, 1 << 20);
    expect(all.map((x) => batchBaseOffset(x))).toEqual([0n, 2n, 4n, 6n, 8n]);
    expect(values(all)).toEqual([
      "a-0-0",
      "a-0-1",
      "a-1-0",
      "a-1-1",
      "a-2-0",
      "a-2-1",
      "b-0-0",
      "b-0-1",
      "b-1-0",
      "b-1-1",
    ]);
    expect((await path.reader.read("t", 0, 5, 1 << 20)).map((x) => batchBaseOffset(x))).toEqual([4n, 6n, 8n]);
    const one = a.metas[0].size;
    expect((await path.reader.read("t", 0, 0, one + 1)).length).toBe(1);
    expect((await path.reader.read("t", 0, 0, 1)).length).toBe(1); // KIP-74: the first batch whatever its size
    expect((await path.reader.read("t", 0, 0, 1, true)).length).toBe(0);
    expect(await path.reader.read("t", 0, 10, 1 << 20)).toEqual([]);
  });

  test("a failed GET fails the read (retriable) and caches nothing; the next read succeeds", async () => {
    const { store, index, path } = setup();
    await path.writer.append("t", 0, batches("g").buf, batches("g").metas);
    const cold = new ObjectReader({ store, index });
    store.down = true;
    const e = await cold.read("t", 0, 0, 1 << 20).catch((e) => e);
    expect(e).toBeInstanceOf(ObjectStoreError);
    expect(e.retriable).toBe(true);
    expect(cold.stats.cachedBytes).toBe(0);
    store.down = false;
    expect(values(await cold.read("t", 0, 0, 1 << 20))).toEqual(["g-0-0", "g-0-1"]);
  });

  test("tail reads come from the writer's committed objects: no GET", async () => {
    const { store, path } = setup();
    await path.writer.append("t", 0, batches("tail").buf, batches("tail").metas);
    expect(values(await path.reader.read("t", 0, 0, 1 << 20))).toEqual(["tail-0-0", "tail-0-1"]);
    expect(store.stats.requests.get).toBe(0);
  });

  test("a cold reader: one ranged GET per run of missing blocks; concurrent reads share it", async () => {
    const { store, index, path } = setup({ blockBytes: 4096 });
    const big = batches("p", 40, 5, 30); // ~40 batches, several blocks
    await Promise.all([
      path.writer.append("t", 0, big.buf, big.metas),
      path.writer.append("t", 1, batches("q").buf, batches("q").metas),
    ]);
    const cold = new ObjectReader({ store, index, cacheBytes: 1 << 20, blockBytes: 4096 });
    const [r1, r2, r3] = await Promise.all([
      cold.read("t", 0, 0, 1 << 20),
      cold.read("t", 0, 0, 1 << 20),
      cold.read("t", 0, 0, 1 << 20),
    ]);
    expect(values(r1)).toEqual(values(await path.reader.read("t", 0, 0, 1 << 20)));
    expect(values(r2)).toEqual(values(r1));
    expect(values(r3)).toEqual(values(r1));
    expect(store.stats.requests.get).toBe(1);
    expect(cold.stats.gets).toBe(1);
    expect(cold.stats.shared).toBeGreaterThan(0);
    // t-1 sits after t-0 in the same object: its block is cached already.
    expect(values(await cold.read("t", 1, 0, 1 << 20))).toEqual(["q-0-0", "q-0-1"]);
    expect(store.stats.requests.get).toBe(1);
  });

  test("the cache stays within its byte bound (LRU) and reads still succeed after eviction", async () => {
    const { store, index, path } = setup({ flushMs: 1 });
    for (let p = 0; p < 20; p++) {
      const b = batches(`p${p}`, 4, 5, 100);
      await path.writer.append("t", p, b.buf, b.metas);
      await path.writer.flush();
    }
    const small = new ObjectReader({ store, index, cacheBytes: 8192, blockBytes: 2048 });
    for (let round = 0; round < 2; round++) {
      for (let p = 0; p < 20; p++) {
        expect(values(await small.read("t", p, 0, 1 << 20))[0]).toStartWith(`p${p}-0-0x`);
        expect(small.stats.cachedBytes).toBeLessThanOrEqual(8192);
      }
    }
    expect(small.stats.evictedBytes).toBeGreaterThan(0);
  });
});

describe("deletion", () => {
  test("objects no extent refers to are deleted after retention/DeleteRecords; others and foreign keys stay", async () => {
    const { store, index, path, config } = setup({ flushMs: 1 });
    const first = batches("old");
    await path.writer.append("t", 0, first.buf, first.metas);
    await path.writer.append("t", 0, batches("new").buf, batches("new").metas);
    expect(store.objects.size).toBe(2);
    const foreign = [
      `${PREFIX}/chronik-data/v1/notes.txt`,
      `${PREFIX}/other/0000000000001-n1-0123456789abcdef.kob`,
      "x",
    ];
    for (const k of foreign) await store.put(k, new Uint8Array(1));
    expect((await path.collect()).unreferenced).toEqual([]);
    await index.advanceLogStart("t", 0, 2);
    const r = await path.collect(true);
    expect(r.unreferenced.length).toBe(1);
    expect(r.orphans).toEqual([]);
    expect(values(await path.reader.read("t", 0, 0, 1 << 20))).toEqual(["new-0-0", "new-0-1"]);
    for (const k of foreign) expect(store.objects.has(k)).toBe(true);
    expect(await deleteUnreferenced({ store, index, prefix: config.prefix })).toEqual({
      unreferenced: [],
      orphans: [],
      errors: [],
    });
  });

  test("orphans (written, never committed) are swept only after the grace period; known objects never", async () => {
    let now = 1_700_000_000_000;
    const store = memoryObjectStore(() => now);
    const index = memoryObjectIndex();
    const writer = new ObjectWriter({ store, hook: index, prefix: PREFIX, nodeId: 1, flushMs: 1, clock: () => now });
    index.failNextCommit = new Error("commit lost");
    await writer.append("t", 0, batches("o").buf, batches("o").metas).catch(() => {});
    await writer.append("t", 0, batches("k").buf, batches("k").metas);
    expect(store.objects.size).toBe(2);
    const opts = { store, index, prefix: PREFIX, orphanGraceMs: 60_000, clock: () => now };
    expect((await sweepOrphans(opts)).orphans).toEqual([]);
    now += 60_001;
    const r = await sweepOrphans(opts);
    expect(r.orphans.length).toBe(1);
    expect(store.objects.size).toBe(1);
    expect((await index.knownObjects([...store.objects.keys()])).size).toBe(1);
  });

  test("the writer will not commit an object older than half the grace period", async () => {
    let now = 1_700_000_000_000;
    const store = memoryObjectStore();
    const put = store.put.bind(store);
    store.put = (k, b, o) => (now += 40_000, put(k, b, o)); // a very slow upload
    const index = memoryObjectIndex();
    const writer = new ObjectWriter({
      store,
      hook: index,
      prefix: "",
      nodeId: 1,
      flushMs: 1,
      orphanGraceMs: 60_000,
      clock: () => now,
    });
    const e = await writer.append("t", 0, batches("late").buf, batches("late").metas).catch((e) => e);
    expect(e.retriable).toBe(true);
    expect(e.message).toContain("too late to commit");
    expect(index.objects.size).toBe(0);
  });
});

describe("small-object compaction", () => {
  async function smallObjects() {
    const t = setup({ flushMs: 1 });
    for (let i = 0; i < 6; i++) {
      const b = batches(`s${i}`);
      await t.path.writer.append("t", i % 2, b.buf, b.metas);
    }
    expect(t.store.objects.size).toBe(6);
    return t;
  }
  const opts = (t: Awaited<ReturnType<typeof smallObjects>>) => ({
    store: t.store,
    index: t.index,
    prefix: PREFIX,
    nodeId: 7,
  });

  test("rewrites small objects into one, reads are unchanged, the old objects become garbage", async () => {
    const t = await smallObjects();
    await t.index.advanceLogStart("t", 0, 2); // s0 is gone before compaction
    const before = [0, 1].map(async (p) => values(await t.path.reader.read("t", p, 0, 1 << 20)));
    const expected = await Promise.all(before);
    const r = await compactSmallObjects(opts(t));
    expect(r.sources.length).toBe(5); // the object of s0 is not referenced any more: not a candidate
    expect(r.moved).toBe(5);
    expect((await t.path.collect()).unreferenced.length).toBe(6);
    expect([...t.store.objects.keys()]).toEqual([r.newKey!]);
    const cold = new ObjectReader({ store: t.store, index: t.index });
    const gets = t.store.stats.requests.get;
    for (const p of [0, 1]) expect(values(await cold.read("t", p, 0, 1 << 20))).toEqual(expected[p]);
    expect(t.store.stats.requests.get - gets).toBe(1); // both partitions in one object, one block
    const off = [0, 1].map((p) => t.index.offsets("t", p));
    expect(await Promise.all(off)).toMatchObject([{ logStartOffset: 2, logEndOffset: 6 }, {
      logStartOffset: 0,
      logEndOffset: 6,
    }]);
  });

  test("an extent dropped by retention while compaction runs is not brought back", async () => {
    const t = await smallObjects();
    const get = t.store.get.bind(t.store);
    let once = false;
    t.store.get = async (k, r) => {
      if (!once) (once = true, await t.index.advanceLogStart("t", 1, 2));
      return get(k, r);
    };
    const r = await compactSmallObjects(opts(t));
    expect(r.moved).toBe(5);
    expect(values(await t.path.reader.read("t", 1, 0, 1 << 20))).toEqual(["s3-0-0", "s3-0-1", "s5-0-0", "s5-0-1"]);
  });

  test("a reader that located extents in a deleted object locates again", async () => {
    const t = await smallObjects();
    const stale = await t.index.locate("t", 0, 0, 1 << 20);
    await compactSmallObjects(opts(t));
    await t.path.collect();
    let calls = 0;
    const index = {
      ...t.index,
      locate: async (...a: Parameters<typeof t.index.locate>) => calls++ === 0 ? stale : t.index.locate(...a),
    };
    const cold = new ObjectReader({ store: t.store, index });
    expect(values(await cold.read("t", 0, 0, 1 << 20))).toEqual([
      "s0-0-0",
      "s0-0-1",
      "s2-0-0",
      "s2-0-1",
      "s4-0-0",
      "s4-0-1",
    ]);
    expect(calls).toBe(2);
  });

  test("a slow PUT: the extents never move to an object the orphan sweep may delete", async () => {
    const t = await smallObjects();
    const expected = await Promise.all([0, 1].map(async (p) => values(await t.path.reader.read("t", p, 0, 1 << 20))));
    const rows = await Promise.all([0, 1].map((p) => t.index.locate("t", p, 0, 1 << 20)));
    let now = Date.now();
    const gc = { store: t.store, index: t.index, prefix: PREFIX, orphanGraceMs: 60_000, clock: () => now };
    const put = t.store.put.bind(t.store);
    t.store.put = async (k, b, o) => {
      const answer = await put(k, b, o);
      now += 70_000; // the PUT is answered late; meanwhile the sweep finds the new object, unknown to the index
      expect((await sweepOrphans(gc)).orphans).toEqual([k]);
      return answer;
    };
    await expect(compactSmallObjects({ ...opts(t), clock: () => now, orphanGraceMs: 60_000 })).rejects.toThrow(
      /too late to move extents/,
    );
    expect(await Promise.all([0, 1].map((p) => t.index.locate("t", p, 0, 1 << 20)))).toEqual(rows);
    await deleteUnreferenced(gc);
    const cold = new ObjectReader({ store: t.store, index: t.index });
    for (const p of [0, 1]) expect(values(await cold.read("t", p, 0, 1 << 20))).toEqual(expected[p]);
  });

  test("the move is refused past half the grace period, before the sweep could delete the object", async () => {
    const t = await smallObjects();
    let now = Date.now();
    const put = t.store.put.bind(t.store);
    t.store.put = async (k, b, o) => {
      const answer = await put(k, b, o);
      now += 30_001;
      return answer;
    };
    const keys = [...t.store.objects.keys()];
    await expect(compactSmallObjects({ ...opts(t), clock: () => now, orphanGraceMs: 60_000 })).rejects.toThrow(
      /too late to move extents/,
    );
    expect((await t.index.knownObjects(keys)).size).toBe(keys.length);
    t.store.put = put;
    expect((await compactSmallObjects({ ...opts(t), orphanGraceMs: 60_000 })).moved).toBe(6); // the next round
  });

  test("fewer than two candidates: nothing to do", async () => {
    const t = setup();
    await t.path.writer.append("t", 0, batches("x").buf, batches("x").metas);
    expect(await compactSmallObjects({ store: t.store, index: t.index, prefix: PREFIX, nodeId: 7 })).toEqual({
      newKey: null,
      sources: [],
      moved: 0,
      bytes: 0,
    });
  });
});

describe("background rounds", () => {
  test("start(): garbage collection and compaction run by themselves; close() stops them", async () => {
    const store = memoryObjectStore();
    const index = memoryObjectIndex();
    const config = {
      s3: null as never,
      prefix: PREFIX,
      flushMs: 1,
      flushBytes: 1 << 20,
      cacheBytes: 1 << 20,
      blockBytes: 4096,
      gcIntervalMs: 5,
      compactIntervalMs: 5,
    };
    const path = objectDataPath({ config, index, nodeId: 1, store });
    for (let i = 0; i < 5; i++) await path.writer.append("t", 0, batches(`x${i}`).buf, batches(`x${i}`).metas);
    await index.advanceLogStart("t", 0, 2);
    const lines: string[] = [];
    path.start((level, m) => lines.push(`${level} ${m}`));
    const deadline = Date.now() + 10_000;
    while (store.objects.size !== 1 && Date.now() < deadline) await Bun.sleep(5);
    expect(store.objects.size).toBe(1); // four small objects compacted into one, the five old ones deleted
    expect(lines.some((l) => l.includes("compacted 4 small objects"))).toBe(true);
    expect(values(await path.reader.read("t", 0, 0, 1 << 20))).toEqual(
      ["x1", "x2", "x3", "x4"].flatMap((x) => [`${x}-0-0`, `${x}-0-1`]),
    );
    await path.close();
    const requests = store.stats.snapshot().requests;
    await Bun.sleep(30);
    expect(store.stats.snapshot().requests).toEqual(requests);
  });
});

describe("naming and config", () => {
  test("data object names: ours are recognised, nothing else is", () => {
    const k = newDataObjectKey("p/q/", 3, 1234);
    expect(k).toMatch(/^p\/q\/chronik-data\/v1\/0000000001234-n3-[0-9a-f]{16}\.kob$/);
    expect(isDataObjectKey("p/q", k)).toBe(true);
    expect(isDataObjectKey("p", k)).toBe(false);
    expect(isDataObjectKey("p/q", k + ".bak")).toBe(false);
    expect(dataPrefix("")).toBe("chronik-data/v1/");
  });

  test("config: Kafka-style names, AWS_* fallbacks, errors that name the setting", () => {
    expect(objectStoreConfig({})).toBeNull();
    const c = objectStoreConfig({ "chronik.object.store": "s3://my-bucket/some/prefix/" }, {
      AWS_ACCESS_KEY_ID: "AK",
      AWS_SECRET_ACCESS_KEY: "SK",
      AWS_REGION: "eu-central-1",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9000",
    })!;
    expect(c.s3).toMatchObject({
      bucket: "my-bucket",
      region: "eu-central-1",
      endpoint: "http://127.0.0.1:9000",
      pathStyle: true,
      credentials: { accessKeyId: "AK", secretAccessKey: "SK", sessionToken: null },
    });
    expect(c.prefix).toBe("some/prefix");
    expect([c.flushMs, c.flushBytes, c.cacheBytes, c.blockBytes]).toEqual([250, 8388608, 268435456, 1048576]);
    const aws = objectStoreConfig({
      "chronik.object.store": "s3://b-1",
      "chronik.s3.access.key.id": "a",
      "chronik.s3.secret.access.key": "s",
      "chronik.s3.region": "us-west-2",
      "chronik.object.flush.ms": "100",
    }, { AWS_ACCESS_KEY_ID: "ignored" })!;
    expect(aws.s3.pathStyle).toBe(false);
    expect(aws.s3.endpoint).toBeNull();
    expect(aws.s3.credentials.accessKeyId).toBe("a");
    expect(aws.flushMs).toBe(100);
    expect(() => objectStoreConfig({ "chronik.object.store": "gs://x" })).toThrow("s3://bucket/prefix");
    expect(() => objectStoreConfig({ "chronik.object.store": "s3://x" })).toThrow("AWS_ACCESS_KEY_ID");
    expect(() =>
      objectStoreConfig({
        "chronik.object.store": "s3://x",
        "chronik.s3.access.key.id": "a",
        "chronik.s3.secret.access.key": "s",
        "chronik.s3.path.style": "maybe",
      })
    ).toThrow("chronik.s3.path.style");
    expect(() =>
      objectStoreConfig({
        "chronik.object.store": "s3://x",
        "chronik.s3.access.key.id": "a",
        "chronik.s3.secret.access.key": "s",
        "chronik.object.flush.bytes": 0,
      })
    ).toThrow("chronik.object.flush.bytes");
    // The index statement must end within the other half of the orphan grace period (ensureReferableInTime).
    const base = {
      "chronik.object.store": "s3://x",
      "chronik.s3.access.key.id": "a",
      "chronik.s3.secret.access.key": "s",
    };
    const grace = { ...base, "chronik.object.orphan.grace.ms": "60000" };
    expect(objectStoreConfig({ ...grace, "chronik.postgres.request.timeout.ms": "10000" })!.orphanGraceMs).toBe(60000);
    for (const bad of ["0", "30000", "120000"]) {
      expect(() => objectStoreConfig({ ...grace, "chronik.postgres.request.timeout.ms": bad })).toThrow(
        "chronik.postgres.request.timeout.ms",
      );
    }
    expect(objectStoreConfig({ ...base, "chronik.postgres.request.timeout.ms": 120000 })!.orphanGraceMs).toBe(3600000);
  });
});
