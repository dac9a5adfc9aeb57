// Every codec from every client, through the file engine: kafkajs (snappy/lz4/zstd registered from
// our codecs), @platformatic/kafka, kcat -z and python confluent-kafka (librdkafka) produce with
// gzip, snappy, lz4 and zstd; each topic is consumed back by kcat, confluent-kafka and kafkajs; the
// broker's own record reads (ListOffsets by timestamp) decode them too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Producer as PlatformaticProducer, stringSerializers } from "@platformatic/kafka";
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from "kafkajs";
import { bunRuntime } from "../../adapters/bun.ts";
import type { Broker } from "../../src/broker/broker.ts";
import { startBroker } from "../../src/broker/broker.ts";
import { compress, decompress } from "../../src/protocol/compression/index.ts";
import { ListOffsets } from "../../src/protocol/messages/02_list_offsets.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { batchCodec } from "../../src/protocol/record_batch.ts";
import { WireClient } from "../helpers/wire_client.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
const CODEC_ID = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
const N = 30;

const codec = (id: number) => () => ({
  compress: async (encoder: { buffer: Uint8Array }) => Buffer.from(compress(id, new Uint8Array(encoder.buffer))),
  decompress: async (buffer: Uint8Array) => Buffer.from(decompress(id, new Uint8Array(buffer))),
});
(CompressionCodecs as Record<number, unknown>)[CompressionTypes.Snappy] = codec(2);
(CompressionCodecs as Record<number, unknown>)[CompressionTypes.LZ4] = codec(3);
(CompressionCodecs as Record<number, unknown>)[CompressionTypes.ZSTD] = codec(4);

let broker: Broker;
let addr: string;
const dir = mkdtempSync(`${tmpdir()}/chronik-codecs-`);

beforeAll(async () => {
  broker = await startBroker({ ...bunRuntime, log: () => {} }, {
    host: "127.0.0.1",
    port: 0,
    dataDir: dir,
    "num.partitions": 1,
    "group.initial.rebalance.delay.ms": 0,
  });
  addr = `127.0.0.1:${broker.port}`;
});
afterAll(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(cmd: string[], input?: string): Promise<string> {
  const p = Bun.spawn(cmd, {
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err}`);
  return out;
}
// Every value compresses well even alone: librdkafka sends a batch uncompressed when compressing
// does not shrink it, and under load a single short record can end up alone in a batch.
const values = (tag: string) => Array.from({ length: N }, (_, i) => `${tag}-value-${i}-${"z".repeat(200 + i * 7)}`);

/** Codecs of the stored batches of a topic, as fetched. */
async function storedCodecs(topic: string): Promise<number[]> {
  const c = await WireClient.connect(broker.port);
  const r = await c.send(Fetch, 12, {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    rackId: "",
    forgottenTopicsData: [],
    topics: [{
      topic,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition: 0,
        currentLeaderEpoch: -1,
        fetchOffset: 0n,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 1 << 20,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        highWatermark: 9223372036854775807n,
      }],
    }],
  });
  const buf = r.responses![0].partitions![0].records as Uint8Array;
  const out: number[] = [];
  for (let pos = 0; pos < buf.length; pos += 12 + new DataView(buf.buffer, buf.byteOffset + pos).getInt32(8)) {
    out.push(batchCodec(buf, pos));
  }
  const lo = await c.send(ListOffsets, 8, {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 1000,
    topics: [{
      name: topic,
      partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3n, maxNumOffsets: 1 }],
    }],
  });
  expect(lo.topics![0].partitions![0].errorCode).toBe(0);
  expect(Number(lo.topics![0].partitions![0].offset)).toBeGreaterThanOrEqual(0);
  c.close();
  return out;
}

async function consumeAll(topic: string, expected: string[]) {
  const kc = await run(["kcat", "-b", addr, "-C", "-t", topic, "-p", "0", "-e", "-q", "-f", "%s\n"]);
  expect(kc.trim().split("\n")).toEqual(expected);
  const py = await run([
    "/usr/bin/python3",
    "-c",
    `
import sys, confluent_kafka as ck
c = ck.Consumer({"bootstrap.servers": "${addr}", "group.id": "py-${topic}", "auto.offset.reset": "earliest", "enable.auto.commit": False})
c.assign([ck.TopicPartition("${topic}", 0, 0)])
got = []
while len(got) < ${expected.length}:
    m = c.poll(10)
    if m is None: break
    if m.error(): raise Exception(str(m.error()))
    got.append(m.value().decode())
c.close()
print("\\n".join(got))
`,
  ]);
  expect(py.trim().split("\n")).toEqual(expected);
  const kafka = new Kafka({ clientId: "kj-consume", brokers: [addr], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `kj-${topic}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafkajs consumed ${got.length} of ${expected.length}`)), 20_000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value!.toString());
        if (got.length === expected.length) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  expect(got).toEqual(expected);
}

describe("compression across clients on the file engine", () => {
  for (const name of CODECS) {
    test(`${name}: kafkajs, @platformatic/kafka, kcat and confluent-kafka produce; all consume`, async () => {
      const kafka = new Kafka({ clientId: "kj", brokers: [addr], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      const kjTypes = {
        gzip: CompressionTypes.GZIP,
        snappy: CompressionTypes.Snappy,
        lz4: CompressionTypes.LZ4,
        zstd: CompressionTypes.ZSTD,
      };
      await producer.send({
        topic: `kj-${name}`,
        compression: kjTypes[name],
        messages: values("kj").map((value) => ({ value, partition: 0 })),
      });
      await producer.disconnect();

      const pk = new PlatformaticProducer({
        clientId: "pk",
        bootstrapBrokers: [addr],
        serializers: stringSerializers,
        autocreateTopics: true,
        compression: name,
      });
      await pk.send({ messages: values("pk").map((value) => ({ topic: `pk-${name}`, value, partition: 0 })) });
      await pk.close();

      await run(["kcat", "-b", addr, "-P", "-t", `kc-${name}`, "-p", "0", "-z", name], values("kc").join("\n") + "\n");

      await run([
        "/usr/bin/python3",
        "-c",
        `
import confluent_kafka as ck
p = ck.Producer({"bootstrap.servers": "${addr}", "compression.type": "${name}", "linger.ms": 50})
for i in range(${N}):
    p.produce("py-${name}", value=("py-value-%d-" % i) + "z" * (200 + i * 7), partition=0)
assert p.flush(20) == 0
`,
      ]);

      for (const client of ["kj", "pk", "kc", "py"]) {
        const topic = `${client}-${name}`;
        const codecs = await storedCodecs(topic);
        expect(codecs.length).toBeGreaterThan(0);
        if (process.env.DEBUG_CODECS) console.log(topic, codecs.join(","));
        // stored as the producer sent it (named, so a failure says which client sent what)
        expect({ topic, codecs }).toEqual({ topic, codecs: codecs.map(() => CODEC_ID[name]) });
        await consumeAll(topic, values(client));
      }
    }, 60_000);
  }
});
