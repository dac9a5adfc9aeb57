// Confluent REST Proxy API compatibility: requests as Confluent's API reference shows them (v2
// produce in the json, binary, avro and jsonschema embedded formats; v3 clusters, topics, configs,
// records including the streaming form, consumer-group lag), answered in its shapes, and read back
// with real clients (kafkajs; Avro values decoded by @kafkajs/confluent-schema-registry).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SchemaRegistry as RegistryClient } from "@kafkajs/confluent-schema-registry";
import type { Kafka, KafkaMessage } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { httpJson, startHttpBroker } from "../helpers/http.ts";
import { consumeCount, quietKafka } from "../helpers/kafkajs.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const V2 = "application/vnd.kafka.v2+json";

let broker: Broker & { lines: string[] };
let base: string;
let kafka: Kafka;
const call = (method: string, path: string, body?: unknown, type?: string) =>
  httpJson(method, `${base}${path}`, body, { type });

/** The first `n` records of `topic`, read by a fresh group. */
async function readAll(topic: string, n: number): Promise<KafkaMessage[]> {
  return (await consumeCount(kafka, topic, n, `read-${topic}-${Math.random()}`)).map((r) => r.message);
}

beforeAll(async () => {
  ({ broker, base } = await startHttpBroker({ "group.initial.rebalance.delay.ms": 0, "num.partitions": 2 }));
  kafka = quietKafka(broker.port, "crest");
});
afterAll(async () => {
  await broker.close();
});

describe("REST Proxy v2", () => {
  test("json, binary, avro and jsonschema produce", async () => {
    const json = await call("POST", "/topics/v2json", {
      records: [{ key: "somekey", value: { foo: "bar" } }, { value: ["foo", "bar"] }, { value: 53.5 }],
    }, "application/vnd.kafka.json.v2+json");
    expect(json.status).toBe(200);
    expect(json.json.key_schema_id).toBeNull();
    expect((json.json.offsets as unknown[]).length).toBe(3);
    const bin = await call(
      "POST",
      "/topics/v2json/partitions/0",
      { records: [{ key: "a2V5", value: "Y29uZmx1ZW50" }] },
      "application/vnd.kafka.binary.v2+json",
    );
    expect(bin.json.offsets).toEqual([{ partition: 0, offset: expect.any(Number), error_code: null, error: null }]);
    const values = (await readAll("v2json", 4)).map((m) => m.value!.toString());
    expect(values).toContain('{"foo":"bar"}');
    expect(values).toContain("confluent");

    const schema = JSON.stringify({ type: "record", name: "User", fields: [{ name: "name", type: "string" }] });
    const avro = await call(
      "POST",
      "/topics/v2avro",
      { value_schema: schema, records: [{ value: { name: "testUser" } }] },
      "application/vnd.kafka.avro.v2+json",
    );
    expect(avro.status).toBe(200);
    const id = avro.json.value_schema_id as number;
    expect(id).toBeGreaterThan(0);
    const registry = new RegistryClient({ host: base });
    const [msg] = await readAll("v2avro", 1);
    expect(await registry.decode(msg.value!)).toEqual({ name: "testUser" });
    // Again by id, and a value that does not fit the schema.
    expect(
      (await call(
        "POST",
        "/topics/v2avro",
        { value_schema_id: id, records: [{ value: { name: "x" } }] },
        "application/vnd.kafka.avro.v2+json",
      )).status,
    ).toBe(200);
    expect(
      (await call(
        "POST",
        "/topics/v2avro",
        { value_schema_id: id, records: [{ value: { name: 1 } }] },
        "application/vnd.kafka.avro.v2+json",
      )).status,
    ).toBe(422);

    const js = await call("POST", "/topics/v2js", {
      value_schema: '{"type":"object","properties":{"n":{"type":"integer"}}}',
      records: [{ value: { n: 1 } }],
    }, "application/vnd.kafka.jsonschema.v2+json");
    expect(js.status).toBe(200);
    const [m2] = await readAll("v2js", 1);
    expect(m2.value![0]).toBe(0);
    expect(m2.value!.readInt32BE(1)).toBe(js.json.value_schema_id as number);
    expect(JSON.parse(m2.value!.subarray(5).toString())).toEqual({ n: 1 });

    expect((await call("GET", "/topics")).json).toEqual(expect.arrayContaining(["v2avro", "v2js", "v2json"]));
    const meta = (await call("GET", "/topics/v2json")).json as unknown as { name: string; partitions: unknown[] };
    expect(meta.name).toBe("v2json");
    expect(meta.partitions[0]).toEqual({
      partition: 0,
      leader: 0,
      replicas: [{ broker: 0, leader: true, in_sync: true }],
    });
  }, 60_000);
});

describe("REST Proxy v3", () => {
  test("clusters, topics, configs, records, consumer-group lag", async () => {
    const clusters = await call("GET", "/v3/clusters");
    expect(clusters.json.kind).toBe("KafkaClusterList");
    const id = clusters.json.data![0].cluster_id as string;
    expect(id).toBe(broker.services.clusterId);
    const v3 = `/v3/clusters/${id}`;
    expect((await call("GET", "/v3/clusters/nope/topics")).status).toBe(404);

    const created = await call("POST", `${v3}/topics`, {
      topic_name: "v3t",
      partitions_count: 2,
      configs: [{ name: "cleanup.policy", value: "compact" }],
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      kind: "KafkaTopic",
      topic_name: "v3t",
      partitions_count: 2,
      is_internal: false,
    });
    expect((await call("GET", `${v3}/topics/v3t/partitions`)).json.data!.map((p) => p.partition_id)).toEqual([0, 1]);
    const cfg = await call("GET", `${v3}/topics/v3t/configs/cleanup.policy`);
    expect(cfg.json).toMatchObject({ kind: "KafkaTopicConfig", value: "compact", source: "DYNAMIC_TOPIC_CONFIG" });
    expect((await call("PUT", `${v3}/topics/v3t/configs/retention.ms`, { value: "1000" })).status).toBe(204);
    expect((await call("GET", `${v3}/topics/v3t/configs/retention.ms`)).json.value).toBe("1000");
    expect(
      (await call("POST", `${v3}/topics/v3t/configs:alter`, { data: [{ name: "retention.ms", operation: "DELETE" }] }))
        .status,
    )
      .toBe(204);
    expect((await call("GET", `${v3}/topics/v3t/configs/retention.ms`)).json.is_default).toBe(true);

    const one = await call("POST", `${v3}/topics/v3t/records`, {
      partition_id: 1,
      headers: [{ name: "h", value: btoa("v") }],
      key: { type: "STRING", data: "k1" },
      value: { type: "JSON", data: { a: 1 } },
    });
    expect(one.json).toMatchObject({
      error_code: 200,
      topic_name: "v3t",
      partition_id: 1,
      offset: 0,
      value: { type: "JSON" },
    });
    const stream = await call(
      "POST",
      `${v3}/topics/v3t/records`,
      '{"partition_id":0,"key":{"type":"STRING","data":"a"},"value":{"type":"STRING","data":"s1"}}\n' +
        '{"partition_id":0,"key":{"type":"STRING","data":"b"},"value":{"type":"BINARY","data":"' + btoa("s2") +
        '"}}\n' +
        '{"partition_id":0,"value":{"type":"STRING","data":"no key"}}',
    );
    const results = stream.text.trim().split("\n").map((l) => JSON.parse(l));
    // The third has no key, which a compacted topic refuses (Kafka's INVALID_RECORD): a client error.
    expect(results.map((r) => [r.error_code, r.offset])).toEqual([[200, 0], [200, 1], [400, undefined]]);

    // A group with committed offsets, and its lag.
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: "v3g", topic: "v3t", partitions: [{ partition: 0, offset: "1" }] });
    await admin.disconnect();
    const groups = await call("GET", `${v3}/consumer-groups`);
    expect(groups.json.data!.map((g) => g.consumer_group_id)).toContain("v3g");
    const summary = await call("GET", `${v3}/consumer-groups/v3g/lag-summary`);
    expect(summary.json).toMatchObject({
      kind: "KafkaConsumerGroupLagSummary",
      total_lag: 1,
      max_lag: 1,
      max_lag_topic_name: "v3t",
    });
    const lag = await call("GET", `${v3}/consumer-groups/v3g/lags/v3t/partitions/0`);
    expect(lag.json).toMatchObject({ current_offset: 1, log_end_offset: 2, lag: 1 });

    expect((await call("GET", `${v3}/brokers`)).json.data![0]).toMatchObject({ kind: "KafkaBroker", broker_id: 0 });
    expect((await call("DELETE", `${v3}/topics/v3t`)).status).toBe(204);
    expect((await call("GET", `${v3}/topics/v3t`)).status).toBe(404);
  }, 60_000);
});

describe("REST Proxy v2 consumer instances", () => {
  test("create, subscribe, read, commit; two instances share the group's partitions; delete", async () => {
    await call(
      "POST",
      "/topics/cons",
      { records: [0, 1, 2, 3, 4, 5].map((n) => ({ value: { n }, partition: n % 2 })) },
      "application/vnd.kafka.json.v2+json",
    );
    const made = await call(
      "POST",
      "/consumers/cg1",
      { name: "ci1", format: "json", "auto.offset.reset": "earliest" },
      V2,
    );
    expect(made.json).toEqual({ instance_id: "ci1", base_uri: `${base}/consumers/cg1/instances/ci1` });
    expect((await call("POST", "/consumers/cg1", { name: "ci1" }, V2)).status).toBe(409);
    const ci1 = "/consumers/cg1/instances/ci1";
    expect((await call("POST", `${ci1}/subscription`, { topics: ["cons"] }, V2)).status).toBe(204);
    expect((await call("GET", `${ci1}/subscription`)).json).toEqual({ topics: ["cons"] });
    const seen: number[] = [];
    for (let i = 0; i < 20 && seen.length < 6; i++) {
      const r = await call("GET", `${ci1}/records?timeout=500`);
      for (const rec of r.json as unknown as { value: { n: number } }[]) seen.push(rec.value.n);
    }
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await call("POST", `${ci1}/offsets`, undefined)).status).toBe(204);
    const groups = await call("GET", `/v3/clusters/${broker.services.clusterId}/consumer-groups/cg1/lag-summary`);
    expect(groups.json.total_lag).toBe(0);
    // A second instance in the group: the assignor splits the two partitions between them.
    await call("POST", "/consumers/cg1", { name: "ci2", format: "json" }, V2);
    const ci2 = "/consumers/cg1/instances/ci2";
    expect((await call("POST", `${ci2}/subscription`, { topics: ["cons"] }, V2)).status).toBe(204);
    const parts = async (path: string) =>
      ((await call("GET", `${path}/assignments`)).json.partitions as unknown as unknown[]).length;
    for (let i = 0; i < 40 && (await parts(ci1)) + (await parts(ci2)) !== 2 || (await parts(ci2)) === 0; i++) {
      await call("GET", `${ci1}/records?timeout=0`);
      await call("GET", `${ci2}/records?timeout=0`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([await parts(ci1), await parts(ci2)]).toEqual([1, 1]);
    expect((await call("DELETE", ci1)).status).toBe(204);
    expect((await call("DELETE", ci2)).status).toBe(204);
    expect((await call("GET", `${ci1}/records`)).status).toBe(404);
  }, 60_000);
});
