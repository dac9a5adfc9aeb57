// The object data path on a real S3-compatible server (versitygw): many partitions gathered into objects and
// read back by ranged GETs from a cold cache; the server stopped under load (appends fail with a retriable
// error, every acknowledged record survives exactly once, service resumes by itself); deletion that touches
// only our own objects.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode } from "../../../src/protocol/errors.ts";
import { batchBaseOffset } from "../../../src/protocol/record_batch.ts";
import { compactSmallObjects } from "../../../src/storage/objects/compact.ts";
import { objectDataPath } from "../../../src/storage/objects/data_path.ts";
import { dataPrefix, decodeFooter } from "../../../src/storage/objects/format.ts";
import { memoryObjectIndex } from "../../../src/storage/objects/index.ts";
import { ObjectReader } from "../../../src/storage/objects/reader.ts";
import { S3ObjectStore } from "../../../src/storage/objects/s3.ts";
import { listAll } from "../../../src/storage/objects/store.ts";
import { batches, values } from "../../helpers/object_batches.ts";
import { startS3, type TestS3 } from "../../helpers/s3.ts";

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(() => s3?.close());

const config = (prefix: string) => ({
  s3: null as never,
  prefix,
  flushMs: 10,
  flushBytes: 256 * 1024,
  cacheBytes: 4 << 20,
  blockBytes: 64 * 1024,
});

describe("object data path on versitygw", () => {
  test("20 partitions produced at once: few objects, everything read back by a cold reader", async () => {
    const store = await s3.client("data");
    const index = memoryObjectIndex();
    const path = objectDataPath({ config: config("run1"), index, nodeId: 1, store });
    const expected = new Map<number, string[]>();
    const acks = [];
    for (let round = 0; round < 5; round++) {
      for (let p = 0; p < 20; p++) {
        const b = batches(`r${round}p${p}`, 2, 3, 20);
        expected.set(p, [
          ...(expected.get(p) ?? []),
          ...values(b.metas.map((m) => b.buf.slice(m.position, m.position + m.size))),
        ]);
        acks.push(path.writer.append("events", p, b.buf, b.metas));
      }
    }
    await Promise.all(acks);
    const puts = store.stats.requests.put;
    expect(puts).toBeLessThan(20); // gathered: not one object per append
    const keys: string[] = [];
    for await (const o of listAll(store, dataPrefix("run1"))) keys.push(o.key);
    expect(keys.length).toBe(puts);
    expect(decodeFooter(await store.get(keys[0])).entries.length).toBeGreaterThan(1);

    const cold = new ObjectReader({ store, index, cacheBytes: 4 << 20, blockBytes: 64 * 1024 });
    const getsBefore = store.stats.requests.get;
    for (let p = 0; p < 20; p++) {
      const got = await cold.read("events", p, 0, 1 << 20);
      expect(values(got)).toEqual(expected.get(p)!);
      expect(got.map((b) => Number(batchBaseOffset(b)))).toEqual(Array.from({ length: 10 }, (_, i) => i * 3));
    }
    // Partitions share objects, so cached blocks serve their neighbours: fewer GETs than partition reads.
    expect(store.stats.requests.get - getsBefore).toBeLessThanOrEqual(puts);
    expect(values(await cold.read("events", 3, 14, 1 << 20))[0]).toStartWith("r2p3-0-"); // offset 14 = round 2
  });

  test("S3 stopped under load: retriable failures, every acknowledged record read back once, then recovery", async () => {
    await s3.client("outage");
    const store = new S3ObjectStore({
      bucket: "outage",
      region: "us-east-1",
      endpoint: s3.endpoint,
      credentials: { accessKeyId: "chronik-test-key", secretAccessKey: "chronik/test+secret=key" },
      pathStyle: true,
      maxAttempts: 2,
      retryBaseMs: 10,
      requestTimeoutMs: 2000,
    });
    const index = memoryObjectIndex();
    const path = objectDataPath({ config: config("outage"), index, nodeId: 2, store });
    const acked = new Map<number, string[]>();
    const failures: { errorCode: number; retriable: boolean }[] = [];
    let seq = 0;
    const produce = async (rounds: number) => {
      for (let r = 0; r < rounds; r++) {
        await Promise.all([0, 1, 2].map(async (p) => {
          const b = batches(`m${seq++}`, 1, 2);
          try {
            await path.writer.append("orders", p, b.buf, b.metas);
            acked.set(p, [...(acked.get(p) ?? []), ...values([b.buf])]);
          } catch (e) {
            failures.push(e as { errorCode: number; retriable: boolean });
          }
        }));
      }
    };
    await produce(5);
    await s3.stop();
    await produce(3);
    await s3.start();
    await produce(5);
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) expect([f.errorCode, f.retriable]).toEqual([ErrorCode.KAFKA_STORAGE_ERROR, true]);
    const cold = new ObjectReader({ store, index });
    for (const p of [0, 1, 2]) {
      expect(values(await cold.read("orders", p, 0, 1 << 20))).toEqual(acked.get(p)!);
    }
    // Each append was either acknowledged (and is readable) or failed; all 9 made during the outage failed.
    expect(failures.length).toBeGreaterThanOrEqual(9);
    expect([...acked.values()].flat().length).toBe(2 * (39 - failures.length));
  });

  test("small-object compaction on the real server: one object instead of many, same records, old ones deleted", async () => {
    const store = await s3.client("compact");
    const index = memoryObjectIndex();
    const path = objectDataPath({ config: { ...config("c"), flushMs: 1 }, index, nodeId: 4, store });
    for (let i = 0; i < 12; i++) {
      const b = batches(`c${i}`, 1, 2, 100);
      await path.writer.append("t", i % 3, b.buf, b.metas);
    }
    const expected = await Promise.all([0, 1, 2].map(async (p) => values(await path.reader.read("t", p, 0, 1 << 20))));
    const r = await compactSmallObjects({ store, index, prefix: "c", nodeId: 4 });
    expect([r.sources.length, r.moved]).toEqual([12, 12]);
    expect((await path.collect()).unreferenced.length).toBe(12);
    const left: (string | null)[] = [];
    for await (const o of listAll(store, dataPrefix("c"))) left.push(o.key);
    expect(left).toEqual([r.newKey]);
    const cold = new ObjectReader({ store, index });
    const gets = store.stats.requests.get;
    for (const p of [0, 1, 2]) expect(values(await cold.read("t", p, 0, 1 << 20))).toEqual(expected[p]);
    expect(store.stats.requests.get - gets).toBe(1);
  });

  test("deletion: unreferenced objects and old orphans go; foreign keys under the same prefix stay", async () => {
    const store = await s3.client("gc-test");
    const index = memoryObjectIndex();
    let now = Date.now();
    const path = objectDataPath({ config: config("tenant"), index, nodeId: 3, store, clock: () => now });
    const foreign = [
      "tenant/chronik-data/v1/README",
      "tenant/chronik-data/v1/0000000000001-n1-0123456789abcdef.kob.bak",
      "tenant/other/0000000000001-n1-0123456789abcdef.kob",
      "elsewhere.kob",
    ];
    for (const k of foreign) await store.put(k, new Uint8Array([1]));
    await path.writer.append("t", 0, batches("a").buf, batches("a").metas);
    await path.writer.append("t", 0, batches("b").buf, batches("b").metas);
    index.failNextCommit = new Error("lost commit");
    await path.writer.append("t", 0, batches("orphan").buf, batches("orphan").metas).catch(() => {});
    const ours = async () => {
      const out = [];
      for await (const o of listAll(store, dataPrefix("tenant"))) if (o.key.endsWith(".kob")) out.push(o.key);
      return out;
    };
    expect((await ours()).length).toBe(3);
    await index.advanceLogStart("t", 0, 2);
    const r1 = await path.collect(true); // orphan still young (grace 1 h)
    expect(r1.unreferenced.length).toBe(1);
    expect(r1.orphans).toEqual([]);
    expect((await ours()).length).toBe(2);
    now += 2 * 3600_000; // the store's last-modified times are real, so the sweep needs a real grace of 0:
    const r2 = await objectDataPath({
      config: config("tenant"),
      index,
      nodeId: 3,
      store,
      clock: () => now,
      orphanGraceMs: 0,
    })
      .collect(true);
    expect(r2.orphans.length).toBe(1);
    const left = await ours();
    expect(left.length).toBe(1); // the one still referenced
    expect((await index.knownObjects(left)).size).toBe(1);
    expect(values(await path.reader.read("t", 0, 0, 1 << 20))).toEqual(["b-0-0", "b-0-1"]);
    for (const k of foreign) expect(await store.head(k)).not.toBeNull();
  });
});
