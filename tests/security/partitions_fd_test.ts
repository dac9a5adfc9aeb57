// Issue #14.3: one request must not exhaust the broker's descriptors or leave a data dir that cannot
// start. CreateTopics/CreatePartitions over 10,000 partitions in one request: POLICY_VIOLATION (Kafka's
// controller); max.broker.partitions: POLICY_VIOLATION; segment.bytes and log.segment.bytes under
// 1 MiB (Kafka 4.0): INVALID_CONFIG. Thousands of partitions, written to and restarted, hold no more segment files open
// than chronik.log.open.files.max.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { AlterConfigs } from "../../src/protocol/messages/33_alter_configs.ts";
import { CreatePartitions } from "../../src/protocol/messages/37_create_partitions.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { type BrokerProcess, createTopic, fdCount, fetchBody, startBroker, startProbe, WireClient } from "./harness.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const OPEN_MAX = 200;
const dataDir = mkdtempSync(`${tmpdir()}/chronik-sec-fd-`);
const CONFIGS = { "chronik.log.open.files.max": String(OPEN_MAX), "max.broker.partitions": "6000" };
let broker: BrokerProcess;
let c: WireClient;

beforeAll(async () => {
  broker = await startBroker(CONFIGS, ["--data-dir", dataDir]);
  c = await WireClient.connect(broker.port);
});
afterAll(async () => {
  c?.close();
  broker?.proc.kill("SIGKILL");
  await broker?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const newTopic = (name: string, numPartitions: number, configs: Record<string, string> = {}) => ({
  name,
  numPartitions,
  replicationFactor: 1,
  assignments: [],
  configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
});

async function produceAll(topic: string, partitions: number, tag: string) {
  const r = await c.send(Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30000,
    topicData: [{
      name: topic,
      topicId: ZERO_UUID,
      partitionData: Array.from({ length: partitions }, (_, index) => ({
        index,
        records: buildRecordBatch({
          records: [{ key: null, value: new TextEncoder().encode(`${tag}-${index}`), timestamp: Date.now() }],
        }),
      })),
    }],
  });
  return r.responses![0].partitionResponses!;
}

describe("partitions and descriptors", () => {
  test("20,000 partitions in one CreateTopics: POLICY_VIOLATION for every topic, nothing created", async () => {
    const r = await c.send(CreateTopics, 7, {
      topics: [newTopic("huge-a", 15_000), newTopic("huge-b", 5_000)],
      timeoutMs: 30000,
      validateOnly: false,
    });
    for (const t of r.topics!) {
      expect(t.errorCode).toBe(ErrorCode.POLICY_VIOLATION);
      expect(t.errorMessage).toBe("Excessively large number of partitions per request.");
    }
    const again = await createTopic(c, "huge-a", 1);
    expect(again.errorCode).toBe(ErrorCode.NONE);
  }, 30_000);

  test("segment.bytes under 1 MiB is INVALID_CONFIG on create and alter", async () => {
    const r = await c.send(CreateTopics, 7, {
      topics: [newTopic("tiny-segments", 1, { "segment.bytes": "14" })],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(r.topics![0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(r.topics![0].errorMessage).toContain("1048576");
    const a = await c.send(AlterConfigs, 2, {
      resources: [{ resourceType: 2, resourceName: "huge-a", configs: [{ name: "segment.bytes", value: "1000" }] }],
      validateOnly: false,
    });
    expect(a.responses![0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
    // The broker's default too (log.segment.bytes, Kafka 4.0's KIP-1030).
    const b = await c.send(AlterConfigs, 2, {
      resources: [{ resourceType: 4, resourceName: "", configs: [{ name: "log.segment.bytes", value: "1000" }] }],
      validateOnly: false,
    });
    expect(b.responses![0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
  });

  test("5,000 partitions written to hold at most chronik.log.open.files.max segment files", async () => {
    const fds0 = fdCount(broker.proc.pid);
    const probe = await startProbe(broker.port, "huge-a");
    expect((await createTopic(c, "many", 5_000)).errorCode).toBe(ErrorCode.NONE);
    const produced = await produceAll("many", 5_000, "one");
    expect(produced.every((p) => p.errorCode === ErrorCode.NONE)).toBe(true);
    const served = await probe.stop();
    expect(served.failures).toEqual([]);
    expect(fdCount(broker.proc.pid) - fds0).toBeLessThan(OPEN_MAX + 50);
    // Over max.broker.partitions (6,000 with these 5,000 + 1): POLICY_VIOLATION, for topics and partitions.
    expect((await createTopic(c, "one-more", 1_000)).errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    const cp = await c.send(CreatePartitions, 3, {
      topics: [{ name: "huge-a", count: 1_500, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(cp.results![0].errorCode).toBe(ErrorCode.POLICY_VIOLATION);
  }, 120_000);

  test("killed, the broker starts again on that data dir with descriptors bounded, and serves the data", async () => {
    c.close();
    // SIGKILL: the restart recovers every partition (an unclean start), the harder case.
    broker.proc.kill("SIGKILL");
    await broker.stop();
    broker = await startBroker(CONFIGS, ["--data-dir", dataDir]);
    c = await WireClient.connect(broker.port);
    expect(fdCount(broker.proc.pid)).toBeLessThan(OPEN_MAX + 60);
    const f = await c.send(Fetch, 11, fetchBody("many", 4_999, 0n));
    expect(f.responses![0].partitions![0].records!.length).toBeGreaterThan(0);
    const produced = await produceAll("many", 5_000, "two");
    expect(produced.every((p) => p.errorCode === ErrorCode.NONE && p.baseOffset === 1n)).toBe(true);
    expect(fdCount(broker.proc.pid)).toBeLessThan(OPEN_MAX + 60);
  }, 120_000);
});
