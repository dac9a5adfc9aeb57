// The LogStore contract (contract.ts) on the PostgreSQL engine, against a real private server
// (tests/helpers/postgres.ts); a fresh database per store. Then the metadata and admin stores and
// openStorage on PostgreSQL.
import { afterAll, describe, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { parsePostgresUrl, PgPool } from "../../src/storage/postgres/client.ts";
import { postgresLogStore } from "../../src/storage/postgres/log.ts";
import { postgresAdminStore, postgresMetadataStore } from "../../src/storage/postgres/metadata.ts";
import { ensureSchema } from "../../src/storage/postgres/schema.ts";
import { openStorage } from "../../src/storage/setup.ts";
import { resolveConfig } from "../../src/config.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { appendValues, readAll, runLogStoreContract } from "./contract.ts";

const pg = await startPostgres();
afterAll(() => pg.destroy());

runLogStoreContract("postgres engine", async () => {
  const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase("contract")));
  await ensureSchema(pool);
  return postgresLogStore(pool, true);
});

describe("postgres metadata, admin document and the storage entry point", () => {
  test("topics and the cluster id survive a reopen, in creation order; a re-put topic moves to the end", async () => {
    const url = pg.createDatabase("meta");
    let pool = new PgPool(bunRuntime, parsePostgresUrl(url));
    await ensureSchema(pool);
    let m = await postgresMetadataStore(pool);
    expect(m.clusterId).toBeNull();
    await m.setClusterId("c-1");
    await m.putTopic({ name: "a", id: "ida", partitions: 1, configs: {} });
    await m.putTopic({ name: "b", id: "idb", partitions: 2, configs: { "retention.ms": "5" } });
    await m.putTopic({ name: "c", id: "idc", partitions: 1, configs: {} });
    await m.putTopic({ name: "a", id: "ida", partitions: 3, configs: {} });
    await m.deleteTopic("c");
    await m.close();
    pool.close();
    pool = new PgPool(bunRuntime, parsePostgresUrl(url));
    m = await postgresMetadataStore(pool);
    expect(m.clusterId).toBe("c-1");
    expect(m.topics()).toEqual([
      { name: "b", id: "idb", partitions: 2, configs: { "retention.ms": "5" } },
      { name: "a", id: "ida", partitions: 3, configs: {} },
    ]);
    const admin = postgresAdminStore(pool);
    expect(await admin.load()).toEqual({ doc: null, revision: 0 });
    expect(await admin.save({ version: 1, acls: [] }, 0)).toBe(true);
    expect(await admin.save({ version: 1, acls: ["x"] }, 1)).toBe(true);
    // A save built on an older revision (another broker's) is refused and writes nothing.
    expect(await admin.save({ version: 1, acls: ["stale"] }, 1)).toBe(false);
    expect(await admin.revision()).toBe(2);
    expect(await postgresAdminStore(pool).load()).toEqual({ doc: { version: 1, acls: ["x"] }, revision: 2 });
    pool.close();
  });

  test("two brokers creating one topic: the second is refused (TOPIC_EXISTS), updates by the owner go through", async () => {
    const url = pg.createDatabase("race");
    const a = new PgPool(bunRuntime, parsePostgresUrl(url));
    const b = new PgPool(bunRuntime, parsePostgresUrl(url));
    await ensureSchema(a);
    const ma = await postgresMetadataStore(a), mb = await postgresMetadataStore(b);
    await ma.putTopic({ name: "x", id: "id-a", partitions: 1, configs: {} });
    const e = await mb.putTopic({ name: "x", id: "id-b", partitions: 3, configs: {} }).catch((x) => x);
    expect(e.code).toBe("TOPIC_EXISTS");
    await ma.putTopic({ name: "x", id: "id-a", partitions: 2, configs: { "retention.ms": "1" } });
    await mb.refresh!();
    expect(mb.topics()).toEqual([{ name: "x", id: "id-a", partitions: 2, configs: { "retention.ms": "1" } }]);
    a.close();
    b.close();
  });

  test("retention by time and by size moves the log start over whole batches (cleanup.policy=delete only)", async () => {
    const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase("retention")));
    await ensureSchema(pool);
    const s = postgresLogStore(pool, true);
    const log = await s.open("r", 0);
    const kept = await s.open("c", 0);
    for (const ts of [1000, 2000, 3000, 4000]) {
      await appendValues(log, [`v${ts}`], [ts]);
      await appendValues(kept, [`v${ts}`], [ts]);
    }
    const cfg = (values: Record<string, string>) => (topic: string, name: string) =>
      topic === "c" && name === "cleanup.policy" ? "compact" : values[name];
    expect(await s.applyRetention(cfg({ "retention.ms": "-1", "retention.bytes": "-1" }), 10_000)).toBe(0);
    expect(await s.applyRetention(cfg({ "retention.ms": "7500", "retention.bytes": "-1" }), 10_000)).toBe(1);
    expect(log.logStartOffset).toBe(2);
    expect(await readAll(log)).toEqual(["2:v3000", "3:v4000"]);
    const one = log.sizeInBytes / 2;
    expect(await s.applyRetention(cfg({ "retention.ms": "-1", "retention.bytes": String(one) }), 10_000)).toBe(1);
    expect(await readAll(log)).toEqual(["3:v4000"]);
    expect(log.sizeInBytes).toBe(one);
    expect(kept.logStartOffset).toBe(0);
    await s.close();
  });

  test("openStorage(postgres://): every piece on one database; rows of a topic no longer stored are removed at start", async () => {
    const url = pg.createDatabase("setup");
    const config = resolveConfig({ storage: url });
    const s = await openStorage(bunRuntime, config, () => {}, () => undefined as unknown as string);
    expect(s.kind).toBe("postgres");
    expect(s.file).toBeNull();
    await s.metadata.putTopic({ name: "kept", id: "k", partitions: 1, configs: {} });
    await appendValues(await s.store.open("kept", 0), ["k"]);
    await appendValues(await s.store.open("orphan", 0), ["o"]); // as if DeleteTopics stopped halfway
    await s.removeUnknown(() => true);
    expect(pg.psql("SELECT topic FROM chronik_partitions ORDER BY topic", url.slice(url.lastIndexOf("/") + 1)).trim())
      .toBe("kept");
    await s.close();
  });
});
