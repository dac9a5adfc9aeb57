// Client quotas over the wire: throttleTimeMs in responses and KIP-219 muting of the connection.
// The broker runs with quota.window.num=2 (a 1 s minimum window), so a burst is measured over 1 s.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { AlterClientQuotas } from "../../src/protocol/messages/49_alter_client_quotas.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { recordBytes } from "../helpers/read.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

let broker: Broker;
let admin: WireClient;
const open: WireClient[] = [];

async function client(): Promise<WireClient> {
  const c = await WireClient.connect(broker.port);
  open.push(c);
  return c;
}

/** One batch whose value is `size` bytes. */
const batch = (size: number) =>
  buildRecordBatch({ records: [{ key: null, value: new Uint8Array(size).fill(7), timestamp: Date.now() }] });

function produce(c: WireClient, clientId: string, topic: string, size: number) {
  return c.send(Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: 0, records: batch(size) }] }],
  }, clientId);
}

function fetch(c: WireClient, clientId: string, topic: string, offset: bigint, maxBytes = 1 << 20) {
  return c.send(Fetch, 12, {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{
      topic,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition: 0,
        currentLeaderEpoch: -1,
        fetchOffset: offset,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 1 << 20,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        highWatermark: 9223372036854775807n,
      }],
    }],
    forgottenTopicsData: [],
    rackId: "",
  }, clientId);
}

const metadata = (c: WireClient, clientId: string) =>
  c.send(
    Metadata,
    12,
    {
      topics: [],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    },
    clientId,
  );

async function setQuota(entity: [string, string | null][], key: string, value: number | null) {
  const r = await admin.send(AlterClientQuotas, 1, {
    entries: [{
      entity: entity.map(([entityType, entityName]) => ({ entityType, entityName })),
      ops: [{ key, value: value ?? 0, remove: value === null }],
    }],
    validateOnly: false,
  }, "admin");
  expect(r.entries![0].errorCode).toBe(0);
}

async function createTopic(name: string) {
  const r = await admin.send(CreateTopics, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  }, "admin");
  expect(r.topics![0].errorCode).toBe(0);
}

/** Sends `next` right after `first` answers; returns the first response and ms until the next one. */
async function gap<T, U>(first: Promise<T>, next: () => Promise<U>): Promise<{ first: T; next: U; ms: number }> {
  const f = await first;
  const t0 = performance.now();
  const n = await next();
  return { first: f, next: n, ms: performance.now() - t0 };
}

/** The offset after the last batch in `records` (v2 batches: base offset, last offset delta at 23). */
function nextOffset(records: Uint8Array, from: bigint): bigint {
  const v = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let next = from;
  for (let pos = 0; pos + 61 <= records.length; pos += 12 + v.getInt32(pos + 8)) {
    next = v.getBigInt64(pos) + BigInt(v.getInt32(pos + 23)) + 1n;
  }
  return next;
}

// A timer may fire a little early on some runtimes; the broker mutes before the response leaves.
const SLACK_MS = 15;

beforeAll(async () => {
  broker = await testBroker({ "quota.window.num": 2, "quota.window.size.seconds": 1 });
  admin = await client();
  for (const t of ["p", "shared", "f", "prec", "rq"]) await createTopic(t);
});

afterAll(async () => {
  for (const c of open) c.close();
  await broker.close();
});

describe("client quotas on the wire", () => {
  test("producer over producer_byte_rate: throttleTimeMs and a muted connection; others unaffected; removal stops it", async () => {
    await setQuota([["client-id", "slow-producer"]], "producer_byte_rate", 10_000);
    const c = await client();
    const other = await client();
    // ~15 KB against 10 KB/s over a 1 s window: about 500 ms.
    const first = produce(c, "slow-producer", "p", 15_000);
    const r = await first;
    expect(r.responses![0].partitionResponses![0].errorCode).toBe(0);
    expect(r.throttleTimeMs).toBeGreaterThan(400);
    expect(r.throttleTimeMs).toBeLessThan(700);
    const t0 = performance.now();
    const muted = metadata(c, "slow-producer").then(() => performance.now() - t0);
    // Another connection (another client id) is served meanwhile.
    const otherAt = await metadata(other, "someone-else").then(() => performance.now() - t0);
    const mutedMs = await muted;
    expect(mutedMs).toBeGreaterThanOrEqual(r.throttleTimeMs! - SLACK_MS);
    expect(otherAt).toBeLessThan(mutedMs);

    // Removed: the next produce is not throttled, however much was sent.
    await setQuota([["client-id", "slow-producer"]], "producer_byte_rate", null);
    for (let i = 0; i < 3; i++) expect((await produce(c, "slow-producer", "p", 15_000)).throttleTimeMs).toBe(0);
  });

  test("acks=0: no response, the connection is muted all the same", async () => {
    await setQuota([["client-id", "wire-test"]], "producer_byte_rate", 10_000);
    const c = await client();
    const t0 = performance.now();
    // ~15 KB against 10 KB/s over a 1 s window: a throttle of about 500 ms, carried by no response.
    c.sendNoWait(Produce, 9, {
      transactionalId: null,
      acks: 0,
      timeoutMs: 5000,
      topicData: [{ name: "p", topicId: ZERO_UUID, partitionData: [{ index: 0, records: batch(15_000) }] }],
    });
    // A request pipelined behind it would be read before the mute starts (requests on a connection
    // run concurrently here): let the append finish first.
    await new Promise((r) => setTimeout(r, 100));
    await metadata(c, "wire-test");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    await setQuota([["client-id", "wire-test"]], "producer_byte_rate", null);
  });

  test("connections of one quota entity share its rate", async () => {
    await setQuota([["client-id", "twins"]], "producer_byte_rate", 10_000);
    const a = await client();
    const b = await client();
    expect((await produce(a, "twins", "shared", 6000)).throttleTimeMs).toBe(0);
    const r = await gap(produce(b, "twins", "shared", 6000), () => metadata(b, "twins"));
    expect(r.first.throttleTimeMs).toBeGreaterThan(0);
    expect(r.ms).toBeGreaterThanOrEqual(r.first.throttleTimeMs! - SLACK_MS);
    await setQuota([["client-id", "twins"]], "producer_byte_rate", null);
  });

  test("consumer over consumer_byte_rate: an empty throttled response, a muted connection, nothing lost", async () => {
    const p = await client();
    for (let i = 0; i < 8; i++) {
      expect((await produce(p, "filler", "f", 3000)).responses![0].partitionResponses![0].errorCode).toBe(0);
    }
    await setQuota([["client-id", "slow-consumer"]], "consumer_byte_rate", 10_000);
    const c = await client();
    let offset = 0n;
    let throttled = 0;
    let gapChecked = false;
    const deadline = Date.now() + 20_000;
    while (offset < 8n && Date.now() < deadline) {
      const r = await fetch(c, "slow-consumer", "f", offset);
      if (r.throttleTimeMs! > 0) {
        throttled++;
        expect(r.responses).toEqual([]);
        // The next request waits out the mute.
        const n0 = performance.now();
        await metadata(c, "slow-consumer");
        expect(performance.now() - n0).toBeGreaterThanOrEqual(r.throttleTimeMs! - SLACK_MS);
        gapChecked = true;
        continue;
      }
      const records = recordBytes(r.responses![0].partitions![0].records) ?? new Uint8Array(0);
      // Capped at what the quota allows in a window (10 KB): at most three 3 KB batches.
      expect(records.length).toBeLessThanOrEqual(10_000);
      offset = nextOffset(records, offset);
    }
    expect(offset).toBe(8n);
    expect(throttled).toBeGreaterThan(0);
    expect(gapChecked).toBe(true);
    await setQuota([["client-id", "slow-consumer"]], "consumer_byte_rate", null);
  });

  test("precedence: user+client over client, user over default user+client, client default last", async () => {
    await setQuota([["client-id", null]], "producer_byte_rate", 1_000_000);
    await setQuota([["user", "ANONYMOUS"], ["client-id", "p1"]], "producer_byte_rate", 10_000);
    await setQuota([["user", "ANONYMOUS"]], "producer_byte_rate", 1_000_000);
    await setQuota([["user", null], ["client-id", "p3"]], "producer_byte_rate", 10_000);
    await setQuota([["client-id", "p4"]], "producer_byte_rate", 10_000);
    const c = await client();
    // /config/users/ANONYMOUS/clients/p1 (level 1) applies.
    expect((await produce(c, "p1", "prec", 15_000)).throttleTimeMs).toBeGreaterThan(0);
    // p3 and p4: /config/users/ANONYMOUS (level 3) wins over <default>/clients/p3 (4) and clients/p4 (7).
    expect((await produce(await client(), "p3", "prec", 15_000)).throttleTimeMs).toBe(0);
    expect((await produce(await client(), "p4", "prec", 15_000)).throttleTimeMs).toBe(0);
    // Without the user quota, <default> user + p3 applies to p3, and clients/p4 to p4.
    await setQuota([["user", "ANONYMOUS"]], "producer_byte_rate", null);
    expect((await produce(await client(), "p3", "prec", 15_000)).throttleTimeMs).toBeGreaterThan(0);
    expect((await produce(await client(), "p4", "prec", 15_000)).throttleTimeMs).toBeGreaterThan(0);
    // Any other client id: the client-id default, 1 MB/s.
    expect((await produce(await client(), "p5", "prec", 15_000)).throttleTimeMs).toBe(0);
    for (
      const e of [[["client-id", null]], [["user", "ANONYMOUS"], ["client-id", "p1"]], [["user", null], [
        "client-id",
        "p3",
      ]], [["client-id", "p4"]]] as [string, string | null][][]
    ) {
      await setQuota(e, "producer_byte_rate", null);
    }
  });

  test("request_percentage: handler time over the quota throttles (at most one window) and mutes", async () => {
    await setQuota([["client-id", "busy"]], "request_percentage", 0.0001);
    const c = await client();
    let r = await produce(c, "busy", "rq", 50_000);
    for (let i = 0; i < 5 && r.throttleTimeMs === 0; i++) r = await produce(c, "busy", "rq", 50_000);
    expect(r.throttleTimeMs).toBeGreaterThan(0);
    expect(r.throttleTimeMs).toBeLessThanOrEqual(1000);
    const t0 = performance.now();
    const m = await metadata(c, "busy");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(r.throttleTimeMs! - SLACK_MS);
    // Any API carries the throttle time: Metadata measured over the quota too.
    expect(m.throttleTimeMs).toBeGreaterThan(0);
    await setQuota([["client-id", "busy"]], "request_percentage", null);
  });
});
