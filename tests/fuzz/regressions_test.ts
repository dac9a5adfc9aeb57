// Minimal reproductions of handler bugs found by schema_fuzz_test.ts, each answered with Kafka's
// error code for that input instead of a handler exception (which closes the connection).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Broker } from "../../src/broker/broker.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { OffsetCommit } from "../../src/protocol/messages/08_offset_commit.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteTopics } from "../../src/protocol/messages/20_delete_topics.ts";
import { DeleteRecords } from "../../src/protocol/messages/21_delete_records.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { TransactionCoordinator } from "../../src/broker/txn/coordinator.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

let broker: Broker & { lines: string[] };
let c: WireClient;

beforeAll(async () => {
  broker = await testBroker();
  c = await WireClient.connect(broker.port);
});
afterAll(async () => {
  c.close();
  await broker.close();
});

const noErrors = () => expect(broker.lines.filter((l) => l.startsWith("error "))).toEqual([]);

test("Metadata v10-11: a null topic name or a topic id is INVALID_REQUEST (Kafka), not a failed encode", async () => {
  for (const v of [10, 11]) {
    const r = await c.send(Metadata, v, {
      topics: [{ topicId: "AB9dJwmZRau2oJgA9kz23g", name: null }, { topicId: ZERO_UUID, name: "x" }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.topics!.map((t) => [t.name, t.errorCode])).toEqual([["", ErrorCode.INVALID_REQUEST], [
      "x",
      ErrorCode.INVALID_REQUEST,
    ]]);
  }
  noErrors();
});

/** A transaction coordinator over one topic whose single log is deleted by DeleteTopics under the first append. */
function coordinatorOverVanishingTopic(name: string) {
  const topics = new Map<string, { partitions: unknown[] }>();
  const log = {
    append() {
      topics.delete(name); // DeleteTopics closed the log under the append
      return Promise.reject(new Error(`${name}-0 is closed`));
    },
  };
  topics.set(name, { partitions: [log] });
  const lines: string[] = [];
  const coordinator = new TransactionCoordinator({
    topics: topics as never,
    now: () => Date.now(),
    log: (level, m) => lines.push(`${level} ${m}`),
    maxTimeoutMs: 60000,
    checkIntervalMs: 60000,
  });
  return { coordinator, lines };
}

test("txn markers: a partition deleted while its marker is appended is dropped (UNKNOWN_TOPIC_OR_PARTITION), not a storage error", async () => {
  const { coordinator, lines } = coordinatorOverVanishingTopic("gone");
  try {
    const r = await coordinator.writeMarkers(1n, 0, true, 0, [{ topic: "gone", partition: 0 }]);
    expect([...r.values()]).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(lines.filter((l) => l.startsWith("error "))).toEqual([]);
  } finally {
    coordinator.close();
  }
});

test(
  "file store: Produce and DeleteRecords racing DeleteTopics answer UNKNOWN_TOPIC_OR_PARTITION, not KAFKA_STORAGE_ERROR with an error log",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "chronik-race-"));
    const b = await testBroker({ dataDir: dir });
    const [p, d, x] = await Promise.all([
      WireClient.connect(b.port),
      WireClient.connect(b.port),
      WireClient.connect(b.port),
    ]);
    try {
      const records = buildRecordBatch({ records: [{ key: null, value: new Uint8Array(1000) }] });
      const seen = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const name = `race-${i}`;
        await x.send(CreateTopics, 4, {
          topics: [{ name, numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 5000,
          validateOnly: false,
        });
        const partitions = [0, 1, 2, 3];
        const produce = () =>
          p.send(Produce, 9, {
            transactionalId: null,
            acks: -1,
            timeoutMs: 5000,
            topicData: [{ name, topicId: ZERO_UUID, partitionData: partitions.map((index) => ({ index, records })) }],
          });
        for (let k = 0; k < 10; k++) await produce();
        // Requests queued behind each other on the partitions when the topic goes away.
        const produced = Array.from({ length: 10 }, produce);
        const deleted = Array.from(
          { length: 10 },
          (_, k) =>
            d.send(DeleteRecords, 2, {
              topics: [{
                name,
                partitions: partitions.map((partitionIndex) => ({ partitionIndex, offset: BigInt(k + 1) })),
              }],
              timeoutMs: 5000,
            }),
        );
        await Promise.race([produced[0], deleted[0]]);
        await x.send(DeleteTopics, 4, { topicNames: [name], topics: [], timeoutMs: 5000 });
        for (const r of await Promise.all(produced)) {
          for (const q of r.responses![0].partitionResponses!) seen.add(q.errorCode!);
        }
        for (const r of await Promise.all(deleted)) for (const q of r.topics![0].partitions!) seen.add(q.errorCode!);
      }
      expect(seen.has(ErrorCode.KAFKA_STORAGE_ERROR)).toBe(false);
      expect(b.lines.filter((l) => l.startsWith("error "))).toEqual([]);
    } finally {
      for (const c of [p, d, x]) c.close();
      await b.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
  60_000,
);

test("file store: __consumer_offsets deleted under an OffsetCommit write answers COORDINATOR_NOT_AVAILABLE with a warning, not an error log", async () => {
  const dir = await mkdtemp(join(tmpdir(), "chronik-race-"));
  const b = await testBroker({ dataDir: dir });
  const [p, x] = await Promise.all([WireClient.connect(b.port), WireClient.connect(b.port)]);
  try {
    await x.send(CreateTopics, 4, {
      topics: [{ name: "t", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    const seen = new Set<number>();
    const commit = (k: number) =>
      p.send(OffsetCommit, 2, {
        groupId: `race-${k}`,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [{
          name: "t",
          topicId: ZERO_UUID,
          partitions: [{
            partitionIndex: 0,
            committedOffset: 1n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: "",
          }],
        }],
      });
    for (let i = 0; i < 10; i++) {
      await commit(0); // __consumer_offsets exists (again)
      const commits = Array.from({ length: 20 }, (_, k) => commit(k));
      await commits[0];
      await x.send(DeleteTopics, 4, { topicNames: ["__consumer_offsets"], topics: [], timeoutMs: 5000 });
      for (const r of await Promise.all(commits)) seen.add(r.topics![0].partitions![0].errorCode!);
    }
    expect([...seen].every((e) => e === ErrorCode.NONE || e === ErrorCode.COORDINATOR_NOT_AVAILABLE)).toBe(true);
    expect(b.lines.filter((l) => l.startsWith("error "))).toEqual([]);
  } finally {
    for (const c of [p, x]) c.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("txn coordinator: __transaction_state deleted under a state write answers COORDINATOR_NOT_AVAILABLE with a warning, not an error log", async () => {
  const { coordinator, lines } = coordinatorOverVanishingTopic("__transaction_state");
  try {
    const r = await coordinator.initProducerId("t", 60000, -1n, -1);
    expect(r.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(lines.filter((l) => l.startsWith("error "))).toEqual([]);
    expect(lines.some((l) => l.startsWith("warn "))).toBe(true);
  } finally {
    coordinator.close();
  }
});

test("groups: a topic deleted after __consumer_offsets was deleted drops its committed offsets, no handler exception", async () => {
  const created = await c.send(CreateTopics, 4, {
    topics: [{ name: "offsets-gone", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(created.topics![0].errorCode).toBe(ErrorCode.NONE);
  const committed = await c.send(OffsetCommit, 2, {
    groupId: "g-offsets-gone",
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [{
      name: "offsets-gone",
      topicId: ZERO_UUID,
      partitions: [{
        partitionIndex: 0,
        committedOffset: 0n,
        committedLeaderEpoch: -1,
        commitTimestamp: -1n,
        committedMetadata: null,
      }],
    }],
  });
  expect(committed.topics![0].partitions![0].errorCode).toBe(ErrorCode.NONE);
  const del = (w: WireClient, name: string) =>
    w.send(DeleteTopics, 6, { topics: [{ name, topicId: ZERO_UUID }], topicNames: [], timeoutMs: 5000 });
  await del(c, "__consumer_offsets");
  // Deleting the topic drops its offsets, which creates __consumer_offsets again, while another connection deletes
  // __consumer_offsets again (what the schema fuzz did): the offsets' append must use the topic it holds.
  const c2 = await WireClient.connect(broker.port);
  try {
    const [a, b] = await Promise.all([del(c, "offsets-gone"), del(c2, "__consumer_offsets")]);
    expect([a.responses!.length, b.responses!.length]).toEqual([1, 1]);
  } finally {
    c2.close();
  }
  noErrors();
});
