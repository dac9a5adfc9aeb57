// A broker whose record data lives in a real S3-compatible server (versitygw), through the object data path
// (objectLogStore over the S3 client, in-memory index), driven by real clients: kafkajs produces with
// idempotence and acks=all and consumes in a group, kcat (librdkafka) reads it back; then the object store is
// stopped under idempotent load: produce answers retriable errors, the client retries, and once the store is
// back every acknowledged record is there exactly once, in order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { objectDataPath } from "../../src/storage/objects/data_path.ts";
import { dataPrefix } from "../../src/storage/objects/format.ts";
import { memoryObjectIndex } from "../../src/storage/objects/index.ts";
import { objectLogStore } from "../../src/storage/objects/log_store.ts";
import { S3ObjectStore } from "../../src/storage/objects/s3.ts";
import { listAll } from "../../src/storage/objects/store.ts";
import { testBroker } from "../helpers/broker.ts";
import { readPartition } from "../helpers/read.ts";
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, startS3, type TestS3 } from "../helpers/s3.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
let s3: TestS3;
let store: S3ObjectStore;
let broker: Awaited<ReturnType<typeof testBroker>>;
let addr: string;

beforeAll(async () => {
  s3 = await startS3();
  await s3.client("e2e");
  // Few, quick attempts: an outage surfaces as a produce error within a second instead of after backoff.
  store = new S3ObjectStore({
    bucket: "e2e",
    region: S3_REGION,
    endpoint: s3.endpoint,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
    pathStyle: true,
    maxAttempts: 2,
    retryBaseMs: 20,
    requestTimeoutMs: 3000,
  });
  const index = memoryObjectIndex();
  const config = {
    s3: null as never,
    prefix: "cluster-a",
    flushMs: 20,
    flushBytes: 1 << 20,
    cacheBytes: 8 << 20,
    blockBytes: 256 << 10,
  };
  const path = objectDataPath({ config, index, nodeId: 0, store });
  broker = await testBroker({ "num.partitions": 3, logLevel: "info" }, {
    store: objectLogStore({ path, index, prefix: config.prefix }),
  });
  addr = `127.0.0.1:${broker.port}`;
});
afterAll(async () => {
  await broker?.close();
  await s3?.close();
});

describe("broker with record data in S3 (versitygw)", () => {
  test("kafkajs idempotent acks=all produce, group consume; kcat reads the same; data is in objects", async () => {
    const kafka = new Kafka({ brokers: [addr], clientId: "obj-e2e", logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "orders", numPartitions: 3 }] });
    await admin.disconnect();
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    for (let i = 0; i < 300; i += 30) {
      await p.send({
        topic: "orders",
        acks: -1,
        messages: Array.from({ length: 30 }, (_, j) => ({ key: `k${(i + j) % 7}`, value: `o${i + j}` })),
      });
    }
    await p.disconnect();

    const seen: string[] = [];
    const c = kafka.consumer({ groupId: "obj-group" });
    await c.connect();
    await c.subscribe({ topic: "orders", fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.length} of 300 consumed`)), 60000);
      c.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length === 300) (clearTimeout(timer), resolve());
        },
      }).catch(reject);
    });
    await c.disconnect();
    expect(seen.sort()).toEqual(Array.from({ length: 300 }, (_, i) => `o${i}`).sort());

    // Asynchronous: the broker runs in this process, so a synchronous spawn would stall it.
    const kcat = Bun.spawn(["kcat", "-b", addr, "-C", "-t", "orders", "-e", "-q", "-f", "%s\n"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const killer = setTimeout(() => kcat.kill(), 60000);
    const [out, err] = [await new Response(kcat.stdout).text(), await new Response(kcat.stderr).text()];
    clearTimeout(killer);
    expect(err).toBe("");
    expect(await kcat.exited).toBe(0);
    expect(out.trim().split("\n").sort()).toEqual(seen.sort());

    const objects = [];
    for await (const o of listAll(store, dataPrefix("cluster-a"))) objects.push(o);
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.length).toBeLessThanOrEqual(store.stats.requests.put);
  });

  test("object store stopped under idempotent acks=all load: retriable errors, nothing acknowledged lost", async () => {
    const kafka = new Kafka({
      brokers: [addr],
      clientId: "obj-outage",
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
    await p.connect();
    const acked: string[] = [];
    const send = async (from: number, n: number) => {
      for (let i = from; i < from + n; i += 10) {
        const values = Array.from({ length: 10 }, (_, j) => `m${i + j}`);
        await p.send({ topic: "outage", acks: -1, messages: values.map((value) => ({ value, partition: 0 })) });
        acked.push(...values);
      }
    };
    await send(0, 100);
    await s3.stop();
    const during = send(100, 100); // retried by kafkajs while the store is down
    await Bun.sleep(2000);
    expect(broker.lines.some((l) => l.includes("append to outage-0 failed"))).toBe(true);
    expect(acked.length).toBe(100); // nothing acknowledged while the store is down
    await s3.start();
    await during;
    await send(200, 100);
    await p.disconnect();
    const values = (await readPartition(broker.port, "outage", 0)).filter((r) => !r.control).map((r) => r.value);
    expect(values).toEqual(acked);
    expect(values).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
  });
});
