// The schema registry's read-your-writes across brokers, with two registries over one storage (two brokers'
// views: their own Topics, log instances and PostgreSQL pools): a schema id registered through A is known to
// B once B.sync() settles, and sync() says so (true) even when the records were applied by a catch-up that was
// already under way when it was called (B's background tail), the case the produce path's validation
// (handlers/00_produce.ts) relies on: it validates again only when sync() reports a change. That catch-up is
// held inside its read here, so the interleaving is forced, not timed. On one in-memory store, on PostgreSQL
// (batches in PostgreSQL) and on the object data path (PostgreSQL index, objects in a shared object store).
import { afterAll, describe, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { SchemaRegistry, SCHEMAS_TOPIC } from "../../src/broker/registry/registry.ts";
import { Topics } from "../../src/broker/topics.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { memoryMetadataStore } from "../../src/storage/metadata.ts";
import { objectDataPath } from "../../src/storage/objects/data_path.ts";
import { objectLogStore } from "../../src/storage/objects/log_store.ts";
import { memoryObjectStore } from "../../src/storage/objects/memory.ts";
import { parsePostgresUrl, PgPool } from "../../src/storage/postgres/client.ts";
import { postgresLogStore } from "../../src/storage/postgres/log.ts";
import { postgresMetadataStore } from "../../src/storage/postgres/metadata.ts";
import { postgresObjectIndex } from "../../src/storage/postgres/objects.ts";
import { ensureSchema } from "../../src/storage/postgres/schema.ts";
import type { PartitionLog } from "../../src/storage/store.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { smallPathConfig } from "../helpers/object_batches.ts";

const ROUNDS = 20;

const registryOver = (topics: Topics) => {
  const r = new SchemaRegistry({ topics, now: Date.now, log: () => {}, refreshTopics: () => topics.sync() });
  return r;
};

const schema = (i: number) =>
  JSON.stringify({ type: "record", name: `R${i}`, fields: [{ name: `f${i}`, type: "int" }] });

/** Registers through A, then has B look up the id with a catch-up of B's already inside its read. */
async function readYourWrites(a: SchemaRegistry, b: SchemaRegistry, topicsB: Topics): Promise<void> {
  await a.start();
  await b.start();
  for (let i = 0; i < ROUNDS; i++) {
    const id = await a.register(`s${i}-value`, { schema: schema(i) });
    if (i % 2 === 0) {
      // Plain: nothing under way at B.
      expect(b.hasId(id)).toBe(false);
      expect(await b.sync()).toBe(true);
      expect(b.hasId(id)).toBe(true);
      continue;
    }
    if (!topicsB.get(SCHEMAS_TOPIC)) await topicsB.sync();
    const log = topicsB.get(SCHEMAS_TOPIC)!.partitions[0] as PartitionLog & { read: PartitionLog["read"] };
    const read = log.read;
    let entered!: () => void;
    const reading = new Promise<void>((r) => entered = r);
    let release!: () => void;
    const gate = new Promise<void>((r) => release = r);
    log.read = async (...args) => {
      entered();
      await gate;
      return read.apply(log, args);
    };
    try {
      const tail = b.sync(false); // B's background catch-up: past its refresh, reading the new record
      await reading;
      expect(b.hasId(id)).toBe(false); // the produce path looks: unknown yet
      const asked = b.sync(); // and asks for a catch-up
      release();
      expect(await tail).toBe(true);
      expect(await asked).toBe(true); // changed since asked: the tail applied it after the lookup
      expect(b.hasId(id)).toBe(true);
      expect(b.schemaById(id).schema).toBe(schema(i));
    } finally {
      release();
      log.read = read;
    }
  }
  a.close();
  b.close();
}

describe("schema registry: read-your-writes across two registries over one storage", () => {
  test("one in-memory store", async () => {
    const topics = new Topics(memoryLogStore(), memoryMetadataStore());
    await readYourWrites(registryOver(topics), registryOver(topics), topics);
  });

  let pg: TestPostgres | undefined;
  const pools: PgPool[] = [];
  afterAll(() => {
    for (const p of pools) p.close();
    pg?.destroy();
  });
  const pool = async (url: string) => {
    const p = new PgPool(bunRuntime, parsePostgresUrl(url));
    pools.push(p);
    await ensureSchema(p);
    return p;
  };

  test("PostgreSQL: each broker its own pool and logs", async () => {
    pg ??= await startPostgres();
    const url = pg.createDatabase("registry_sync");
    const brokers = await Promise.all([1, 2].map(async () => {
      const p = await pool(url);
      const topics = new Topics(postgresLogStore(p), await postgresMetadataStore(p));
      await topics.load();
      return topics;
    }));
    await readYourWrites(registryOver(brokers[0]), registryOver(brokers[1]), brokers[1]);
  }, 60_000);

  test("object data path: PostgreSQL index, one object store, each broker its own pool, writer and cache", async () => {
    pg ??= await startPostgres();
    const url = pg.createDatabase("registry_sync_objects");
    const store = memoryObjectStore();
    const config = smallPathConfig("r");
    const brokers = await Promise.all([1, 2].map(async (nodeId) => {
      const p = await pool(url);
      const index = postgresObjectIndex(p);
      const logs = objectLogStore({ path: objectDataPath({ config, index, nodeId, store }), index, prefix: "r" });
      const topics = new Topics(logs, await postgresMetadataStore(p));
      await topics.load();
      return topics;
    }));
    await readYourWrites(registryOver(brokers[0]), registryOver(brokers[1]), brokers[1]);
  }, 60_000);
});
