// Three brokers (Bun, Deno and Node) on one PostgreSQL form one cluster: Metadata and DescribeCluster
// show the three, partition leadership is spread over them, kcat produces to every partition through
// one bootstrap address (librdkafka routes to each leader) and reads it back; a kafkajs consumer
// group commits offsets through the coordinator; a kafkajs transaction spans partitions led by all
// three (markers through WriteTxnMarkers). Then one broker is SIGKILLed: its lease lapses, the
// others take its partitions over with a higher leader epoch, and produce and consume go on. Then
// another is SIGKILLed: the last broker takes everything, the __consumer_offsets partitions among
// them, loads the group, and the group resumes from its committed offsets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { kcat, metadata, until } from "../helpers/kcat.ts";
import { startCluster } from "../helpers/pg_cluster.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let pg: TestPostgres;
const brokers: BrokerProcess[] = [];
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const b of brokers) await b.stop().catch(() => {});
  pg?.destroy();
});

describe("three brokers on one PostgreSQL", () => {
  test(
    "one cluster: three brokers in Metadata, leaders spread, produce/consume through every leader, a group; a transaction across the three; a SIGKILLed broker's partitions move; the coordinator killed, the group resumes",
    async () => {
      await startCluster(pg.createDatabase("cluster"), ["bun", "deno", "node"], brokers);
      const addr = `127.0.0.1:${brokers[0].port}`;
      const all = await metadata(addr);
      expect(all.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
      expect(all.brokers.map((b) => b.name).sort()).toEqual(brokers.map((b) => `127.0.0.1:${b.port}`).sort());

      const admin = new Kafka({ brokers: [addr], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "spread", numPartitions: 6 }] });
      // A 2 s lease (FAST_CLUSTER) can lapse for a moment while the cluster starts under the suite's load (the
      // internal topics' 50 + 50 partitions are created then): wait for the three again rather than read once.
      let described = await admin.describeCluster();
      for (let i = 0; i < 50 && described.brokers.length !== 3; i++) {
        await Bun.sleep(200);
        described = await admin.describeCluster();
      }
      expect(described.brokers.length).toBe(3);
      await admin.disconnect();
      const spread = await until(
        () => metadata(addr, "spread"),
        (m) =>
          new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3 &&
          !m.topics[0].partitions.some((p) => p.leader < 0),
      );
      expect(new Set(spread.topics[0].partitions.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));

      // kcat: one bootstrap address, records to each partition go to its leader.
      for (let p = 0; p < 6; p++) {
        await kcat(["-b", addr, "-P", "-t", "spread", "-p", String(p)], `a${p}\nb${p}\n`);
      }
      for (let p = 0; p < 6; p++) {
        expect(await kcat(["-b", addr, "-C", "-t", "spread", "-p", String(p), "-e", "-f", "%s@%o\n"])).toBe(
          `a${p}@0\nb${p}@1\n`,
        );
      }

      // A kafkajs group, coordinated by one broker, committing offsets for partitions led by all three.
      const kafka = new Kafka({
        brokers: [`127.0.0.1:${brokers[1].port}`],
        logLevel: logLevel.NOTHING,
        retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      const consumer = kafka.consumer({ groupId: "spread-group", maxWaitTimeInMs: 200 });
      await consumer.connect();
      await consumer.subscribe({ topic: "spread", fromBeginning: true });
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed ${seen.length}/12`)), 60_000);
        consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.length === 12) {
              clearTimeout(timer);
              resolve();
            }
          },
        }).catch(reject);
      });
      await consumer.disconnect();
      expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5].flatMap((p) => [`a${p}`, `b${p}`]).sort());
      const admin2 = kafka.admin();
      await admin2.connect();
      const committed = await admin2.fetchOffsets({ groupId: "spread-group", topics: ["spread"] });
      expect(committed[0].partitions.map((p) => p.offset)).toEqual(["2", "2", "2", "2", "2", "2"]);
      await admin2.disconnect();

      // A transaction over partitions led by the three brokers: the coordinator sends the markers of the
      // others' partitions to them (WriteTxnMarkers); read_committed sees the committed one only.
      const admin3 = kafka.admin();
      await admin3.connect();
      await admin3.createTopics({ topics: [{ topic: "txspread", numPartitions: 3 }] });
      await admin3.disconnect();
      const txLeaders = await until(
        () => metadata(addr, "txspread"),
        (m) =>
          new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3 &&
          !m.topics[0].partitions.some((p) => p.leader < 0),
      );
      expect(new Set(txLeaders.topics[0].partitions.map((p) => p.leader)).size).toBe(3);
      const tp = kafka.producer({ transactionalId: "spread-tx", maxInFlightRequests: 1, idempotent: true });
      await tp.connect();
      let tx = await tp.transaction();
      await tx.send({ topic: "txspread", messages: [0, 1, 2].map((p) => ({ partition: p, value: `t${p}` })) });
      await tx.commit();
      tx = await tp.transaction();
      await tx.send({ topic: "txspread", messages: [0, 1, 2].map((p) => ({ partition: p, value: `x${p}` })) });
      await tx.abort();
      await tp.disconnect();
      for (let p = 0; p < 3; p++) {
        const read = (level: string) =>
          kcat([
            "-b",
            addr,
            "-C",
            "-t",
            "txspread",
            "-p",
            String(p),
            "-e",
            "-X",
            `isolation.level=${level}`,
            "-f",
            "%s@%o\n",
          ]);
        expect(await read("read_committed")).toBe(`t${p}@0\n`);
        expect(await read("read_uncommitted")).toBe(`t${p}@0\nx${p}@2\n`);
      }

      // SIGKILL broker 3: after its lease, brokers 1 and 2 lead everything, at higher epochs.
      const before = new Map(spread.topics[0].partitions.map((p) => [p.partition, p.leader]));
      brokers[2].proc.kill("SIGKILL");
      await brokers[2].stop();
      const after = await until(
        () => metadata(addr, "spread"),
        (m) => m.brokers.length === 2 && m.topics[0].partitions.every((p) => p.leader === 1 || p.leader === 2),
      );
      expect(after.brokers.map((b) => b.id).sort()).toEqual([1, 2]);
      expect(after.topics[0].partitions.every((p) => p.leader === 1 || p.leader === 2)).toBe(true);
      expect([...before.values()].includes(3)).toBe(true);
      for (let p = 0; p < 6; p++) {
        await kcat(["-b", addr, "-P", "-t", "spread", "-p", String(p)], `c${p}\n`);
        expect(await kcat(["-b", addr, "-C", "-t", "spread", "-p", String(p), "-e", "-f", "%s@%o\n"])).toBe(
          `a${p}@0\nb${p}@1\nc${p}@2\n`,
        );
      }
      expect(brokers[0].logs() + brokers[1].logs()).toMatch(/now leading \d+ partition\(s\)/);

      // SIGKILL broker 1, a coordinator: broker 2 takes everything (the internal partitions too),
      // and the group goes on from its committed offsets (only the c records).
      expect(brokers[0].logs()).toContain("coordinating groups and transactions of");
      brokers[0].proc.kill("SIGKILL");
      await brokers[0].stop();
      const last = `127.0.0.1:${brokers[1].port}`;
      await until(
        () => metadata(last, "spread"),
        (m) => m.brokers.length === 1 && m.topics[0].partitions.every((p) => p.leader === 2),
      );
      const again = kafka.consumer({ groupId: "spread-group", maxWaitTimeInMs: 200 });
      await again.connect();
      await again.subscribe({ topic: "spread", fromBeginning: true });
      const rest: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`consumed ${rest.length}/6 after the coordinator died`)),
          90_000,
        );
        again.run({
          eachMessage: async ({ message }) => {
            rest.push(message.value!.toString());
            if (rest.length === 6) {
              clearTimeout(timer);
              resolve();
            }
          },
        }).catch(reject);
      });
      await again.disconnect();
      expect(rest.sort()).toEqual([0, 1, 2, 3, 4, 5].map((p) => `c${p}`));
      expect(brokers[1].logs()).toContain("coordinating groups and transactions of");
    },
    240_000,
  );
});
