// kafkajs in tests: a quiet client; one that retries long enough to ride out a storage outage; topics created
// through an admin client; a committed and an aborted transaction; a group consumer that reads a topic back until it
// has a count of records.
import { type ITopicConfig, Kafka, type KafkaMessage, logLevel } from "kafkajs";
import type { BrokerProcess } from "../e2e/harness.ts";

/** kafkajs on the broker at 127.0.0.1:`port`, its log quiet (kafkajs' default retries). */
export function quietKafka(port: number, clientId?: string): Kafka {
  return new Kafka({ brokers: [`127.0.0.1:${port}`], clientId, logLevel: logLevel.NOTHING });
}

/** kafkajs on `b`, quiet, retrying `retries` times 100 ms to 1 s apart. */
export function retryingKafka(b: BrokerProcess, clientId: string, retries = 40): Kafka {
  return new Kafka({
    brokers: [`127.0.0.1:${b.port}`],
    clientId,
    logLevel: logLevel.NOTHING,
    retry: { retries, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Creates `topics` through a kafkajs admin client that is connected for just that. */
export async function createTopics(kafka: Kafka, topics: ITopicConfig[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Two transactions of a kafkajs transactional producer `transactionalId` on `topic`: one that commits the record
 * t=committed, then one that aborts t=aborted (each leaves a marker after its record).
 */
export async function commitThenAbort(kafka: Kafka, transactionalId: string, topic: string): Promise<void> {
  const tp = kafka.producer({ transactionalId, maxInFlightRequests: 1, idempotent: true });
  await tp.connect();
  let tx = await tp.transaction();
  await tx.send({ topic, messages: [{ key: "t", value: "committed" }] });
  await tx.commit();
  tx = await tp.transaction();
  await tx.send({ topic, messages: [{ key: "t", value: "aborted" }] });
  await tx.abort();
  await tp.disconnect();
}

export type Consumed = { partition: number; message: KafkaMessage };

/**
 * A group consumer on `topic` from the beginning until `count` records arrived (throws after `ms` with how many
 * did); the records in arrival order.
 */
export async function consumeCount(
  kafka: Kafka,
  topic: string,
  count: number,
  groupId: string,
  ms = 60_000,
): Promise<Consumed[]> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Consumed[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${got.length}/${count} of ${topic}`)), ms);
    const enough = () => {
      if (got.length < count) return;
      clearTimeout(timer);
      resolve();
    };
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({ partition, message });
        enough();
      },
    }).catch(reject);
    enough(); // a count of 0
  });
  await consumer.disconnect();
  return got;
}
