// A real client under producer_byte_rate: kafkajs 2.2.4 producing N bytes to a broker with a
// 50 KB/s quota on its client id (set over the wire: kafkajs has no alterClientQuotas) takes at
// least about N / rate, and every record arrives once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { AlterClientQuotas } from "../../src/protocol/messages/49_alter_client_quotas.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let broker: Broker;

beforeAll(async () => {
  // A 1 s minimum window (quota.window.num=2) keeps the unthrottled burst at one second of quota.
  broker = await testBroker({ "quota.window.num": 2, "quota.window.size.seconds": 1, logLevel: "warn" });
});
afterAll(async () => {
  await broker.close();
});

test("kafkajs producer held to producer_byte_rate, nothing lost", async () => {
  const rate = 50_000;
  const w = await WireClient.connect(broker.port);
  const r = await w.send(AlterClientQuotas, 1, {
    entries: [{
      entity: [{ entityType: "client-id", entityName: "kjs-slow" }],
      ops: [{ key: "producer_byte_rate", value: rate, remove: false }],
    }],
    validateOnly: false,
  });
  expect(r.entries![0].errorCode).toBe(0);
  w.close();

  const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: "kjs-slow", logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "kjs-quota", numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  const value = "x".repeat(1000);
  const sends = 25;
  const perSend = 10;
  const bytes = sends * perSend * value.length;
  const t0 = performance.now();
  for (let i = 0; i < sends; i++) {
    await producer.send({
      topic: "kjs-quota",
      acks: -1,
      messages: Array.from({ length: perSend }, (_, j) => ({ key: `${i}-${j}`, value })),
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  await producer.disconnect();
  // Ideal: bytes / rate = 5 s. Generous lower bound, no upper bound.
  expect(seconds).toBeGreaterThanOrEqual(0.5 * bytes / rate);
  const offsets = await admin.fetchTopicOffsets("kjs-quota");
  expect(offsets[0].high).toBe(String(sends * perSend));
  await admin.disconnect();
}, 60_000);
