// The schema registry on three brokers (Bun, Deno, Node) sharing one storage (postgres_cluster_registry_test.ts:
// PostgreSQL; postgres_objects_registry_test.ts: PostgreSQL with record data in S3): registrations sent
// at the same time through different brokers get ids and versions that every broker agrees on (the
// same schema one id, different schemas different ids), a schema registered through one broker is
// served by the others right after its answer, compatibility is checked against the latest version
// whichever broker wrote it, and @kafkajs/confluent-schema-registry encodes through one broker and
// decodes through another; a produce validated against the registry (confluent.value.schema.validation)
// on the partition's leader accepts an id registered through another broker just before (ten times, through
// both other brokers; tests/broker/registry_sync_test.ts forces the interleaving that once refused one).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SchemaRegistry as RegistryClient, SchemaType } from "@kafkajs/confluent-schema-registry";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import { httpBase } from "../helpers/http.ts";

/** Where the brokers keep their data: broker arguments and environment, and how to stop it afterwards. */
export type ClusterStorage = { args: string[]; env?: Record<string, string>; close(): void | Promise<void> };

/** The test below on three brokers (Bun, Deno, Node) over the storage `start` gives. */
export function registryOnThreeBrokers(title: string, start: () => Promise<ClusterStorage>): void {
  const brokers: BrokerProcess[] = [];
  const bases: string[] = [];
  let storage: ClusterStorage | undefined;
  beforeAll(async () => {
    storage = await start();
    const common = [...storage.args, "--http-port", "0", "-o", "broker.heartbeat.interval.ms=300"];
    for (const [i, kind] of (["bun", "deno", "node"] as const).entries()) {
      const b = await startBrokerProcess(kind, [...common, "--node-id", String(i + 1)], storage.env);
      brokers.push(b);
      bases.push(await httpBase(b.logs));
    }
  }, 120_000);
  afterAll(async () => {
    for (const b of brokers) await b.stop().catch(() => {});
    storage?.close();
  });

  const TYPE = "application/vnd.schemaregistry.v1+json";

  async function call(base: string, method: string, path: string, body?: unknown) {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { "content-type": TYPE },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() as Record<string, unknown> & unknown[] };
  }

  const record = (name: string, fields: { name: string; type: unknown; default?: unknown }[]) =>
    JSON.stringify({ type: "record", name, fields });

  describe(title, () => {
    test("ids and versions agreed across brokers; read-your-writes on any broker; clients across brokers", async () => {
      // The same schema under one subject, through the three brokers at once, several times: one id, one version.
      const same = record("Same", [{ name: "a", type: "string" }]);
      const sameIds = await Promise.all(
        [0, 1, 2, 0, 1, 2].map((i) => call(bases[i], "POST", "/subjects/same-value/versions", { schema: same })),
      );
      for (const r of sameIds) expect(r.status).toBe(200);
      expect(new Set(sameIds.map((r) => r.body.id)).size).toBe(1);
      for (const base of bases) {
        expect<unknown>((await call(base, "GET", "/subjects/same-value/versions")).body).toEqual([1]);
      }

      // Different schemas under different subjects, at once through the three: all different ids, the
      // same mapping on every broker.
      const distinct = await Promise.all(
        Array.from({ length: 9 }, (_, i) =>
          call(bases[i % 3], "POST", `/subjects/s${i}-value/versions`, {
            schema: record(`R${i}`, [{ name: `f${i}`, type: "int" }]),
          })),
      );
      const ids = distinct.map((r) => r.body.id as number);
      expect(new Set([...ids, sameIds[0].body.id]).size).toBe(10);
      for (const base of bases) {
        for (let i = 0; i < 9; i++) {
          const got = await call(base, "GET", `/schemas/ids/${ids[i]}`);
          expect(got.status).toBe(200);
          expect(JSON.parse(got.body.schema as string).name).toBe(`R${i}`);
        }
      }

      // Evolving one subject through the three brokers at once (compatible: fields with defaults):
      // versions 1..4, each with its own id, listed alike everywhere.
      const evolved = await Promise.all(
        [1, 2, 3, 4].map((n) =>
          call(bases[n % 3], "POST", "/subjects/evolving-value/versions", {
            schema: record(
              "E",
              Array.from({ length: n }, (_, k) => ({ name: `x${k}`, type: "int", ...(k ? { default: 0 } : {}) })),
            ),
          })
        ),
      );
      for (const r of evolved) expect(r.status).toBe(200);
      expect(new Set(evolved.map((r) => r.body.id)).size).toBe(4);
      const lists = await Promise.all(bases.map((b) => call(b, "GET", "/subjects/evolving-value/versions")));
      for (const l of lists) expect<unknown>(l.body).toEqual([1, 2, 3, 4]);
      const v4 = await Promise.all(bases.map((b) => call(b, "GET", "/subjects/evolving-value/versions/4")));
      for (const v of v4) expect(v.body).toEqual(v4[0].body);

      // Read-your-writes across brokers: registered through one, served at once by the next.
      for (let i = 0; i < 6; i++) {
        const r = await call(bases[i % 3], "POST", `/subjects/ryw${i}-value/versions`, {
          schema: record(`W${i}`, [{ name: "w", type: "long" }]),
        });
        const other = bases[(i + 1) % 3];
        expect((await call(other, "GET", `/schemas/ids/${r.body.id}`)).status).toBe(200);
        expect((await call(other, "GET", `/subjects/ryw${i}-value/versions/latest`)).body.id).toBe(r.body.id);
      }

      // Compatibility against the latest version whichever broker wrote it: BACKWARD is the default, a
      // new required field breaks it. v1 through broker 1, the breaking one through broker 3.
      expect(
        (await call(bases[0], "POST", "/subjects/strict-value/versions", {
          schema: record("S", [{ name: "a", type: "int" }]),
        })).status,
      ).toBe(200);
      const broken = await call(bases[2], "POST", "/subjects/strict-value/versions", {
        schema: record("S", [{ name: "a", type: "int" }, { name: "b", type: "int" }]),
      });
      expect(broken.status).toBe(409);
      // A config set through one broker rules on another.
      expect((await call(bases[1], "PUT", "/config/strict-value", { compatibility: "NONE" })).status).toBe(200);
      expect(
        (await call(bases[2], "POST", "/subjects/strict-value/versions", {
          schema: record("S", [{ name: "a", type: "int" }, { name: "b", type: "int" }]),
        })).status,
      ).toBe(200);
      // Soft delete through one, seen by another.
      expect<unknown>((await call(bases[0], "DELETE", "/subjects/s0-value")).body).toEqual([1]);
      expect((await call(bases[1], "GET", "/subjects/s0-value/versions")).status).toBe(404);

      // A real client: encode through broker 1's registry, decode through broker 3's.
      const a = new RegistryClient({ host: bases[0] });
      const c = new RegistryClient({ host: bases[2] });
      const { id } = await a.register({
        type: SchemaType.AVRO,
        schema: record("Client", [{ name: "n", type: "string" }]),
      }, { subject: "client-value" });
      const bytes = await a.encode(id, { n: "across brokers" });
      expect(await c.decode(bytes)).toEqual({ n: "across brokers" });
      expect(await c.getLatestSchemaId("client-value")).toBe(id);

      // Produce-side validation on the partition's leader, with an id registered through another broker just before.
      const kafka = new Kafka({ brokers: brokers.map((b) => `127.0.0.1:${b.port}`), logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{
          topic: "validated",
          numPartitions: 1,
          configEntries: [{ name: "confluent.value.schema.validation", value: "true" }],
        }],
      });
      let leader = -1;
      for (let i = 0; i < 50 && leader < 0; i++) {
        leader = (await admin.fetchTopicMetadata({ topics: ["validated"] })).topics[0].partitions[0].leader;
        if (leader < 0) await Bun.sleep(100);
      }
      await admin.disconnect();
      expect(leader).toBeGreaterThan(0);
      const producer = kafka.producer({ retry: { retries: 0 } });
      await producer.connect();
      // Each round through one of the two other brokers (node ids 1-3 at bases[0-2]), then at once to the leader.
      for (let round = 0; round < 10; round++) {
        const elsewhere = new RegistryClient({ host: bases[(leader + round % 2) % 3] });
        const fresh = await elsewhere.register({
          type: SchemaType.AVRO,
          schema: record(`Validated${round}`, [{ name: "v", type: "int" }]),
        }, { subject: `validated${round}-value` });
        await producer.send({
          topic: "validated",
          messages: [{ value: await elsewhere.encode(fresh.id, { v: round }) }],
        });
      }
      const refused = await producer.send({ topic: "validated", messages: [{ value: "no schema id" }] }).then(
        () => null,
        (e) => e,
      );
      expect(String(refused?.type ?? refused)).toContain("INVALID_RECORD");
      await producer.disconnect();
    }, 120_000);
  });
}
