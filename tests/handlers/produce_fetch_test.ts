import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { ListOffsets } from "../../src/protocol/messages/02_list_offsets.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { buildRecordBatch, decodeRecords } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { recordBytes } from "../helpers/read.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
let broker: Broker;
let c: WireClient;

beforeAll(async () => {
  broker = await testBroker();
  c = await WireClient.connect(broker.port);
  const r = await c.send(CreateTopics, 7, {
    topics: [
      { name: "pf", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
      {
        name: "lat",
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: "message.timestamp.type", value: "LogAppendTime" }],
      },
      {
        name: "small",
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: "max.message.bytes", value: "200" }],
      },
    ],
    timeoutMs: 1000,
    validateOnly: false,
  });
  expect(r.topics!.every((t) => t.errorCode === 0)).toBe(true);
});
afterAll(async () => {
  c.close();
  await broker.close();
});

const batch = (values: string[], timestamp = 1000) =>
  buildRecordBatch({
    records: values.map((v, i) => ({ key: enc.encode(`k${i}`), value: enc.encode(v), timestamp: timestamp + i })),
  });

function produce(topic: string, partition: number, records: Uint8Array | null, acks = -1, version = 9) {
  return c.send(Produce, version, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: partition, records }] }],
  });
}

function fetch(
  topic: string,
  partition: number,
  offset: bigint,
  opts: {
    version?: number;
    maxWaitMs?: number;
    minBytes?: number;
    maxBytes?: number;
    partitionMaxBytes?: number;
    sessionId?: number;
    sessionEpoch?: number;
  } = {},
) {
  return c.send(Fetch, opts.version ?? 12, {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: opts.maxWaitMs ?? 0,
    minBytes: opts.minBytes ?? 0,
    maxBytes: opts.maxBytes ?? 1 << 20,
    isolationLevel: 0,
    sessionId: opts.sessionId ?? 0,
    sessionEpoch: opts.sessionEpoch ?? -1,
    topics: [{
      topic,
      topicId: broker.services.topics.get(topic)?.id ?? "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition,
        currentLeaderEpoch: -1,
        fetchOffset: offset,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: opts.partitionMaxBytes ?? 1 << 20,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        highWatermark: 9223372036854775807n,
      }],
    }],
    forgottenTopicsData: [],
    rackId: "",
  });
}

function values(fetched: Uint8Array | Uint8Array[] | null | undefined): string[] {
  const records = recordBytes(fetched);
  if (!records) return [];
  const out: string[] = [];
  let pos = 0;
  while (pos < records.length) {
    const len = new DataView(records.buffer, records.byteOffset + pos).getInt32(8);
    const b = records.subarray(pos, pos + 12 + len);
    for (const r of decodeRecords(b).records) out.push(`${r.offset}:${dec.decode(r.value!)}`);
    pos += 12 + len;
  }
  return out;
}

describe("Produce and Fetch", () => {
  test("offsets are dense and fetch returns what was produced", async () => {
    const a = await produce("pf", 0, batch(["a", "b", "c"]));
    const p = a.responses![0].partitionResponses![0];
    expect(p.errorCode).toBe(ErrorCode.NONE);
    expect(p.baseOffset).toBe(0n);
    const b = await produce("pf", 0, batch(["d"]), 1, 3);
    expect(b.responses![0].partitionResponses![0].baseOffset).toBe(3n);
    const f = await fetch("pf", 0, 0n);
    const part = f.responses![0].partitions![0];
    expect(part.highWatermark).toBe(4n);
    expect(part.lastStableOffset).toBe(4n);
    expect(part.logStartOffset).toBe(0n);
    expect(part.abortedTransactions).toBeNull();
    expect(values(part.records)).toEqual(["0:a", "1:b", "2:c", "3:d"]);
  });

  test("fetch by topic id (v13+) and an unknown topic id", async () => {
    const f = await fetch("pf", 0, 3n, { version: 17 });
    expect(f.responses![0].topicId).toBe(broker.services.topics.get("pf")!.id);
    expect(values(f.responses![0].partitions![0].records)).toEqual(["3:d"]);
  });

  test("errors: unknown topic, bad partition, offset out of range, corrupt batch, too large", async () => {
    expect((await produce("nope", 0, batch(["x"]))).responses![0].partitionResponses![0].errorCode).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    expect((await produce("pf", 7, batch(["x"]))).responses![0].partitionResponses![0].errorCode).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    const bad = batch(["x"]);
    bad[bad.length - 1] ^= 0xff;
    expect((await produce("pf", 1, bad)).responses![0].partitionResponses![0].errorCode).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
    expect((await produce("small", 0, batch(["y".repeat(300)]))).responses![0].partitionResponses![0].errorCode).toBe(
      ErrorCode.MESSAGE_TOO_LARGE,
    );
    expect((await produce("pf", 1, batch(["x"]), 2)).responses![0].partitionResponses![0].errorCode).toBe(
      ErrorCode.INVALID_REQUIRED_ACKS,
    );
    const f = await fetch("pf", 1, 5n);
    expect(f.responses![0].partitions![0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(broker.services.topics.get("pf")!.partitions[1].logEndOffset).toBe(0);
  });

  test("acks=0 gets no response, and later requests are still answered in order", async () => {
    c.sendNoWait(Produce, 9, {
      transactionalId: null,
      acks: 0,
      timeoutMs: 1000,
      topicData: [{ name: "pf", topicId: ZERO_UUID, partitionData: [{ index: 1, records: batch(["z"]) }] }],
    });
    const f = await fetch("pf", 1, 0n);
    expect(values(f.responses![0].partitions![0].records)).toEqual(["0:z"]);
  });

  test("LogAppendTime topics stamp the broker's time", async () => {
    const before = Date.now();
    const r = await produce("lat", 0, batch(["t"], 5));
    const ts = r.responses![0].partitionResponses![0].logAppendTimeMs!;
    expect(Number(ts)).toBeGreaterThanOrEqual(before);
    const f = await fetch("lat", 0, 0n);
    const rec = decodeRecords(recordBytes(f.responses![0].partitions![0].records)!).records[0];
    expect(rec.timestamp).toBe(ts);
  });

  test("a long poll is woken by the append that satisfies it", async () => {
    const t0 = Date.now();
    const waiting = fetch("pf", 1, 1n, { maxWaitMs: 5000, minBytes: 1 });
    await Bun.sleep(50);
    await produce("pf", 1, batch(["late"]));
    const f = await waiting;
    expect(values(f.responses![0].partitions![0].records)).toEqual(["1:late"]);
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  test("a long poll with nothing to return waits maxWaitMs", async () => {
    const t0 = Date.now();
    const f = await fetch("pf", 1, 2n, { maxWaitMs: 300, minBytes: 1 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(f.responses![0].partitions![0].records!.length).toBe(0);
  });

  test("the first batch is returned even when larger than max bytes (KIP-74)", async () => {
    const f = await fetch("pf", 0, 0n, { maxBytes: 10, partitionMaxBytes: 10 });
    expect(values(f.responses![0].partitions![0].records)).toEqual(["0:a", "1:b", "2:c"]);
  });

  test("fetch sessions: full, then incremental with only changed partitions", async () => {
    const full = await fetch("pf", 0, 4n, { sessionId: 0, sessionEpoch: 0, version: 12 });
    expect(full.sessionId).toBeGreaterThan(0);
    expect(full.responses![0].partitions!.length).toBe(1);
    const inc = await c.send(Fetch, 12, {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: full.sessionId!,
      sessionEpoch: 1,
      topics: [],
      forgottenTopicsData: [],
      rackId: "",
    });
    expect(inc.errorCode).toBe(ErrorCode.NONE);
    expect(inc.responses!.length).toBe(0);
    await produce("pf", 0, batch(["e"]));
    const inc2 = await c.send(Fetch, 12, {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: full.sessionId!,
      sessionEpoch: 2,
      topics: [],
      forgottenTopicsData: [],
      rackId: "",
    });
    expect(values(inc2.responses![0].partitions![0].records)).toEqual(["4:e"]);
    const stale = await c.send(Fetch, 12, {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: full.sessionId!,
      sessionEpoch: 7,
      topics: [],
      forgottenTopicsData: [],
      rackId: "",
    });
    expect(stale.errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    const gone = await c.send(Fetch, 12, {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 999999,
      sessionEpoch: 1,
      topics: [],
      forgottenTopicsData: [],
      rackId: "",
    });
    expect(gone.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  test("fetch sessions: made at v12 (topic names), an incremental v18 (topic ids) gets FETCH_SESSION_TOPIC_ID_ERROR", async () => {
    // What the Java consumer does when it reconnects while a topic id is missing from its metadata: a full fetch at
    // v12, then incremental ones at v18. Kafka answers FETCH_SESSION_TOPIC_ID_ERROR and the client starts over.
    const full = await fetch("pf", 0, 0n, { sessionId: 0, sessionEpoch: 0, version: 12 });
    expect(full.sessionId).toBeGreaterThan(0);
    const inc = await fetch("pf", 0, 0n, { sessionId: full.sessionId!, sessionEpoch: 1, version: 18 });
    expect(inc.errorCode).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    expect(inc.responses!.length).toBe(0);
    const fresh = await fetch("pf", 0, 0n, { sessionId: full.sessionId!, sessionEpoch: 0, version: 18 });
    expect(fresh.errorCode).toBe(ErrorCode.NONE);
    expect(fresh.responses![0].topicId).toBe(broker.services.topics.get("pf")!.id);
    const back = await fetch("pf", 0, 0n, { sessionId: fresh.sessionId!, sessionEpoch: 1, version: 12 });
    expect(back.errorCode).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
  });

  test("ListOffsets: earliest, latest, by timestamp, max timestamp", async () => {
    await produce("pf", 1, batch(["m1", "m2", "m3"], 9000));
    const q = (timestamp: bigint) =>
      c.send(ListOffsets, 8, {
        replicaId: -1,
        isolationLevel: 0,
        timeoutMs: 1000,
        topics: [{
          name: "pf",
          partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }],
        }],
      }).then((r) => r.topics![0].partitions![0]);
    expect((await q(-2n)).offset).toBe(0n);
    const latest = await q(-1n);
    expect(latest.offset).toBe(5n);
    const byTs = await q(9001n);
    expect(byTs.offset).toBe(3n);
    expect(byTs.timestamp).toBe(9001n);
    const max = await q(-3n);
    expect(max.offset).toBe(4n);
    expect(max.timestamp).toBe(9002n);
    expect((await q(99999n)).offset).toBe(-1n);
  });
});
