// Confluent REST Proxy: error codes, the streaming v3 produce (records that arrive together are one
// append; a bad record is answered and the stream goes on), consumer isolation, topic_pattern and
// manual assignments, seeks and committed offsets, schema-based produce, v3 broker configs and ACLs.
// Driven with fetch and curl (a real chunked upload) and read back with kafkajs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { SchemaRegistry as RegistryClient } from "@kafkajs/confluent-schema-registry";
import type { Kafka } from "kafkajs";
import { AclOperation, ResourceType } from "../../src/broker/auth/acl.ts";
import type { Broker } from "../../src/broker/broker.ts";
import { batchRecordCount } from "../../src/protocol/record_batch.ts";
import { allowAcl } from "../helpers/acls.ts";
import { httpJson, startHttpBroker } from "../helpers/http.ts";
import { consumeCount, quietKafka } from "../helpers/kafkajs.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let broker: Broker & { lines: string[] };
let base: string;
let v3: string;
let kafka: Kafka;
const call = (method: string, path: string, body?: unknown, type?: string) =>
  httpJson(method, `${base}${path}`, body, { type });
const V2 = "application/vnd.kafka.v2+json";
const JSON2 = "application/vnd.kafka.json.v2+json";
const AVRO2 = "application/vnd.kafka.avro.v2+json";
const PROTO2 = "application/vnd.kafka.protobuf.v2+json";

/** Record counts of the stored batches of a partition, in order. */
async function batchSizes(topic: string, partition = 0): Promise<number[]> {
  const log = broker.services.topics.get(topic)!.partitions[partition];
  return (await log.read(0, 1 << 20)).map((b) => batchRecordCount(b));
}

beforeAll(async () => {
  ({ broker, base } = await startHttpBroker({
    "group.initial.rebalance.delay.ms": 0,
    "group.consumer.heartbeat.interval.ms": 500,
  }));
  v3 = `/v3/clusters/${broker.services.clusterId}`;
  kafka = quietKafka(broker.port, "crest2");
});
afterAll(async () => {
  await broker.close();
});

describe("v2 produce errors in Confluent's codes", () => {
  test("an invalid topic name is 42202, a record a compacted topic refuses is 50002 in its offset", async () => {
    const bad = await call("POST", "/topics/bad%20name", { records: [{ value: 1 }] }, JSON2);
    expect(bad.status).toBe(422);
    expect(bad.json.error_code).toBe(42202);
    await call("POST", `${v3}/topics`, {
      topic_name: "v2compact",
      configs: [{ name: "cleanup.policy", value: "compact" }],
    });
    const r = await call("POST", "/topics/v2compact", { records: [{ value: { a: 1 } }] }, JSON2);
    expect(r.status).toBe(200);
    expect(r.json.offsets).toEqual([{ partition: 0, offset: null, error_code: 50002, error: expect.any(String) }]);
    const internal = await call("POST", "/topics/__consumer_offsets", { records: [{ value: 1 }] }, JSON2);
    expect([internal.status, internal.json.error_code]).toEqual([404, 40401]);
  });
});

describe("v3 streaming produce", () => {
  test("a bad base64 header is a 400 result and the stream goes on; records sent together are one batch", async () => {
    await call("POST", `${v3}/topics`, { topic_name: "v3s", partitions_count: 1 });
    const rec = (v: string, extra = "") => `{"partition_id":0,"value":{"type":"STRING","data":"${v}"}${extra}}`;
    const body = rec("a") + rec("b", ',"headers":[{"name":"h","value":"not base64!"}]') + rec("c") + "\n" + rec("d");
    const r = await call("POST", `${v3}/topics/v3s/records`, body);
    expect(r.status).toBe(200);
    const results = r.text.trim().split("\n").map((l) => JSON.parse(l));
    expect(results.map((x) => [x.error_code, x.offset])).toEqual([[200, 0], [400, undefined], [200, 1], [200, 2]]);
    expect(results[1].message).toContain("base64");
    // One request body read at once: its three good records were one append.
    expect(await batchSizes("v3s")).toEqual([3]);
    // A single bad record sent whole gets its status as the HTTP status.
    const one = await call("POST", `${v3}/topics/v3s/records`, rec("e", ',"headers":[{"name":"h","value":"%%"}]'));
    expect([one.status, one.json.error_code]).toEqual([400, 400]);
  });

  test("a group one record of which is refused goes again record by record: the others stored once each", async () => {
    await call("POST", `${v3}/topics`, {
      topic_name: "v3compact",
      partitions_count: 1,
      configs: [{ name: "cleanup.policy", value: "compact" }],
    });
    const rec = (k: string | null, v: string) =>
      `{"partition_id":0,${
        k === null ? "" : `"key":{"type":"STRING","data":"${k}"},`
      }"value":{"type":"STRING","data":"${v}"}}`;
    // One body read at once: one group; the keyless record is refused by the compacted topic (INVALID_RECORD).
    const r = await call("POST", `${v3}/topics/v3compact/records`, rec("k1", "a") + rec(null, "b") + rec("k2", "c"));
    expect(r.status).toBe(200);
    const results = r.text.trim().split("\n").map((l) => JSON.parse(l));
    expect(results.map((x) => [x.error_code, x.offset])).toEqual([[200, 0], [400, undefined], [200, 1]]);
    // The group's batch was refused whole, so each good record was appended once, alone.
    expect(await batchSizes("v3compact")).toEqual([1, 1]);
  });

  test("one partition failing on a fault of ours leaves the offsets of the records other partitions stored", async () => {
    await call("POST", `${v3}/topics`, { topic_name: "v3fault", partitions_count: 2 });
    // The fault: the second partition's record checks throw (recordCheckOptions reads this config
    // once per partition), after the first partition's append has started.
    const topics = broker.services.topics;
    const config = topics.config;
    let asked = 0;
    topics.config = function (t, name, b) {
      if (t.name === "v3fault" && name === "message.timestamp.before.max.ms" && ++asked === 2) {
        throw new Error("injected fault");
      }
      return config.call(this, t, name, b);
    };
    try {
      const rec = (p: number, v: string) => `{"partition_id":${p},"value":{"type":"STRING","data":"${v}"}}`;
      const r = await call("POST", `${v3}/topics/v3fault/records`, rec(0, "a") + rec(1, "b") + rec(0, "c"));
      expect(r.status).toBe(200);
      const results = r.text.trim().split("\n").map((l) => JSON.parse(l));
      expect(results.map((x) => [x.error_code, x.partition_id, x.offset])).toEqual([
        [200, 0, 0],
        [500, undefined, undefined],
        [200, 0, 1],
      ]);
    } finally {
      topics.config = config;
    }
    expect(asked).toBe(2);
    expect(await batchSizes("v3fault", 0)).toEqual([2]);
    expect(await batchSizes("v3fault", 1)).toEqual([]);
  });

  test("curl's chunked upload is the streaming form: one result per record", async () => {
    const rec = (v: string) => `{"partition_id":0,"value":{"type":"STRING","data":"${v}"}}\n`;
    const curl = spawn("curl", [
      "-sS",
      "-X",
      "POST",
      "-H",
      "Transfer-Encoding: chunked",
      "-H",
      "Content-Type: application/json",
      "-H",
      "Expect:",
      "-T",
      "-",
      `${base}${v3}/topics/v3s/records`,
    ]);
    let out = "";
    curl.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number>((r) => curl.on("exit", (code) => r(code ?? -1)));
    curl.stdin.end(rec("c1") + rec("c2"));
    expect(await exited).toBe(0);
    expect(out.trim().split("\n").map((l) => JSON.parse(l).offset)).toEqual([3, 4]);
  });

  test("a client that waits for each group's results gets them before it sends the next group", async () => {
    // curl cannot read answers while its upload waits on stdin, so this client speaks HTTP/1.1 chunked
    // over a socket itself: it sends two records, waits for their two results, then sends three more.
    const sizesBefore = (await batchSizes("v3s")).length;
    const url = new URL(`${base}${v3}/topics/v3s/records`);
    const rec = (v: string) => `{"partition_id":0,"value":{"type":"STRING","data":"${v}"}}\n`;
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const sock = connect(Number(url.port), "127.0.0.1");
    let got = "";
    let wake = () => {};
    sock.on("data", (d: Buffer) => {
      got += d.toString();
      wake();
    });
    const results = () => got.split("\r\n").filter((l) => l.startsWith("{"));
    const until = (n: number) =>
      new Promise<void>((resolve) => {
        wake = () => results().length >= n && resolve();
        wake();
      });
    sock.write(
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` + chunk(rec("s1") + rec("s2")),
    );
    await until(1);
    expect(got).toStartWith("HTTP/1.1 200");
    sock.write(chunk(rec("s3") + rec("s4") + rec("s5")));
    await until(2);
    sock.end("0\r\n\r\n");
    await new Promise((r) => sock.on("close", r));
    const offsets = results().flatMap((l) => l.split("\n").filter(Boolean).map((x) => JSON.parse(x).offset));
    expect(offsets).toEqual([5, 6, 7, 8, 9]);
    // Two arrivals, two appends (not one per record).
    expect((await batchSizes("v3s")).slice(sizesBefore)).toEqual([2, 3]);
  });
});

/** The first `n` values of a topic, read by kafkajs from the beginning. */
async function readValues(topic: string, n: number): Promise<Buffer[]> {
  return (await consumeCount(kafka, topic, n, `read-${topic}-${Math.random()}`)).map((r) => r.message.value!);
}

/** Reads an instance's records until `n` arrived (or 20 tries), as "partition:offset:value". */
async function readN(path: string, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 20 && seen.length < n; i++) {
    const r = await call("GET", `${path}/records?timeout=300`);
    for (const x of r.json as unknown as { partition: number; offset: number; value: unknown }[]) {
      seen.push(`${x.partition}:${x.offset}:${JSON.stringify(x.value)}`);
    }
  }
  return seen;
}

describe("v2 consumer instances", () => {
  test(
    "isolation.level: read_uncommitted (Kafka's default) sees aborted records, read_committed does not",
    async () => {
      await call("POST", `${v3}/topics`, { topic_name: "txnread", partitions_count: 1 });
      const producer = kafka.producer({ transactionalId: "rest-txn", maxInFlightRequests: 1, idempotent: true });
      await producer.connect();
      for (const [v, commit] of [["aborted", false], ["committed", true]] as const) {
        const tx = await producer.transaction();
        await tx.send({ topic: "txnread", messages: [{ value: JSON.stringify(v) }] });
        await (commit ? tx.commit() : tx.abort());
      }
      await producer.disconnect();
      const make = async (name: string, isolation?: string) => {
        const body: Record<string, unknown> = { name, format: "json", "auto.offset.reset": "earliest" };
        if (isolation) body["isolation.level"] = isolation;
        expect((await call("POST", "/consumers/iso", body, V2)).status).toBe(200);
        const path = `/consumers/iso/instances/${name}`;
        expect((await call("POST", `${path}/subscription`, { topics: ["txnread"] }, V2)).status).toBe(204);
        return path;
      };
      const dflt = await make("dflt");
      expect(await readN(dflt, 2)).toEqual(['0:0:"aborted"', '0:2:"committed"']);
      await call("DELETE", dflt);
      const rc = await make("rc", "read_committed");
      expect(await readN(rc, 1)).toEqual(['0:2:"committed"']);
      await call("DELETE", rc);
      expect((await call("POST", "/consumers/iso", { "isolation.level": "dirty" }, V2)).json.error_code).toBe(42204);
    },
    30_000,
  );

  test("topic_pattern subscribes to the topics it matches, new ones too", async () => {
    await call("POST", "/topics/pat.one", { records: [{ value: 1 }] }, JSON2);
    await call("POST", "/topics/other", { records: [{ value: 9 }] }, JSON2);
    await call("POST", "/consumers/patg", { name: "p", format: "json", "auto.offset.reset": "earliest" }, V2);
    const p = "/consumers/patg/instances/p";
    expect((await call("POST", `${p}/subscription`, { topic_pattern: "pat\\..*" }, V2)).status).toBe(204);
    expect((await call("GET", `${p}/subscription`)).json).toEqual({ topics: ["pat.one"] });
    expect(await readN(p, 1)).toEqual(["0:0:1"]);
    await call("POST", "/topics/pat.two", { records: [{ value: 2 }] }, JSON2);
    expect(await readN(p, 1)).toEqual(["0:0:2"]);
    expect((await call("GET", `${p}/subscription`)).json).toEqual({ topics: ["pat.one", "pat.two"] });
    const both = await call("POST", `${p}/subscription`, { topics: ["x"], topic_pattern: "y" }, V2);
    expect(both.json.error_code).toBe(42201);
    // A subscribed consumer cannot also assign partitions (Kafka's IllegalStateException).
    const assign = await call("POST", `${p}/assignments`, { partitions: [{ topic: "other", partition: 0 }] }, V2);
    expect([assign.status, assign.json.error_code]).toEqual([409, 40903]);
    await call("DELETE", p);
  }, 30_000);

  test("assignments, seeks (offset, beginning, end), commits and committed offsets", async () => {
    await call("POST", `${v3}/topics`, { topic_name: "seekt", partitions_count: 2 });
    await call(
      "POST",
      "/topics/seekt",
      { records: [0, 1, 2, 3, 4, 5].map((n) => ({ value: n, partition: n % 2 })) },
      JSON2,
    );
    await call("POST", "/consumers/seekg", { name: "m", format: "json", "auto.offset.reset": "earliest" }, V2);
    const m = "/consumers/seekg/instances/m";
    const noSub = await call("GET", `${m}/records`);
    expect([noSub.status, noSub.json.error_code]).toEqual([409, 40903]);
    const parts = [{ topic: "seekt", partition: 0 }, { topic: "seekt", partition: 1 }];
    expect((await call("POST", `${m}/assignments`, { partitions: parts }, V2)).status).toBe(204);
    expect((await call("GET", `${m}/assignments`)).json).toEqual({ partitions: parts });
    expect((await readN(m, 6)).sort()).toEqual(["0:0:0", "0:1:2", "0:2:4", "1:0:1", "1:1:3", "1:2:5"]);
    // Seek partition 0 to offset 1: it is read again from there.
    const seek = await call("POST", `${m}/positions`, { offsets: [{ topic: "seekt", partition: 0, offset: 1 }] }, V2);
    expect(seek.status).toBe(204);
    expect(await readN(m, 2)).toEqual(["0:1:2", "0:2:4"]);
    expect((await call("POST", `${m}/positions/beginning`, { partitions: [parts[1]] }, V2)).status).toBe(204);
    expect(await readN(m, 3)).toEqual(["1:0:1", "1:1:3", "1:2:5"]);
    expect((await call("POST", `${m}/positions/end`, { partitions: parts }, V2)).status).toBe(204);
    await call("POST", "/topics/seekt/partitions/1", { records: [{ value: 7 }] }, JSON2);
    expect(await readN(m, 1)).toEqual(["1:3:7"]);
    const unknown = await call(
      "POST",
      `${m}/positions/beginning`,
      { partitions: [{ topic: "nope", partition: 0 }] },
      V2,
    );
    expect([unknown.status, unknown.json.error_code]).toEqual([404, 40402]);
    // Commit given offsets (Confluent commits offset + 1, the next to read), then ask for them.
    const commit = await call("POST", `${m}/offsets`, { offsets: [{ topic: "seekt", partition: 0, offset: 1 }] }, V2);
    expect(commit.status).toBe(204);
    // Confluent sends the partitions as a GET body, which Bun's server drops (fetch cannot even send
    // one): without a body the answer covers the assignment.
    const committed = await call("GET", `${m}/offsets`);
    expect(committed.json).toEqual({
      offsets: [
        { topic: "seekt", partition: 0, offset: 2, metadata: "" },
        { topic: "seekt", partition: 1, offset: -1, metadata: "" },
      ],
    });
    // With no body: every position is committed.
    expect((await call("POST", `${m}/offsets`, undefined)).status).toBe(204);
    const all = await call("GET", `${m}/offsets`);
    expect((all.json.offsets as { offset: number }[]).map((o) => o.offset)).toEqual([3, 4]);
    // Kafka's admin client sees the same committed offsets.
    const admin = kafka.admin();
    await admin.connect();
    const fetched = await admin.fetchOffsets({ groupId: "seekg", topics: ["seekt"] });
    await admin.disconnect();
    expect(fetched[0].partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([[0, "3"], [1, "4"]]);
    expect((await call("DELETE", m)).status).toBe(204);
  }, 30_000);
});

describe("schema-based produce", () => {
  const proto = `syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  string item = 2;
  repeated Line lines = 3;
  Status status = 4;
  map<string, int32> tags = 5;
  sint32 delta = 6;
  double price = 7;
  bytes blob = 8;
  message Line { string sku = 1; uint32 qty = 2; }
  enum Status { NEW = 0; PAID = 1; }
}`;
  const order = {
    id: "9007199254740993",
    item: "book",
    lines: [{ sku: "a", qty: 2 }, { sku: "b", qty: 1 }],
    status: "PAID",
    tags: { x: 1 },
    delta: -3,
    price: 9.5,
    blob: btoa("hi"),
  };

  test("v2 protobuf: inline value_schema, then value_schema_id; decoded by the Confluent client", async () => {
    const r = await call("POST", "/topics/v2proto", { value_schema: proto, records: [{ value: order }] }, PROTO2);
    expect(r.status).toBe(200);
    const id = r.json.value_schema_id as number;
    expect(id).toBeGreaterThan(0);
    const again = await call("POST", "/topics/v2proto", {
      value_schema_id: id,
      records: [{ value: { item: "pen", status: 0 } }],
    }, PROTO2);
    expect(again.json.offsets).toEqual([{ partition: 0, offset: 1, error_code: null, error: null }]);
    const bad = await call(
      "POST",
      "/topics/v2proto",
      { value_schema_id: id, records: [{ value: { nope: 1 } }] },
      PROTO2,
    );
    expect([bad.status, bad.json.error_code]).toEqual([422, 42203]);
    const registry = new RegistryClient({ host: base });
    const [m1, m2] = await readValues("v2proto", 2);
    const d1 = await registry.decode(m1) as Record<string, unknown>;
    expect(String(d1.id)).toBe("9007199254740993");
    expect(d1).toMatchObject({ item: "book", status: 1, tags: { x: 1 }, delta: -3, price: 9.5 });
    expect(d1.lines).toEqual([{ sku: "a", qty: 2 }, { sku: "b", qty: 1 }]);
    expect(Buffer.from(d1.blob as Uint8Array).toString()).toBe("hi");
    expect(await registry.decode(m2)).toMatchObject({ item: "pen" });
    // A REST consumer instance in the protobuf format reads them as protobuf's JSON mapping.
    await call("POST", "/consumers/protog", { name: "p", format: "protobuf", "auto.offset.reset": "earliest" }, V2);
    await call("POST", "/consumers/protog/instances/p/subscription", { topics: ["v2proto"] }, V2);
    const read = await readN("/consumers/protog/instances/p", 2);
    expect(read.map((l) => JSON.parse(l.slice(l.indexOf(":", 2) + 1)))).toEqual([
      { ...order, tags: { x: 1 } },
      { item: "pen", status: "NEW" },
    ]);
    await call("DELETE", "/consumers/protog/instances/p");
  }, 30_000);

  test("v3: schema_id, an inline schema, and the subject's latest version; errors are 400 results", async () => {
    const avro = JSON.stringify({ type: "record", name: "Ping", fields: [{ name: "n", type: "int" }] });
    const reg = await call("POST", "/subjects/v3schema-value/versions", { schema: avro }, "application/json");
    const id = reg.json.id as number;
    const recs = `${v3}/topics/v3schema/records`;
    await call("POST", `${v3}/topics`, { topic_name: "v3schema", partitions_count: 1 });
    const byId = await call("POST", recs, { value: { schema_id: id, data: { n: 1 } } });
    expect(byId.json).toMatchObject({ error_code: 200, offset: 0, value: { type: "AVRO", schema_id: id } });
    const latest = await call("POST", recs, { value: { type: "AVRO", data: { n: 2 } } });
    expect(latest.json).toMatchObject({ error_code: 200, offset: 1, value: { schema_id: id } });
    const bySubject = await call("POST", recs, {
      value: { subject: "v3schema-value", schema_version: 1, data: { n: 3 } },
    });
    expect(bySubject.json).toMatchObject({ error_code: 200, offset: 2 });
    const keySchema = '{"type":"object","properties":{"k":{"type":"string"}}}';
    const inline = await call("POST", recs, {
      key: { type: "JSONSCHEMA", schema: keySchema, data: { k: "x" } },
      value: { schema_id: id, data: { n: 4 } },
    });
    expect(inline.json).toMatchObject({ error_code: 200, key: { type: "JSONSCHEMA" } });
    expect((await call("GET", "/subjects")).json).toEqual(expect.arrayContaining(["v3schema-key"]));
    // RECORD_NAME / TOPIC_RECORD_NAME: the subject is the record's full name (prefixed with the topic).
    const named = JSON.stringify({
      type: "record",
      name: "Pong",
      namespace: "net",
      fields: [{ name: "n", type: "int" }],
    });
    for (const [strategy, subject] of [["RECORD_NAME", "net.Pong"], ["TOPIC_RECORD_NAME", "v3schema-net.Pong"]]) {
      const r = await call("POST", recs, {
        value: { type: "AVRO", schema: named, subject_name_strategy: strategy, data: { n: 5 } },
      });
      expect(r.json).toMatchObject({ error_code: 200, value: { type: "AVRO" } });
      expect<unknown>((await call("GET", `/subjects/${subject}/versions`)).json).toEqual([1]);
    }
    const noName = await call("POST", recs, {
      value: { schema_id: id, subject_name_strategy: "RECORD_NAME", data: { n: 6 } },
    });
    expect(noName.json.error_code).toBe(200); // a schema_id needs no subject
    const misfit = await call("POST", recs, { value: { schema_id: id, data: { n: "no" } } });
    expect(misfit.status).toBe(400);
    const noSubject = await call("POST", recs, { value: { subject: "missing-value", data: {} } });
    expect(noSubject.status).toBe(404);
    // Records sent together with the same inline schema register it once.
    const reg0 = broker.services.registry;
    const register = reg0.register.bind(reg0);
    let registrations = 0;
    reg0.register = (...a: Parameters<typeof register>) => (registrations++, register(...a));
    const together = JSON.stringify({ value: { type: "AVRO", schema: named, subject_name_strategy: "RECORD_NAME" } });
    const group = await call(
      "POST",
      recs,
      [7, 8, 9].map((n) => together.replace(/}}$/, `,"data":{"n":${n}}}}`)).join(""),
    );
    reg0.register = register;
    expect(group.text.trim().split("\n").map((l) => JSON.parse(l).error_code)).toEqual([200, 200, 200]);
    expect(registrations).toBe(1);
    const registry = new RegistryClient({ host: base });
    const values = await readValues("v3schema", 7);
    expect(await Promise.all(values.map((v) => registry.decode(v)))).toEqual([1, 2, 3, 4, 5, 5, 6].map((n) => ({ n })));
  }, 30_000);

  test("schema references end to end: a record referencing another subject's type, produced and decoded", async () => {
    const address = JSON.stringify({
      type: "record",
      name: "Address",
      namespace: "com.acme",
      fields: [{ name: "city", type: "string" }],
    });
    expect((await call("POST", "/subjects/address/versions", { schema: address })).status).toBe(200);
    const customer = JSON.stringify({
      type: "record",
      name: "Customer",
      namespace: "com.acme",
      fields: [{ name: "name", type: "string" }, { name: "address", type: "com.acme.Address" }],
    });
    const reg = await call("POST", "/subjects/refs-value/versions", {
      schema: customer,
      references: [{ name: "com.acme.Address", subject: "address", version: 1 }],
    });
    expect(reg.status).toBe(200);
    const id = reg.json.id as number;
    const value = { name: "Ada", address: { city: "London" } };
    const v2 = await call("POST", "/topics/refs", { value_schema_id: id, records: [{ value }] }, AVRO2);
    expect(v2.json.offsets).toEqual([{ partition: 0, offset: 0, error_code: null, error: null }]);
    await call("POST", `${v3}/topics/refs/records`, { value: { schema_id: id, data: value } });
    // The Confluent client fetches the schema and its reference to decode.
    const registry = new RegistryClient({ host: base });
    const [a, b] = await readValues("refs", 2);
    expect(await registry.decode(a)).toEqual(value);
    expect(await registry.decode(b)).toEqual(value);
    // And a REST consumer instance in the avro format decodes it too.
    await call("POST", "/consumers/refsg", { name: "r", format: "avro", "auto.offset.reset": "earliest" }, V2);
    await call("POST", "/consumers/refsg/instances/r/subscription", { topics: ["refs"] }, V2);
    expect(await readN("/consumers/refsg/instances/r", 2)).toEqual([
      `0:0:${JSON.stringify(value)}`,
      `0:1:${JSON.stringify(value)}`,
    ]);
    await call("DELETE", "/consumers/refsg/instances/r");
  }, 30_000);
});

describe("v3 broker configs and ACLs", () => {
  test("broker configs: per broker and cluster-wide, as DescribeConfigs shows them to kafkajs", async () => {
    const id = broker.services.config.nodeId;
    const perBroker = await call("GET", `${v3}/brokers/${id}/configs`);
    expect(perBroker.json.kind).toBe("KafkaBrokerConfigList");
    const byName = new Map(perBroker.json.data!.map((x) => [x.name as string, x]));
    expect(byName.get("num.partitions")).toMatchObject({
      kind: "KafkaBrokerConfig",
      broker_id: id,
      value: "1",
      is_default: true,
      is_sensitive: false,
      source: "DEFAULT_CONFIG",
    });
    const cluster = await call("GET", `${v3}/broker-configs`);
    expect(cluster.json.kind).toBe("KafkaClusterConfigList");
    expect(cluster.json.data!.find((x) => x.name === "num.partitions")).toMatchObject({ kind: "KafkaClusterConfig" });
    const admin = kafka.admin();
    await admin.connect();
    const described = await admin.describeConfigs({
      resources: [{ type: 4, name: String(id), configNames: ["log.retention.ms", "num.partitions"] }],
      includeSynonyms: false,
    });
    await admin.disconnect();
    for (const e of described.resources[0].configEntries) {
      expect(byName.get(e.configName)?.value).toBe(e.configValue);
    }
    expect((await call("GET", `${v3}/brokers/99/configs`)).status).toBe(404);
  });

  test("broker configs: set, alter and reset per broker and cluster-wide, as kafkajs sees them", async () => {
    const id = broker.services.config.nodeId;
    const admin = kafka.admin();
    await admin.connect();
    const kafkaView = async () =>
      (await admin.describeConfigs({
        resources: [{ type: 4, name: String(id), configNames: ["log.retention.ms"] }],
        includeSynonyms: false,
      })).resources[0].configEntries[0].configValue;
    const one = async (path: string) => (await call("GET", `${v3}${path}/log.retention.ms`)).json;
    expect((await call("PUT", `${v3}/broker-configs/log.retention.ms`, { value: "3600000" })).status).toBe(204);
    expect(await one("/broker-configs")).toMatchObject({ value: "3600000", source: "DYNAMIC_DEFAULT_BROKER_CONFIG" });
    expect(await kafkaView()).toBe("3600000");
    const alter = await call("POST", `${v3}/brokers/${id}/configs:alter`, {
      data: [{ name: "log.retention.ms", value: "7200000" }],
    });
    expect(alter.status).toBe(204);
    expect(await one(`/brokers/${id}/configs`)).toMatchObject({ value: "7200000", source: "DYNAMIC_BROKER_CONFIG" });
    expect(await kafkaView()).toBe("7200000");
    expect((await call("DELETE", `${v3}/brokers/${id}/configs/log.retention.ms`)).status).toBe(204);
    expect(await kafkaView()).toBe("3600000");
    const reset = await call("POST", `${v3}/broker-configs:alter`, {
      data: [{ name: "log.retention.ms", operation: "DELETE" }],
    });
    expect(reset.status).toBe(204);
    // Kafka's default for log.retention.ms is null (log.retention.hours rules).
    expect(await one("/broker-configs")).toMatchObject({ value: null, is_default: true, config_type: "BROKER" });
    expect(await kafkaView()).toBeNull();
    await admin.disconnect();
    const bad = await call("PUT", `${v3}/broker-configs/log.retention.ms`, { value: "soon" });
    expect(bad.status).toBe(400);
    expect((await call("PUT", `${v3}/brokers/99/configs/log.retention.ms`, { value: "1" })).status).toBe(404);
    expect((await call("GET", `/v3/clusters/nope/broker-configs`)).status).toBe(404);
  });

  test("ACLs: without an authorizer 400; with one, create, list and delete, seen by kafkajs", async () => {
    const none = await call("GET", `${v3}/acls`);
    expect([none.status, none.json.message]).toEqual([400, "No Authorizer is configured."]);
    const { broker: secured, base: sbase } = await startHttpBroker({
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "super.users": "User:ANONYMOUS",
    });
    try {
      const acls = `${sbase}/v3/clusters/${secured.services.clusterId}/acls`;
      const send = (method: string, url: string, body?: unknown) =>
        fetch(url, {
          method,
          headers: { "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const acl = {
        resource_type: "TOPIC",
        resource_name: "orders",
        pattern_type: "PREFIXED",
        principal: "User:alice",
        host: "*",
        operation: "READ",
        permission: "ALLOW",
      };
      expect((await send("POST", acls, acl)).status).toBe(201);
      expect((await send("POST", acls, { ...acl, operation: "WRITE", permission: "DENY" })).status).toBe(201);
      const bad = await send("POST", acls, { ...acl, operation: "FLY" });
      expect(bad.status).toBe(400);
      const listed = await (await send("GET", `${acls}?principal=User:alice&operation=READ`)).json() as {
        data: Record<string, unknown>[];
      };
      expect(listed.data).toEqual([{
        kind: "KafkaAcl",
        metadata: expect.any(Object),
        cluster_id: expect.any(String),
        ...acl,
      }]);
      const admin = quietKafka(secured.port).admin();
      await admin.connect();
      const seen = await admin.describeAcls({
        resourceType: 1, // ANY
        resourcePatternType: 1,
        operation: 1,
        permissionType: 1,
      });
      expect(seen.resources.flatMap((r) => r.acls).length).toBe(2);
      const deleted = await (await send("DELETE", `${acls}?resource_type=TOPIC&operation=WRITE`)).json() as {
        data: Record<string, unknown>[];
      };
      expect(deleted.data.map((x) => [x.operation, x.permission])).toEqual([["WRITE", "DENY"]]);
      const after = await admin.describeAcls({
        resourceType: 1,
        resourcePatternType: 1,
        operation: 1,
        permissionType: 1,
      });
      await admin.disconnect();
      expect(after.resources.flatMap((r) => r.acls).map((a) => a.operation)).toEqual([3]); // READ
    } finally {
      await secured.close();
    }
  }, 30_000);
});

describe("console", () => {
  test("resetting a group's offsets by timestamp never goes below the log start (as ListOffsets)", async () => {
    await call("POST", `${v3}/topics`, { topic_name: "tsreset", partitions_count: 1 });
    const records = [0, 1, 2, 3].map((n) => ({ value: n, timestamp: 1000 + n }));
    expect((await call("POST", "/v1/topics/tsreset/records", { records })).status).toBe(200);
    const admin = kafka.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: ["tsreset"] });
    await admin.deleteTopicRecords({ topic: "tsreset", partitions: [{ partition: 0, offset: "2" }] });
    const reset = await call("POST", "/ui/api/groups/tsg/offsets", { topic: "tsreset", to: "timestamp", value: "0" });
    expect(reset.status).toBe(200);
    const [fetched] = await admin.fetchOffsets({ groupId: "tsg", topics: ["tsreset"] });
    // And the message browser's offset-for-timestamp agrees with Kafka's ListOffsets.
    const browse = await call("GET", "/ui/api/topics/tsreset/partitions/0/offset?timestamp=0");
    const [listed] = await admin.fetchTopicOffsetsByTimestamp("tsreset", 0);
    await admin.disconnect();
    expect(fetched.partitions[0].offset).toBe("2");
    expect(browse.json.offset).toBe(2);
    expect(listed.offset).toBe("2");
  });
});

describe("console changes are authorized as the Kafka APIs", () => {
  test("ACLs and users need ALTER on the cluster, quotas ALTER_CONFIGS", async () => {
    const { broker: secured, base: sbase } = await startHttpBroker({
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "super.users": "User:admin",
    });
    try {
      const send = (method: string, path: string, body: unknown) =>
        fetch(`${sbase}${path}`, {
          method,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const acl = {
        resource_type: "TOPIC",
        resource_name: "t",
        pattern_type: "LITERAL",
        principal: "User:bob",
        host: "*",
        operation: "READ",
        permission: "ALLOW",
      };
      const user = { name: "eve", password: "pw", mechanism: "SCRAM-SHA-256" };
      const quota = { entityType: "user", entityName: "bob", key: "producer_byte_rate", value: "100" };
      expect((await send("POST", "/ui/api/acls", acl)).status).toBe(403);
      expect((await send("POST", "/ui/api/users", user)).status).toBe(403);
      expect((await send("POST", "/ui/api/quotas", quota)).status).toBe(403);
      // ALTER on the cluster (what CreateAcls and AlterUserScramCredentials need), not ALTER_CONFIGS.
      await secured.services.acls.create([
        allowAcl("User:ANONYMOUS", AclOperation.ALTER, ResourceType.CLUSTER, "kafka-cluster"),
      ]);
      expect((await send("POST", "/ui/api/acls", acl)).status).toBe(200);
      expect((await send("POST", "/ui/api/users", user)).status).toBe(200);
      expect((await send("POST", "/ui/api/quotas", quota)).status).toBe(403);
      expect((await send("DELETE", "/ui/api/acls", acl)).status).toBe(200);
      expect(secured.services.acls.list().map((b) => b.principal)).toEqual(["User:ANONYMOUS"]);
    } finally {
      await secured.close();
    }
  });
});
