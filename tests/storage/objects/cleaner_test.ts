// Log compaction on the object data path (src/storage/objects/cleaner.ts) with the PostgreSQL index against a real
// private server and the in-memory object store: the latest record per key stays at its offset, an extent that loses
// a batch in its middle becomes one extent per run of contiguous batches in a new object, one that loses everything
// goes, the last extent is never cleaned; the old object is then unreferenced and the GC deletes it while every
// referenced one stays, and a cold reader reads the same. A broker without the leader epoch changes nothing, and a
// pass stopped by a failed object write leaves the log as it was; one stopped between its rounds leaves every key's
// latest value readable at its offset, and the next pass finishes.
import { afterAll, expect, test } from "bun:test";
import { bunRuntime } from "../../../adapters/bun.ts";
import { buildRecordBatch, decodeRecords, scanBatches } from "../../../src/protocol/record_batch.ts";
import { parsePostgresUrl, PgPool } from "../../../src/storage/postgres/client.ts";
import { postgresObjectIndex } from "../../../src/storage/postgres/objects.ts";
import { ensureSchema } from "../../../src/storage/postgres/schema.ts";
import { objectDataPath } from "../../../src/storage/objects/data_path.ts";
import { objectLogStore } from "../../../src/storage/objects/log_store.ts";
import { memoryObjectStore } from "../../../src/storage/objects/memory.ts";
import type { ObjectStore } from "../../../src/storage/objects/store.ts";
import type { PartitionLog } from "../../../src/storage/store.ts";
import { cleanPartition } from "../../../src/storage/objects/cleaner.ts";
import { compactionConfig } from "../../../src/storage/compaction.ts";
import { startPostgres } from "../../helpers/postgres.ts";
import { smallPathConfig } from "../../helpers/object_batches.ts";

const pg = await startPostgres();
const pools: PgPool[] = [];
afterAll(() => {
  for (const p of pools) p.close();
  pg.destroy();
});
const enc = new TextEncoder(), dec = new TextDecoder();
const pathConfig = smallPathConfig("k");

async function open(name: string, store: ObjectStore = memoryObjectStore()) {
  const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase(name)));
  pools.push(pool);
  await ensureSchema(pool);
  const index = postgresObjectIndex(pool);
  const make = () => {
    const path = objectDataPath({ config: pathConfig, index, nodeId: 1, store });
    return { path, logs: objectLogStore({ path, index, prefix: "k", nodeId: 1 }) };
  };
  const { path, logs } = make();
  return { pool, index, store, path, logs, log: await logs.open("t", 0), make };
}

/** One append (one extent) of batches, each a list of [key, value] records. */
async function put(log: PartitionLog, ...batches: [string, string][][]) {
  const parts = batches.map((recs) =>
    buildRecordBatch({
      records: recs.map(([k, v]) => ({ key: enc.encode(k), value: enc.encode(v), timestamp: 1000 })),
    })
  );
  const buf = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  const metas = scanBatches(buf);
  if (!Array.isArray(metas)) throw new Error(metas.message);
  return await log.append(buf, metas);
}

async function dump(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  let next = log.logStartOffset;
  for (;;) {
    const batches = await log.read(next, 1 << 20);
    if (batches.length === 0) return out;
    for (const b of batches) {
      const d = decodeRecords(b);
      for (const r of d.records) out.push(`${r.offset}:${dec.decode(r.key!)}=${dec.decode(r.value!)}`);
      next = Number(d.baseOffset) + d.lastOffsetDelta + 1;
    }
  }
}

const compactCfg = (_t: string, name: string) =>
  ({ "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01" } as Record<string, string>)[name];
const messages: string[] = [];
const say = (_level: string, message: string) => void messages.push(message);
const data = (store: ObjectStore) => store.list("k/chronik-data/").then((p) => p.objects.map((o) => o.key));

async function fill(log: PartitionLog) {
  await put(log, [["x", "1"], ["y", "1"]], [["z", "1"]], [["w", "1"]]); // 0-3, three batches in one extent
  await put(log, [["z", "2"]]); // 4: z=1 at 2 goes, so the extent's middle batch goes
  await put(log, [["x", "2"], ["q", "1"]]); // 5-6: x=1 at 0 goes
  await put(log, [["y", "2"]]); // 7: the last extent, neither cleaned nor shadowing y=1
}
const BEFORE = ["0:x=1", "1:y=1", "2:z=1", "3:w=1", "4:z=2", "5:x=2", "6:q=1", "7:y=2"];
const AFTER = ["1:y=1", "3:w=1", "4:z=2", "5:x=2", "6:q=1", "7:y=2"];

test("latest per key at its offset; a split extent becomes runs in a new object; GC deletes the old one", async () => {
  const { index, store, path, logs, log, make } = await open("clean");
  await fill(log);
  expect(await dump(log)).toEqual(BEFORE);
  const before = await data(store);
  expect(before.length).toBe(4);
  const sizeBefore = (await index.offsets("t", 0)).sizeInBytes;
  expect(await logs.applyCompaction(compactCfg, 5000, say)).toBe(1);
  expect(messages.pop()).toMatch(/t-0: compacted up to offset 7, 1 extent\(s\) rewritten or dropped into 1 object/);
  expect(await dump(log)).toEqual(AFTER);
  const rows = await index.locate("t", 0, 0, 1 << 20);
  expect(rows.map((e) => [e.baseOffset, e.lastOffset])).toEqual([[0, 1], [3, 3], [4, 4], [5, 6], [7, 7]]);
  const { sizeInBytes } = await index.offsets("t", 0);
  expect(sizeInBytes).toBe(rows.reduce((n, e) => n + e.size, 0));
  expect(sizeInBytes).toBeLessThan(sizeBefore);
  expect(log.sizeInBytes).toBe(sizeInBytes);
  // The first extent's object is referenced no more: the GC deletes it, and only it.
  expect((await path.collect()).unreferenced).toEqual([before[0]]);
  const after = await data(store);
  expect(after.length).toBe(4);
  for (const e of rows) expect(after).toContain(e.objectKey);
  // A cold reader (another broker) reads the same; a second pass finds nothing more.
  const cold = make();
  expect(await dump(await cold.logs.open("t", 0))).toEqual(AFTER);
  expect(await logs.applyCompaction(compactCfg, 5000, say, () => true, true)).toBe(1);
  expect(messages.pop()).toMatch(/0 extent\(s\) rewritten or dropped into 0 object/);
  await logs.close();
});

test("a broker without the leader epoch changes nothing; a pass stopped by a failed object write leaves the log", async () => {
  const mem = memoryObjectStore();
  let failPuts = false;
  const store: ObjectStore = Object.assign(Object.create(mem), {
    put: (key: string, body: Uint8Array, o?: { ifNoneMatch?: boolean }) =>
      failPuts ? Promise.reject(new Error("injected: object store down")) : mem.put(key, body, o),
  });
  const { index, logs, log } = await open("cleanfence", store);
  await fill(log);
  const rows = await index.locate("t", 0, 0, 1 << 20);
  index.fencing = { nodeId: 1, epochOf: () => undefined };
  expect(await logs.applyCompaction(compactCfg, 5000, say)).toBe(0);
  expect(messages.pop()).toMatch(/t-0: compaction stopped: .*no longer leads it/);
  index.fencing = null;
  failPuts = true;
  expect(await logs.applyCompaction(compactCfg, 5000, say, () => true, true)).toBe(0);
  expect(messages.pop()).toMatch(/t-0: compaction stopped: injected: object store down/);
  expect(await index.locate("t", 0, 0, 1 << 20)).toEqual(rows);
  expect(await dump(log)).toEqual(BEFORE);
  failPuts = false;
  expect(await logs.applyCompaction(compactCfg, 5000, say, () => true, true)).toBe(1);
  expect(await dump(log)).toEqual(AFTER);
  await logs.close();
});

test("extents kept out only by min.compaction.lag.ms are cleaned once old enough, with nothing appended meanwhile", async () => {
  const { logs, log } = await open("cleanlag");
  await fill(log); // record timestamps 1000
  const lag = (t: string, name: string) => name === "min.compaction.lag.ms" ? "60000" : compactCfg(t, name);
  expect(await logs.applyCompaction(lag, 5000, say)).toBe(0);
  expect(await dump(log)).toEqual(BEFORE);
  // Later, no append since: the extents are old enough now and a pass cleans them.
  expect(await logs.applyCompaction(lag, 120000, say)).toBe(1);
  expect(await dump(log)).toEqual(AFTER);
  await logs.close();
});

test("a rewritten object whose PUT took half the orphan grace period is not switched to (the sweep may delete it)", async () => {
  const mem = memoryObjectStore();
  let time = 1_000_000;
  const store: ObjectStore = Object.assign(Object.create(mem), {
    put: async (key: string, body: Uint8Array, o?: { ifNoneMatch?: boolean }) => {
      await mem.put(key, body, o);
      if (key.includes("chronik-data") && time > 1_000_000) time += 40_000; // a slow PUT of the cleaner's object
    },
  });
  const { index, path, log } = await open("cleangrace", store);
  await fill(log);
  const rows = await index.locate("t", 0, 0, 1 << 20);
  time += 1;
  const target = {
    topic: "t",
    partition: 0,
    logStartOffset: log.logStartOffset,
    logEndOffset: log.logEndOffset,
    index,
    reader: path.reader,
    store,
    prefix: "k",
    nodeId: 1,
    clock: () => time,
    readState: async () => null,
    writeState: async () => {},
    sized: () => {},
    orphanGraceMs: 60_000,
  };
  await expect(cleanPartition(target, compactionConfig(compactCfg, "t")!, 5000, true, () => {})).rejects.toThrow(
    /too late/,
  );
  expect(await index.locate("t", 0, 0, 1 << 20)).toEqual(rows);
  expect(await dump(log)).toEqual(BEFORE);
  await path.close();
});

test("a pass stopped between its rounds leaves every key's latest value at its offset; the next pass finishes", async () => {
  const mem = memoryObjectStore();
  let puts = 0, failAt = -1;
  const store: ObjectStore = Object.assign(Object.create(mem), {
    put: (key: string, body: Uint8Array, o?: { ifNoneMatch?: boolean }) =>
      key.includes("chronik-data") && ++puts === failAt
        ? Promise.reject(new Error("injected: PUT failed"))
        : mem.put(key, body, o),
  });
  const { index, path, log } = await open("cleanstop", store);
  for (let i = 0; i < 6; i++) await put(log, [[`k${i % 3}`, `v${i}`], ["x", `x${i}`]]); // offsets 2i, 2i + 1
  await put(log, [["z", "end"]]); // 12
  puts = 0;
  failAt = 2;
  const state = new Map<string, Uint8Array>();
  const pass = () =>
    cleanPartition(
      {
        topic: "t",
        partition: 0,
        logStartOffset: log.logStartOffset,
        logEndOffset: log.logEndOffset,
        index,
        reader: path.reader,
        store,
        prefix: "k",
        nodeId: 1,
        clock: Date.now,
        readState: async (n) => state.get(n) ?? null,
        writeState: async (n, d) => void state.set(n, d),
        sized: () => {},
        roundExtents: 1,
      },
      compactionConfig(compactCfg, "t")!,
      5000,
      true,
      () => {},
    );
  // Rounds 1-3 drop extents 0-2 (no object), round 4 rewrites extent 3 (PUT 1), round 5's PUT fails.
  await expect(pass()).rejects.toThrow("injected: PUT failed");
  const latest = (rows: string[]) => {
    const m = new Map<string, string>();
    for (const r of rows) m.set(r.slice(r.indexOf(":") + 1, r.indexOf("=")), r);
    return [...m.values()].sort();
  };
  const want = ["10:k2=v5", "11:x=x5", "12:z=end", "6:k0=v3", "8:k1=v4"];
  const stopped = await dump(log);
  expect(stopped).toEqual(["6:k0=v3", "8:k1=v4", "9:x=x4", "10:k2=v5", "11:x=x5", "12:z=end"]);
  expect(latest(stopped)).toEqual(want);
  failAt = 0;
  expect(await pass()).toMatchObject({ upTo: 12 });
  expect(await dump(log)).toEqual(["6:k0=v3", "8:k1=v4", "10:k2=v5", "11:x=x5", "12:z=end"]);
  await path.close();
});
