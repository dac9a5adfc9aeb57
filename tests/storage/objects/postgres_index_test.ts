// The ObjectIndex contracts on the PostgreSQL index (src/storage/postgres/objects.ts), against a real private
// server (tests/helpers/postgres.ts), a fresh database per index; then its fencing by leader epoch.
import { afterAll, describe, expect, test } from "bun:test";
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
import { batches, values } from "../../helpers/object_batches.ts";
import { compactableIndexContract, entry, objectIndexContract } from "./index_contract.ts";

const pg = await startPostgres();
const pools: PgPool[] = [];
afterAll(() => {
  for (const p of pools) p.close();
  pg.destroy();
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
    const config = {
      s3: null as never,
      prefix: "r",
      flushMs: 1,
      flushBytes: 1 << 20,
      cacheBytes: 1 << 20,
      blockBytes: 4096,
    };
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
