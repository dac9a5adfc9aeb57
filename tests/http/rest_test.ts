// The REST produce/consume proxy: JSON and binary records over HTTP, read back over HTTP and with
// kafkajs (keyed records where kafkajs' murmur2 partitioner puts them), kafkajs records read over
// HTTP, long polls, read_committed, errors; in process and under Deno and Node.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Kafka, Partitioners } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { AclOperation, ResourceType } from "../../src/broker/auth/acl.ts";
import { allowAcl } from "../helpers/acls.ts";
import { httpBase, startHttpBroker } from "../helpers/http.ts";
import { createTopics, quietKafka } from "../helpers/kafkajs.ts";
import type { BrokerProcess } from "../e2e/harness.ts";
import { startBrokerProcess } from "../e2e/harness.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let broker: Broker & { lines: string[] };
let base: string;
let kafka: Kafka;
beforeAll(async () => {
  ({ broker, base } = await startHttpBroker({ "group.initial.rebalance.delay.ms": 0 }));
  kafka = quietKafka(broker.port, "rest-test");
  await createTopics(kafka, [
    { topic: "rest", numPartitions: 4 },
    { topic: "rest-kjs", numPartitions: 3 },
    { topic: "rest-txn", numPartitions: 1 },
    { topic: "rest-poll", numPartitions: 1 },
  ]);
});
afterAll(async () => {
  await broker.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const b64 = (s: string) => btoa(s);

type Rec = {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: unknown;
  value: unknown;
  headers: Record<string, string | null>;
};
async function readAll(topic: string, partition: number, query = ""): Promise<Rec[]> {
  const r = await fetch(`${base}/v1/topics/${topic}/partitions/${partition}/records?offset=0${query}`);
  expect(r.status).toBe(200);
  return (await r.json()).records;
}

/** kafkajs' DefaultPartitioner (murmur2, Java-compatible) for a key, over n partitions. */
function kafkajsPartition(key: string, n: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  return partitioner({
    topic: "t",
    partitionMetadata: Array.from({ length: n }, (_, i) => ({
      partitionId: i,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    })),
    message: { key, value: null },
  });
}

describe("REST proxy", () => {
  test("produce JSON and binary records; read them over HTTP and with kafkajs", async () => {
    const keys = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];
    const r = await post("/v1/topics/rest/records", {
      records: [
        ...keys.map((k, i) => ({ key: k, value: { n: i, k }, headers: { source: "rest", i: String(i) } })),
        { key: null, value: [1, 2, 3], partition: 2 },
      ],
    });
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.offsets).toHaveLength(7);
    for (const [i, k] of keys.entries()) {
      // JSON keys are stored as JSON text: the Kafka key of "alpha" is the 7 bytes "alpha" in quotes.
      expect(body.offsets[i]).toMatchObject({
        partition: kafkajsPartition(JSON.stringify(k), 4),
        error_code: null,
        error: null,
      });
    }
    expect(body.offsets[6]).toMatchObject({ partition: 2 });

    // A binary value is no JSON: keep it out of the partition read back as JSON below.
    const binKey = ["bin-key", "bin-key-2", "bin-key-3", "bin-key-4", "bin-key-5"].find((k) =>
      kafkajsPartition(k, 4) !== body.offsets[0].partition
    )!;
    const bin = await post("/v1/topics/rest/records", {
      format: "binary",
      records: [{ key: b64(binKey), value: b64("\u0000\u0001\u00ff"), headers: { h: b64("hv") } }],
    });
    expect(bin.status).toBe(200);
    const binOffset = (await bin.json()).offsets[0];
    expect(binOffset.partition).toBe(kafkajsPartition(binKey, 4));

    // Over HTTP: JSON format gives the values back as JSON.
    const p = body.offsets[0].partition;
    const recs = await readAll("rest", p);
    const alpha = recs.find((x) => x.key === "alpha")!;
    expect(alpha).toMatchObject({
      topic: "rest",
      partition: p,
      offset: body.offsets[0].offset,
      value: { n: 0, k: "alpha" },
      headers: { source: "rest", i: "0" },
    });
    expect(typeof alpha.timestamp).toBe("number");
    const binRecs = await readAll("rest", binOffset.partition, "&format=binary");
    const b = binRecs.find((x) => x.offset === binOffset.offset)!;
    expect(b).toMatchObject({ key: b64(binKey), value: b64("\u0000\u0001\u00ff"), headers: { h: b64("hv") } });

    // With kafkajs: same keys, values, headers, partitions.
    const consumer = kafka.consumer({ groupId: "rest-reader" });
    await consumer.connect();
    await consumer.subscribe({ topic: "rest", fromBeginning: true });
    const seen: {
      partition: number;
      offset: string;
      key: string | null;
      value: Buffer | null;
      headers: Record<string, unknown>;
    }[] = [];
    await new Promise<void>((resolve) => {
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.push({
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            value: message.value,
            headers: message.headers ?? {},
          });
          if (seen.length === 8) resolve();
        },
      });
    });
    await consumer.disconnect();
    for (const [i, k] of keys.entries()) {
      const m = seen.find((s) => s.key === JSON.stringify(k))!;
      expect(m.partition).toBe(body.offsets[i].partition);
      expect(Number(m.offset)).toBe(body.offsets[i].offset);
      expect(JSON.parse(m.value!.toString())).toEqual({ n: i, k });
      expect(String(m.headers.source)).toBe("rest");
    }
    const nullKey = seen.find((s) => s.key === null)!;
    expect(nullKey.partition).toBe(2);
    expect(nullKey.value!.toString()).toBe("[1,2,3]");
    const bm = seen.find((s) => s.key === binKey)!;
    expect([...bm.value!]).toEqual([0, 1, 255]);
    expect(String(bm.headers.h)).toBe("hv");
  }, 30_000);

  test("records produced with kafkajs read over HTTP; partitions agree with kafkajs' partitioner", async () => {
    const producer = kafka.producer();
    await producer.connect();
    const keys = Array.from({ length: 12 }, (_, i) => `user-${i}`);
    const sent = await producer.send({
      topic: "rest-kjs",
      messages: keys.map((k) => ({ key: k, value: `v-${k}`, headers: { trace: `t-${k}` } })),
    });
    await producer.disconnect();
    expect(sent.length).toBeGreaterThan(0);
    // The same keys over REST (string format: the key bytes are the string) land in the same partitions.
    const r = await post("/v1/topics/rest-kjs/records", {
      format: "string",
      records: keys.map((k) => ({ key: k, value: `rest-${k}` })),
    });
    const offsets = (await r.json()).offsets;
    const all: Rec[] = [];
    for (let p = 0; p < 3; p++) all.push(...(await readAll("rest-kjs", p, "&format=string")));
    expect(all).toHaveLength(24);
    for (const [i, k] of keys.entries()) {
      const fromKjs = all.find((x) => x.value === `v-${k}`)!;
      const fromRest = all.find((x) => x.value === `rest-${k}`)!;
      expect(fromKjs).toMatchObject({ key: k, headers: { trace: `t-${k}` } });
      expect(fromRest.partition).toBe(fromKjs.partition);
      expect(offsets[i].partition).toBe(fromKjs.partition);
    }
    // kafkajs' plain-text values are not JSON: format=json says so.
    const bad = await fetch(`${base}/v1/topics/rest-kjs/partitions/0/records?offset=0&format=json`);
    if (all.some((x) => x.partition === 0)) expect(bad.status).toBe(422);
  }, 30_000);

  test("a long poll is woken by a produce; max_bytes and next_offset page through", async () => {
    const t0 = Date.now();
    const poll = fetch(`${base}/v1/topics/rest-poll/partitions/0/records?timeout_ms=10000`).then((r) => r.json());
    await Bun.sleep(200);
    const kp = kafka.producer();
    await kp.connect();
    await kp.send({
      topic: "rest-poll",
      messages: [{ key: JSON.stringify("k"), value: JSON.stringify({ woke: true }) }],
    });
    await kp.disconnect();
    const got = await poll;
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(got.records).toHaveLength(1);
    expect(got.records[0]).toMatchObject({ offset: 0, key: "k", value: { woke: true } });
    expect(got.next_offset).toBe(1);
    // An empty poll times out with nothing.
    const t1 = Date.now();
    const empty = await (await fetch(`${base}/v1/topics/rest-poll/partitions/0/records?offset=1&timeout_ms=300`))
      .json();
    expect(empty.records).toEqual([]);
    expect(empty.next_offset).toBe(1);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(250);
    // Paging: one batch per small read.
    for (let i = 0; i < 3; i++) await post("/v1/topics/rest-poll/records", { records: [{ value: i }] });
    let offset = 1;
    const values = [];
    for (let i = 0; i < 3; i++) {
      const page = await (await fetch(`${base}/v1/topics/rest-poll/partitions/0/records?offset=${offset}&max_bytes=1`))
        .json();
      expect(page.records).toHaveLength(1);
      values.push(page.records[0].value);
      offset = page.next_offset;
    }
    expect(values).toEqual([0, 1, 2]);
    expect(offset).toBe(4);
    const parts = await (await fetch(`${base}/v1/topics/rest-poll/partitions`)).json();
    expect(parts).toEqual([{ partition: 0, logStartOffset: 0, logEndOffset: 4, sizeBytes: expect.any(Number) }]);
  }, 30_000);

  test("read_committed hides an aborted kafkajs transaction and data past the last stable offset", async () => {
    const producer = kafka.producer({ transactionalId: "rest-txn-app", idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic: "rest-txn", messages: [{ value: '"committed"' }] });
    await t1.commit();
    const t2 = await producer.transaction();
    await t2.send({ topic: "rest-txn", messages: [{ value: '"aborted"' }] });
    await t2.abort();
    const t3 = await producer.transaction();
    await t3.send({ topic: "rest-txn", messages: [{ value: '"open"' }] });
    const committed = await (await fetch(`${base}/v1/topics/rest-txn/partitions/0/records?isolation=read_committed`))
      .json();
    expect(committed.records.map((r: Rec) => r.value)).toEqual(["committed"]);
    expect(committed.last_stable_offset).toBeLessThan(committed.high_watermark);
    const uncommitted = await readAll("rest-txn", 0);
    expect(uncommitted.map((r) => r.value)).toEqual(["committed", "aborted", "open"]);
    // A read_committed long poll is woken by the commit.
    const poll = fetch(
      `${base}/v1/topics/rest-txn/partitions/0/records?isolation=read_committed&offset=${committed.next_offset}&timeout_ms=10000`,
    ).then((r) => r.json());
    await Bun.sleep(200);
    await t3.commit();
    const after = await poll;
    expect(after.records.map((r: Rec) => r.value)).toEqual(["open"]);
    await producer.disconnect();
  }, 30_000);

  test("errors", async () => {
    const bad = await post("/v1/topics/rest/records", "{not json");
    expect(bad.status).toBe(400);
    expect((await bad.json()).error_code).toBe(40001);
    const shape = await post("/v1/topics/rest/records", { records: [{ value: "x", partition: "one" }] });
    expect(shape.status).toBe(422);
    const b64bad = await post("/v1/topics/rest/records", { format: "binary", records: [{ value: "%%%" }] });
    expect(b64bad.status).toBe(422);
    const part = await post("/v1/topics/rest/records", { records: [{ value: 1, partition: 9 }] });
    expect(part.status).toBe(404);
    expect(await part.json()).toMatchObject({ error_code: 40402, error: "UNKNOWN_TOPIC_OR_PARTITION" });
    const big = await post("/v1/topics/rest/records", { records: [{ value: "x".repeat(1_100_000) }] });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error_code: 41301, error: "MESSAGE_TOO_LARGE" });
    expect((await fetch(`${base}/v1/topics/nope/partitions/0/records`)).status).toBe(404);
    const noPart = await fetch(`${base}/v1/topics/rest/partitions/7/records`);
    expect(noPart.status).toBe(404);
    expect((await noPart.json()).error_code).toBe(40402);
    const range = await fetch(`${base}/v1/topics/rest-poll/partitions/0/records?offset=99`);
    expect(range.status).toBe(416);
    expect(await range.json()).toMatchObject({
      error_code: 41601,
      error: "OFFSET_OUT_OF_RANGE",
      log_start_offset: 0,
      log_end_offset: 4,
    });
    expect((await fetch(`${base}/v1/topics/rest/partitions/0/records?format=avro`)).status).toBe(422);
    expect((await fetch(`${base}/v1/topics/missing/partitions`)).status).toBe(404);
    // Producing to a new topic auto-creates it (auto.create.topics.enable), as Metadata does.
    const created = await post("/v1/topics/rest-auto/records?acks=all", { records: [{ key: 1, value: 2 }] });
    expect(created.status).toBe(200);
    expect((await created.json()).offsets[0]).toMatchObject({ partition: 0, offset: 0, error_code: null });
    const internal = await post("/v1/topics/__consumer_offsets/records", { records: [{ value: 1 }] });
    expect(internal.status).toBe(404);
  }, 30_000);
});

describe("REST proxy with ACLs", () => {
  test("acts as User:ANONYMOUS: refused without a binding, allowed with one", async () => {
    const { broker: b, base: url } = await startHttpBroker({
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    });
    try {
      const send = () =>
        fetch(`${url}/v1/topics/guarded/records`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ records: [{ value: 1 }] }),
        });
      const denied = await send();
      expect(denied.status).toBe(403);
      expect(await denied.json()).toMatchObject({ error_code: 40301, error: "TOPIC_AUTHORIZATION_FAILED" });
      expect((await fetch(`${url}/v1/topics/guarded/partitions/0/records`)).status).toBe(403); // before existence
      const bind = (resourceType: number, resourceName: string, operation: number) =>
        allowAcl("User:ANONYMOUS", operation, resourceType, resourceName);
      expect(
        await b.services.acls.create([
          bind(ResourceType.CLUSTER, "kafka-cluster", AclOperation.CREATE),
          bind(ResourceType.TOPIC, "guarded", AclOperation.WRITE),
          bind(ResourceType.TOPIC, "guarded", AclOperation.READ),
        ]),
      ).toEqual([null, null, null]);
      expect((await send()).status).toBe(200);
      const read = await (await fetch(`${url}/v1/topics/guarded/partitions/0/records`)).json();
      expect(read.records.map((r: Rec) => r.value)).toEqual([1]);
    } finally {
      await b.close();
    }
  }, 30_000);
});

for (const kind of ["deno", "node"] as const) {
  describe(`${kind} broker, REST proxy`, () => {
    let b: BrokerProcess;
    beforeAll(async () => {
      b = await startBrokerProcess(kind, ["--http-port", "0"]);
    }, 120_000);
    afterAll(async () => {
      expect(await b.stop()).toBe(0);
    }, 20_000);

    test("produce and long-poll read over HTTP", async () => {
      const url = await httpBase(() => b.logs());
      // The first produce auto-creates the topic; a long poll from offset 1 is woken by the second.
      const first = await fetch(`${url}/v1/topics/rt/records`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ records: [{ key: "k0", value: 0 }] }),
      });
      expect((await first.json()).offsets).toEqual([{ partition: 0, offset: 0, error_code: null, error: null }]);
      const poll = fetch(`${url}/v1/topics/rt/partitions/0/records?offset=1&timeout_ms=10000`);
      await Bun.sleep(100);
      const r = await fetch(`${url}/v1/topics/rt/records?acks=all`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ records: [{ key: "k", value: { on: kind }, headers: { h: "v" } }] }),
      });
      expect(r.status).toBe(200);
      expect((await r.json()).offsets).toEqual([{ partition: 0, offset: 1, error_code: null, error: null }]);
      const got = await (await poll).json();
      expect(got.records).toEqual([{
        topic: "rt",
        partition: 0,
        offset: 1,
        timestamp: expect.any(Number),
        key: "k",
        value: { on: kind },
        headers: { h: "v" },
      }]);
      expect(got.next_offset).toBe(2);
    }, 30_000);

    test("v3 streaming produce: one result per record, a bad one answered in place", async () => {
      const url = await httpBase(() => b.logs());
      const cluster = (await (await fetch(`${url}/v3/clusters`)).json()).data[0].cluster_id;
      const rec = (v: string, extra = "") => `{"value":{"type":"STRING","data":"${v}"}${extra}}\n`;
      const r = await fetch(`${url}/v3/clusters/${cluster}/topics/rt/records`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: rec("a") + rec("b", ',"headers":[{"name":"h","value":"%"}]') + rec("c"),
      });
      expect(r.status).toBe(200);
      const results = (await r.text()).trim().split("\n").map((l) => JSON.parse(l));
      expect(results.map((x) => [x.error_code, x.offset])).toEqual([[200, 2], [400, undefined], [200, 3]]);
    }, 30_000);
  });
}
