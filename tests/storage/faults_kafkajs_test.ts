// Storage faults as a real client sees them: kafkajs (idempotent producer, acks=all) against the
// broker on the Bun runtime's file system wrapped by tests/helpers/faulty_fs.ts. A full disk gives
// the producer KAFKA_STORAGE_ERROR, and its retries succeed once space is freed, each record stored
// once; a failed fsync gives KAFKA_STORAGE_ERROR until the broker is restarted, after which the
// client produces again and every acknowledged record is there, once. While the dir is offline, Metadata
// shows the partitions leaderless with this broker as an offline replica.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Kafka, logLevel } from "kafkajs";
import { bunRuntime } from "../../adapters/bun.ts";
import type { Broker } from "../../src/broker/broker.ts";
import { startBroker } from "../../src/broker/broker.ts";
import { type FaultyFs, faultyRuntime } from "../helpers/faulty_fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { kafkajsValues, until } from "../helpers/consume.ts";
import { metadata } from "../helpers/kcat.ts";
import { WireClient } from "../helpers/wire_client.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const tmp = mkdtempSync(`${tmpdir()}/chronik-faults-kjs-`);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function start(dir: string): Promise<{ broker: Broker; fs: FaultyFs; lines: string[]; kafka: Kafka }> {
  const rt = faultyRuntime(bunRuntime);
  const broker = await startBroker(rt, {
    host: "127.0.0.1",
    port: 0,
    logLevel: "info",
    dataDir: dir,
    "group.initial.rebalance.delay.ms": 0,
  });
  const kafka = new Kafka({
    brokers: [`127.0.0.1:${broker.port}`],
    clientId: "faults",
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, maxRetryTime: 200, retries: 8 },
  });
  return { broker, fs: rt.fs, lines: rt.lines, kafka };
}

/** The Kafka error type a kafkajs send failed with (through KafkaJSNumberOfRetriesExceeded's cause). */
function errorType(e: unknown): string {
  let x = e as { type?: string; cause?: unknown; originalError?: unknown } | undefined;
  for (let i = 0; x && i < 5; i++) {
    if (x.type) return x.type;
    x = (x.cause ?? x.originalError) as typeof x;
  }
  return String(e);
}

const values = (from: number, n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `${tag}-${from + i}` }));

describe("kafkajs against storage faults", () => {
  test("a full disk: KAFKA_STORAGE_ERROR, then the producer's retries succeed once space is freed", async () => {
    const r = await start(`${tmp}/full`);
    const admin = r.kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "kfull", numPartitions: 1 }] });
    await admin.disconnect();
    // Retries enough to outlast the test's clearing of the fault, even on a loaded machine.
    const producer = r.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { initialRetryTime: 50, maxRetryTime: 200, retries: 50 },
    });
    await producer.connect();
    await producer.send({ topic: "kfull", acks: -1, messages: values(0, 10, "v") });

    // The client sees the error: no retry allowed for this send.
    const plain = r.kafka.producer({ retry: { retries: 0 } });
    await plain.connect();
    const off = r.fs.inject({ path: /\/kfull-0\/\d+\.log$/, op: "write", fault: "ENOSPC" });
    const err = await plain.send({ topic: "kfull", acks: -1, messages: [{ value: "refused" }] }).then(
      () => null,
      (e) => e,
    );
    expect(errorType(err)).toBe("KAFKA_STORAGE_ERROR");
    await plain.disconnect();

    // The idempotent producer retries; space is freed while it does.
    const hits = r.fs.events.length;
    const sending = producer.send({ topic: "kfull", acks: -1, messages: values(10, 10, "v") });
    await until(() => r.fs.events.length > hits);
    expect(r.fs.events.length).toBeGreaterThan(hits);
    off();
    await sending;
    await producer.disconnect();

    const got = await kafkajsValues(r.kafka, "kfull", "kfull-g", 20);
    expect(got).toEqual(values(0, 20, "v").map((m) => m.value));
    expect(r.lines.filter((l) => l.includes("disk full")).length).toBe(1);
    await r.broker.close();
  });

  test("a failed fsync: KAFKA_STORAGE_ERROR until restart; after it every acknowledged record is there once", async () => {
    const dir = `${tmp}/sync`;
    let r = await start(dir);
    const admin = r.kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "ksync", numPartitions: 1 }] });
    await admin.disconnect();
    let producer = r.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: "ksync", acks: -1, messages: values(0, 10, "w") });
    r.fs.inject({ path: /\/ksync-0\/\d+\.log$/, op: "sync", fault: "EIO", times: 1 });
    const err = await producer.send({ topic: "ksync", acks: -1, messages: values(10, 5, "w") }).then(
      () => null,
      (e) => e,
    );
    // Every retry was refused, though the fault fired once: the dir stays offline. The first answer is
    // KAFKA_STORAGE_ERROR; the metadata kafkajs then refreshes has no leader for the partition.
    expect(err).not.toBeNull();
    expect(["KAFKA_STORAGE_ERROR", "LEADER_NOT_AVAILABLE"]).toContain(errorType(err));
    expect(r.fs.events.length).toBe(1);
    expect(r.lines.filter((l) => l.includes("is offline")).length).toBe(1);
    await producer.disconnect();
    // Metadata no longer names this broker leader of a partition on the offline dir: no leader
    // (LEADER_NOT_AVAILABLE), the broker listed in offline_replicas, as Kafka answers for a partition whose
    // only replica sits on a failed log dir. kafkajs's metadata call throws on that partition error, so
    // librdkafka (kcat) and the protocol itself are asked.
    const listed = await metadata(`127.0.0.1:${r.broker.port}`, "ksync");
    expect(listed.topics[0].partitions[0]).toMatchObject({ partition: 0, leader: -1 });
    const c = await WireClient.connect(r.broker.port);
    const m = await c.send(Metadata, 12, {
      topics: [{ name: "ksync", topicId: ZERO_UUID }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    c.close();
    expect(m.topics![0].partitions![0]).toMatchObject({
      errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
      leaderId: -1,
      replicaNodes: [0],
      offlineReplicas: [0],
    });
    await r.broker.close();

    // Restart after "fixing the disk".
    r = await start(dir);
    producer = r.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: "ksync", acks: -1, messages: values(15, 5, "w") });
    await producer.disconnect();
    const stored = r.broker.services.topics.get("ksync")!.partitions[0].logEndOffset;
    expect(stored === 15 || stored === 20).toBe(true);
    const got = await kafkajsValues(r.kafka, "ksync", "ksync-g", stored);
    expect(got.length).toBe(stored);
    // The 10 acknowledged before, the 5 after; the 5 refused may have reached the disk (never acknowledged).
    const acked = [...values(0, 10, "w"), ...values(15, 5, "w")].map((m) => m.value);
    for (const v of acked) expect(got.filter((x) => x === v).length).toBe(1);
    expect(new Set(got).size).toBe(got.length);
    await r.broker.close();
  });
});
