// The same real-client round trips against the broker started under Bun, Deno, Node and as the
// compiled binary: kcat (librdkafka 2.0.2), kafkajs and @platformatic/kafka over TCP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import {
  Consumer as PlatformaticConsumer,
  MessagesStreamModes,
  Producer as PlatformaticProducer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { readPartition } from "../helpers/read.ts";
import type { BrokerProcess } from "./harness.ts";
import { RUNTIMES, startBrokerProcess } from "./harness.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

async function kcat(args: string[], input?: string): Promise<string> {
  const p = Bun.spawn(["kcat", ...args], {
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`kcat ${args.join(" ")} exited ${code}: ${err}`);
  return out;
}

for (const kind of RUNTIMES) {
  describe(`${kind} broker`, () => {
    let b: BrokerProcess;
    let addr: string;
    beforeAll(async () => {
      b = await startBrokerProcess(kind, ["-o", "num.partitions=4", "-o", "group.initial.rebalance.delay.ms=0"]);
      addr = `${b.host}:${b.port}`;
    });
    afterAll(async () => {
      expect(await b.stop()).toBe(0);
    });

    test("kcat: metadata, produce, consume", async () => {
      const meta = await kcat(["-b", addr, "-L"]);
      expect(meta).toContain(`broker 0 at ${addr}`);
      await kcat(["-b", addr, "-P", "-t", "kc", "-K:", "-p", "0"], "k1:v1\nk2:v2\nk3:v3\n");
      const out = await kcat(["-b", addr, "-C", "-t", "kc", "-p", "0", "-e", "-f", "%k=%s@%o\n"]);
      expect(out.trim().split("\n")).toEqual(["k1=v1@0", "k2=v2@1", "k3=v3@2"]);
      const meta2 = await kcat(["-b", addr, "-L", "-t", "kc"]);
      expect(meta2).toContain('topic "kc" with 4 partitions');
    });

    test("kafkajs: 10k records across partitions, keys, headers, null values; order and dense offsets", async () => {
      const kafka = new Kafka({ brokers: [addr], clientId: `e2e-${kind}`, logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "kjs", numPartitions: 4 }] });
      const producer = kafka.producer();
      await producer.connect();
      const N = 10_000;
      for (let start = 0; start < N; start += 1000) {
        const messages = [];
        for (let i = start; i < start + 1000; i++) {
          messages.push({
            partition: i % 4,
            key: `key-${i}`,
            value: i % 97 === 0 ? null : `value-${i}`,
            headers: { seq: String(i) },
          });
        }
        await producer.send({ topic: "kjs", acks: -1, messages });
      }
      const offsets = await admin.fetchTopicOffsets("kjs");
      expect(offsets.map((o) => Number(o.high)).reduce((a, b) => a + b, 0)).toBe(N);
      await producer.disconnect();
      await admin.disconnect();

      // Consumed back through a kafkajs group consumer: everything, in order within each partition.
      const consumer = kafka.consumer({ groupId: `rt-${kind}`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: "kjs", fromBeginning: true });
      const got: { partition: number; offset: string; key: string; value: string | null; seq: string }[] = [];
      let resolveAll = () => {};
      const all = new Promise<void>((r) => (resolveAll = r));
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          got.push({
            partition,
            offset: message.offset,
            key: String(message.key),
            value: message.value === null ? null : String(message.value),
            seq: String(message.headers?.seq),
          });
          if (got.length === N) resolveAll();
        },
      });
      await all;
      await consumer.disconnect();
      for (let p = 0; p < 4; p++) {
        const mine = got.filter((g) => g.partition === p);
        expect(mine.map((g) => Number(g.offset))).toEqual([...Array(N / 4).keys()]);
        expect(mine.map((g) => g.key)).toEqual(Array.from({ length: N / 4 }, (_, j) => `key-${p + 4 * j}`));
        expect(mine.every((g) => g.value === (Number(g.seq) % 97 === 0 ? null : `value-${g.seq}`))).toBe(true);
      }

      for (let p = 0; p < 4; p++) {
        const recs = await readPartition(b.port, "kjs", p);
        expect(recs.length).toBe(N / 4);
        recs.forEach((r, j) => {
          const i = p + 4 * j;
          expect(r.offset).toBe(BigInt(j));
          expect(r.key).toBe(`key-${i}`);
          expect(r.value).toBe(i % 97 === 0 ? null : `value-${i}`);
          expect(r.headers.seq).toBe(String(i));
        });
      }
    });

    test("@platformatic/kafka: produce with auto-created topic, read back with its consumer and kcat", async () => {
      const producer = new PlatformaticProducer({
        clientId: `pk-${kind}`,
        bootstrapBrokers: [addr],
        serializers: stringSerializers,
        autocreateTopics: true,
      });
      const messages = Array.from(
        { length: 100 },
        (_, i) => ({ topic: "pk", key: `k${i}`, value: `v${i}`, partition: 0, headers: new Map([["h", `x${i}`]]) }),
      );
      await producer.send({ messages });
      await producer.close();
      const consumer = new PlatformaticConsumer({
        clientId: `pkc-${kind}`,
        groupId: `pk-${kind}`,
        bootstrapBrokers: [addr],
        deserializers: stringDeserializers,
        maxWaitTime: 100,
      });
      const stream = await consumer.consume({ topics: ["pk"], mode: MessagesStreamModes.EARLIEST } as never);
      const seen: string[] = [];
      await new Promise<void>((resolve) => {
        stream.on("data", (m: { key: string; value: string; headers: Map<string, string> }) => {
          seen.push(`${m.key}=${m.value};h=${m.headers.get("h")}`);
          if (seen.length === 100) resolve();
        });
      });
      await stream.close();
      await consumer.close();
      expect(seen).toEqual(messages.map((m) => `${m.key}=${m.value};h=${m.headers.get("h")}`));
      const out = await kcat(["-b", addr, "-C", "-t", "pk", "-p", "0", "-e", "-f", "%k=%s;%h@%o\n"]);
      const lines = out.trim().split("\n");
      expect(lines.length).toBe(100);
      expect(lines[0]).toBe("k0=v0;h=x0@0");
      expect(lines[99]).toBe("k99=v99;h=x99@99");
    });
  });
}
