// Idempotent producers of librdkafka, kafkajs and @platformatic/kafka while the broker drops the
// connection right after appending (test hook): retries must not duplicate or reorder records.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { Producer as PlatformaticProducer, stringSerializers } from "@platformatic/kafka";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { readPartition } from "../helpers/read.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
let broker: Broker & { lines: string[] };
let addr: string;

beforeAll(async () => {
  broker = await testBroker({ "chronik.test.drop.produce.response.every": 5, "num.partitions": 1, logLevel: "info" });
  addr = `127.0.0.1:${broker.port}`;
});
afterAll(() => broker.close());

async function expectExactlyOnce(topic: string, n: number) {
  const recs = await readPartition(broker.port, topic, 0);
  const values = recs.filter((r) => !r.control).map((r) => r.value);
  expect(values.length).toBe(n);
  expect(values).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
  expect(broker.lines.some((l) => l.includes("test hook"))).toBe(true);
}

describe("idempotent producers survive dropped responses without duplicates", () => {
  test("kafkajs", async () => {
    const kafka = new Kafka({
      brokers: [addr],
      clientId: "idem-kjs",
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 50 },
    });
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
    await p.connect();
    for (let i = 0; i < 400; i += 20) {
      await p.send({
        topic: "idem-kjs",
        acks: -1,
        messages: Array.from({ length: 20 }, (_, j) => ({ value: `m${i + j}` })),
      });
    }
    await p.disconnect();
    await expectExactlyOnce("idem-kjs", 400);
  });

  test("librdkafka (python3-confluent-kafka)", async () => {
    const script = `
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "enable.idempotence": True, "linger.ms": 5, "batch.num.messages": 20, "retry.backoff.ms": 20, "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100})
errors = []
for i in range(1000):
    p.produce("idem-rdk", value=("m%d" % i).encode(), partition=0, on_delivery=lambda err, msg: err and errors.append(err))
    p.poll(0)
p.flush(60)
print("errors", len(errors))
sys.exit(1 if errors else 0)
`;
    const proc = Bun.spawn(["/usr/bin/python3", "-c", script, addr], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (code !== 0) throw new Error(`python exited ${code}: ${out}${err}`);
    await expectExactlyOnce("idem-rdk", 1000);
  });

  test("@platformatic/kafka", async () => {
    const p = new PlatformaticProducer({
      clientId: "idem-pk",
      bootstrapBrokers: [addr],
      serializers: stringSerializers,
      idempotent: true,
      autocreateTopics: true,
      retries: 20,
      retryDelay: 50,
    });
    for (let i = 0; i < 200; i += 10) {
      await p.send({
        messages: Array.from({ length: 10 }, (_, j) => ({ topic: "idem-pk", value: `m${i + j}`, partition: 0 })),
      });
    }
    await p.close();
    await expectExactlyOnce("idem-pk", 200);
  });
});
