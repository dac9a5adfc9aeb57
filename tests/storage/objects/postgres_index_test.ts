// The ObjectIndex contracts on the PostgreSQL index (src/storage/postgres/objects.ts), against a real private
// server (tests/helpers/postgres.ts), a fresh database per index; then its fencing by leader epoch; the LogStore
// contract on the PostgreSQL index with objects in a private versitygw; conditional appends (appendIf) racing
// from two brokers, neither of them the leader.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bunRuntime } from "../../../adapters/bun.ts";
import { parsePostgresUrl, PgPool } from "../../../src/storage/postgres/client.ts";
import { postgresObjectIndex } from "../../../src/storage/postgres/objects.ts";
import { ensureSchema } from "../../../src/storage/postgres/schema.ts";
import { startPostgres } from "../../helpers/postgres.ts";
import { resolveConfig } from "../../../src/config.ts";
import { openStorage } from "../../../src/storage/setup.ts";
import { objectDataPath } from "../../../src/storage/objects/data_path.ts";
import { objectLogStore } from "../../../src/storage/objects/log_store.ts";
import { memoryObjectStore } from "../../../src/storage/objects/memory.ts";
import { batches, smallPathConfig, values } from "../../helpers/object_batches.ts";
import { compactableIndexContract, entry, objectIndexContract } from "./index_contract.ts";
import { startS3, type TestS3 } from "../../helpers/s3.ts";
import { runLogStoreContract } from "../contract.ts";
import { isLogEndMoved } from "../../../src/storage/store.ts";

const pg = await startPostgres();
const pools: PgPool[] = [];
let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(() => {
  for (const p of pools) p.close();
  pg.destroy();
  s3?.close();
});

async function make() {
  const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase("objix")));
  pools.push(pool);
  await ensureSchema(pool);
  return postgresObjectIndex(pool);
}

objectIndexContract("postgres", make);
compactableIndexContract("postgres", make);

describe("postgres object index: fencing", () => {
  test("entries of partitions this node does not lead at its epoch take no offsets; the rest commit", async () => {
    const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase("objfence")));
    pools.push(pool);
    await ensureSchema(pool);
    await pool.query(
      `INSERT INTO chronik_partitions (topic, partition, leader, leader_epoch)
       VALUES ('t', 0, 1, 3), ('t', 1, 2, 1), ('t', 2, 1, 4)`,
    );
    const ix = postgresObjectIndex(pool);
    const held = new Map([["t-0", 3], ["t-2", 3]]); // t-2: node 1 holds an older epoch than the row's
    ix.fencing = { nodeId: 1, epochOf: (t, p) => held.get(`${t}-${p}`) };
    const obj = (n: number) => ({ key: `p/chronik-data/v1/000000000000${n}-n1-0123456789abcdef.kob`, size: 100 });
    const out = await ix.commit(obj(1), [
      entry("t", 0, 0, 10, 2),
      entry("t", 1, 10, 10, 1), // led by node 2: no epoch held
      entry("t", 2, 20, 10, 1), // stale epoch
      entry("t", 0, 30, 10, 3),
    ]);
    expect(out[0]).toEqual({ baseOffset: 0 });
    expect(out[1]).toMatchObject({ errorCode: 6 });
    expect(out[2]).toMatchObject({ errorCode: 6 });
    expect(out[3]).toEqual({ baseOffset: 2 });
    expect(await ix.offsets("t", 0)).toEqual({ logStartOffset: 0, logEndOffset: 5, sizeInBytes: 20 });
    expect(await ix.offsets("t", 2)).toEqual({ logStartOffset: 0, logEndOffset: 0, sizeInBytes: 0 });
    expect(await ix.locate("t", 2, 0, 1 << 20)).toEqual([]);
    // The leader moves (epoch bumped): node 1's next commit to t-0 lands nowhere.
    await pool.query("UPDATE chronik_partitions SET leader = 2, leader_epoch = 4 WHERE topic = 't' AND partition = 0");
    expect((await ix.commit(obj(2), [entry("t", 0, 0, 10, 1)]))[0]).toMatchObject({ errorCode: 6 });
    expect((await ix.offsets("t", 0)).logEndOffset).toBe(5);
    expect(await ix.knownObjects([obj(2).key])).toEqual(new Set([obj(2).key])); // known, unreferenced: gc deletes it
    expect(await ix.unreferencedObjects(10)).toEqual([obj(2).key]);
    // An expected log end that moved is not fencing: KAFKA_STORAGE_ERROR (the broker re-reads it), not 6.
    await pool.query("UPDATE chronik_partitions SET leader = 1, leader_epoch = 3 WHERE topic = 't' AND partition = 0");
    const moved = await ix.commit(obj(3), [{ ...entry("t", 0, 0, 10, 1), logEnd: 4 }]);
    expect(moved[0]).toMatchObject({ errorCode: 56 });
    expect((await ix.commit(obj(4), [{ ...entry("t", 0, 0, 10, 1), logEnd: 5 }]))[0]).toEqual({ baseOffset: 5 });
  });

  test("two indexes committing to one partition concurrently get disjoint, dense offsets", async () => {
    const url = pg.createDatabase("objrace");
    const a = new PgPool(bunRuntime, parsePostgresUrl(url)), b = new PgPool(bunRuntime, parsePostgresUrl(url));
    pools.push(a, b);
    await ensureSchema(a);
    const ia = postgresObjectIndex(a), ib = postgresObjectIndex(b);
    const key = (w: string, n: number) => `p/chronik-data/v1/${String(n).padStart(13, "0")}-${w}-0123456789abcdef.kob`;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        (n % 2 ? ia : ib).commit({ key: key(n % 2 ? "a" : "b", n), size: 10 }, [
          entry("t", 0, 0, 10, 2),
        ])),
    );
    const bases = results.map((r) => (r[0] as { baseOffset: number }).baseOffset).sort((x, y) => x - y);
    expect(bases).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect(await ia.offsets("t", 0)).toEqual({ logStartOffset: 0, logEndOffset: 40, sizeInBytes: 200 });
  });
});

describe("storage entry point", () => {
  test("chronik.object.store needs postgres:// storage; a malformed one or missing credentials fail the start", async () => {
    const open = (c: Record<string, unknown>, env: Record<string, string> = {}) =>
      openStorage(bunRuntime, resolveConfig(c), () => {}, () => "", env);
    await expect(open({ storage: "memory:", "chronik.object.store": "s3://b/p" })).rejects.toThrow(
      "chronik.object.store needs a postgres:// storage URL",
    );
    const url = pg.createDatabase("objsetup");
    await expect(open({ storage: url, "chronik.object.store": "b/p" })).rejects.toThrow("s3://bucket/prefix");
    await expect(open({ storage: url, "chronik.object.store": "s3://b/p" })).rejects.toThrow("AWS_ACCESS_KEY_ID");
    const s = await open({
      storage: url,
      "chronik.object.store": "s3://bkt/p",
      "chronik.s3.endpoint": "http://127.0.0.1:9",
    }, {
      AWS_ACCESS_KEY_ID: "k",
      AWS_SECRET_ACCESS_KEY: "s",
    });
    expect(s.kind).toBe("postgres");
    expect(s.fenced).toBeDefined();
    await s.close();
  });
});

describe("object log store on the PostgreSQL index: retention", () => {
  test("retention.bytes then retention.ms move the log start a whole extent at a time; gc deletes the objects", async () => {
    const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase("objret")));
    pools.push(pool);
    await ensureSchema(pool);
    const index = postgresObjectIndex(pool);
    const store = memoryObjectStore();
    const config = smallPathConfig("r");
    const path = objectDataPath({ config, index, nodeId: 1, store });
    const logs = objectLogStore({ path, index, prefix: "r" });
    const log = await logs.open("r", 0);
    let size = 0;
    for (let i = 0; i < 3; i++) {
      const b = batches(`x${i}`, 1, 2); // record timestamps 1000
      size = b.buf.length;
      await log.append(b.buf, b.metas);
    }
    const data = () => [...store.objects.keys()].filter((k) => k.includes("chronik-data"));
    expect(data().length).toBe(3);
    const cfg = (values: Record<string, string>) => (_t: string, name: string) => values[name];
    expect(await logs.applyRetention(cfg({ "retention.bytes": String(size) }), 2000, () => false)).toBe(0);
    expect(await logs.applyRetention(cfg({ "cleanup.policy": "compact", "retention.ms": "0" }), 9999)).toBe(0);
    expect(await logs.applyRetention(cfg({ "retention.bytes": String(size) }), 2000)).toBe(1);
    expect(log.logStartOffset).toBe(4);
    expect(values(await log.read(0, 1 << 20))).toEqual(["x2-0-0", "x2-0-1"]);
    expect((await path.collect()).unreferenced.length).toBe(2);
    expect(data().length).toBe(1);
    expect(await logs.applyRetention(cfg({ "retention.ms": "5000" }), 2000)).toBe(0); // 1000 is within 5 s of 2000
    expect(await logs.applyRetention(cfg({ "retention.ms": "10" }), 2000)).toBe(1);
    expect(log.logStartOffset).toBe(6);
    expect(await index.offsets("r", 0)).toEqual({ logStartOffset: 6, logEndOffset: 6, sizeInBytes: 0 });
    await path.collect();
    expect(data()).toEqual([]);
    await logs.close();
  });
});

const pathConfig = smallPathConfig("c");
let buckets = 0;
runLogStoreContract("object data path, PostgreSQL index, S3 on versitygw", async () => {
  const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase("objlog")));
  pools.push(pool);
  await ensureSchema(pool);
  const index = postgresObjectIndex(pool);
  const store = await s3.client(`pglog-${buckets++}`);
  return objectLogStore({ path: objectDataPath({ config: pathConfig, index, nodeId: 1, store }), index, prefix: "c" });
});

describe("object log store on the PostgreSQL index: appendIf across brokers", () => {
  test("two brokers, neither the leader, append at the log end they read: one wins each offset, the other retries", async () => {
    const url = pg.createDatabase("objcas");
    const store = await s3.client("cas");
    const brokers = [1, 2].map((nodeId) => {
      const pool = new PgPool(bunRuntime, parsePostgresUrl(url));
      pools.push(pool);
      const index = postgresObjectIndex(pool);
      // Node 3 leads every partition: plain appends from nodes 1 and 2 are fenced, conditional ones are not.
      index.fencing = { nodeId, epochOf: () => undefined };
      const path = objectDataPath({ config: pathConfig, index, nodeId, store });
      return objectLogStore({ path, index, prefix: "c" });
    });
    await ensureSchema(pools[pools.length - 1]);
    const logs = await Promise.all(brokers.map((b) => b.open("_schemas", 0)));
    const plain = batches("plain");
    expect(await logs[0].append(plain.buf, plain.metas).then(() => null, (e) => e.errorCode)).toBe(6);
    // Each broker writes 5 records, one at a time, each at the log end it last read (as the registry does).
    const written: string[][] = [[], []];
    await Promise.all(logs.map(async (log, w) => {
      for (let i = 0; i < 5;) {
        await log.refresh!(true);
        const b = batches(`w${w}-${i}`, 1, 1);
        try {
          const r = await log.appendIf!(log.logEndOffset, b.buf, b.metas);
          written[w].push(`${r.baseOffset}:w${w}-${i}-0-0`);
          i++;
        } catch (e) {
          if (!isLogEndMoved(e)) throw e;
        }
      }
    }));
    const all = values(await logs[1].read(0, 1 << 20));
    expect(all.length).toBe(10);
    const byOffset = [...written[0], ...written[1]].sort((a, b) => parseInt(a) - parseInt(b));
    expect(byOffset.map((s) => s.slice(s.indexOf(":") + 1))).toEqual(all);
    expect(byOffset.map((s) => parseInt(s))).toEqual([...Array(10).keys()]);
    // A stale log end: refused, nothing stored.
    const stale = batches("stale", 1, 1);
    expect(isLogEndMoved(await logs[0].appendIf!(3, stale.buf, stale.metas).then(() => null, (e) => e))).toBe(true);
    await logs[0].refresh!(true);
    expect(logs[0].logEndOffset).toBe(10);
    for (const b of brokers) await b.close();
  });
});
