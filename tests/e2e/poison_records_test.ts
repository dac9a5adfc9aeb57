// Poison pills over TCP (issue #14.4, #13.6): batches with a valid CRC whose records lie about their
// framing are refused with INVALID_RECORD and the record's index, nothing is stored, and real
// consumers (kcat / librdkafka and kafka-python) still read every record produced before and after.
// Also: null keys on compacted topics, KIP-937 timestamp bounds, and a zero maxTimestamp (older
// sarama) made findable by ListOffsets-by-timestamp.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { ListOffsets } from "../../src/protocol/messages/02_list_offsets.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { rawBatch, type RawBatchOptions } from "../helpers/poison.ts";
import { WireClient } from "../helpers/wire_client.ts";

let broker: Broker;
let c: WireClient;
let addr = "";
const enc = new TextEncoder();

beforeAll(async () => {
  broker = await testBroker({ logLevel: "warn" });
  addr = `127.0.0.1:${broker.port}`;
  c = await WireClient.connect(broker.port);
  const topic = (name: string, configs: { name: string; value: string }[] = []) => ({
    name,
    numPartitions: 1,
    replicationFactor: 1,
    assignments: [],
    configs,
  });
  const r = await c.send(CreateTopics, 7, {
    topics: [
      topic("poison"),
      topic("poison-compact", [{ name: "cleanup.policy", value: "compact" }]),
      topic("poison-ts", [{ name: "message.timestamp.before.max.ms", value: "86400000" }]),
    ],
    timeoutMs: 1000,
    validateOnly: false,
  });
  expect(r.topics!.map((t) => t.errorCode)).toEqual([0, 0, 0]);
});
afterAll(async () => {
  c.close();
  await broker.close();
});

function produce(topic: string, records: Uint8Array, version = 9) {
  return c.send(Produce, version, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: 0, records }] }],
  }).then((r) => r.responses![0].partitionResponses![0]);
}

const good = (values: string[]) =>
  buildRecordBatch({ records: values.map((v) => ({ key: enc.encode(`k-${v}`), value: enc.encode(v) })) });

async function run(cmd: string[]): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`${cmd[0]} exited ${code}: ${out}${err}`);
  return out;
}

const KAFKA_PYTHON = `
import sys
from kafka import KafkaConsumer
c = KafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], auto_offset_reset="earliest",
                  consumer_timeout_ms=3000, api_version=(1, 0, 0))
print(",".join(m.value.decode() for m in c))
c.close()
`;
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const ATTACKS: [string, RawBatchOptions, number][] = [
  ["a record claiming length 2^31-1", { records: [{}, { lengthOverride: 0x7fffffff }] }, 1],
  ["a key length of -5", { records: [{}, {}, { keyLengthOverride: -5 }] }, 2],
  ["a header count of 2^31-1", { records: [{ headerCountOverride: 0x7fffffff }] }, 0],
  ["bytes after the last record", { records: [{}, {}], trailing: Uint8Array.of(7, 7, 7) }, 1],
  ["more records declared than present", { records: [{ value: new Uint8Array(40) }], recordCount: 3 }, 1],
  ["bytes inside a record after its fields", { records: [{ extra: Uint8Array.of(1) }] }, 0],
  ["a null header key", { records: [{ headers: [{ key: null, value: null }] }] }, 0],
];

describe("poison pills are refused at produce time", () => {
  test("each attack gets INVALID_RECORD with the record's index; consumers read all before and after", async () => {
    expect((await produce("poison", good(["a", "b"]))).errorCode).toBe(0);
    for (const [name, spec, index] of ATTACKS) {
      for (const codec of [0, 1]) {
        const r = await produce("poison", rawBatch({ ...spec, codec }));
        expect([name, codec, r.errorCode]).toEqual([name, codec, ErrorCode.INVALID_RECORD]);
        expect([name, r.recordErrors!.map((e) => e.batchIndex)]).toEqual([name, [index]]);
        expect(r.errorMessage).toBeTruthy();
      }
    }
    expect((await produce("poison", good(["c"]))).errorCode).toBe(0);
    const kcat = await run([
      "timeout",
      "30",
      "kcat",
      "-b",
      addr,
      "-C",
      "-t",
      "poison",
      "-o",
      "beginning",
      "-e",
      "-q",
      "-f",
      "%o:%s\\n",
    ]);
    expect(kcat.trim().split("\n")).toEqual(["0:a", "1:b", "2:c"]);
    const py = await run(["/usr/bin/python3", "-c", KAFKA_PYTHON, addr, "poison"]);
    expect(py.trim()).toBe("a,b,c");
  }, 60_000);

  test("a null key on a compacted topic: INVALID_RECORD, Kafka's message, per record", async () => {
    const r = await produce("poison-compact", rawBatch({ records: [{}, { key: null }] }));
    expect(r.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(r.recordErrors).toEqual([{
      batchIndex: 1,
      batchIndexErrorMessage: "Compacted topic cannot accept message without key in topic partition poison-compact-0",
    }]);
    expect((await produce("poison-compact", good(["x"]))).errorCode).toBe(0);
    // A topic that is not compacted takes null keys.
    expect((await produce("poison", rawBatch({ records: [{ key: null, value: enc.encode("d") }] }))).errorCode)
      .toBe(0);
  });

  test("timestamps outside message.timestamp.before/after.max.ms: INVALID_TIMESTAMP", async () => {
    const now = Date.now();
    const future = await produce("poison-ts", rawBatch({ baseTimestamp: now + 2 * 3600_000, records: [{}] }));
    expect(future.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(future.errorMessage).toBe("One or more records have been rejected due to invalid timestamp");
    expect(future.recordErrors![0].batchIndexErrorMessage).toMatch(
      /^Timestamp \d+ of message with offset 0 is out of range\. The timestamp should be within \[\d+, \d+\]$/,
    );
    const old = await produce("poison-ts", rawBatch({ baseTimestamp: now - 2 * 86400_000, records: [{}] }));
    expect(old.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    const ok = await produce("poison-ts", rawBatch({ baseTimestamp: now - 1000, records: [{}] }));
    expect(ok.errorCode).toBe(0);
  });

  test("a batch with maxTimestamp 0 (older sarama) is found by ListOffsets-by-timestamp", async () => {
    const t0 = Date.now() + 60_000; // after every earlier record of the topic
    await produce(
      "poison-ts",
      rawBatch({ baseTimestamp: t0, maxTimestamp: 0, records: [{}, { timestampDelta: 500 }] }),
    );
    const lo = await c.send(ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 5000,
      topics: [{
        name: "poison-ts",
        partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: BigInt(t0 + 400), maxNumOffsets: 1 }],
      }],
    });
    const p = lo.topics![0].partitions![0];
    expect(p.errorCode).toBe(0);
    expect(p.offset).toBe(2n); // offset 0: the accepted batch above; 1, 2: this one
    expect(p.timestamp).toBe(BigInt(t0 + 500));
  });
});
