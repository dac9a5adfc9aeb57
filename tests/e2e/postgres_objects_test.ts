// A broker on `--storage postgres://…` with `-o chronik.object.store=s3://bucket/prefix`: record data in a
// real S3-compatible server (versitygw, tests/helpers/s3.ts), PostgreSQL (tests/helpers/postgres.ts) as the
// index and sequencer. The S3 credentials come from AWS_* environment variables (the CLI passes them in).
// kcat and kafkajs produce (idempotent, acks=all) and consume with a group; the records are in objects, not
// in chronik_batches; the broker restarts (on Bun, Deno, then Node) and everything is still there, offsets go on.
// Two brokers share the database and bucket; one is SIGKILLed and the other serves what it acknowledged. The object
// store, then PostgreSQL, is stopped under idempotent load: retriable errors, nothing acknowledged lost. PostgreSQL
// hangs (SIGSTOP) under idempotent load: KAFKA_STORAGE_ERROR after chronik.postgres.request.timeout.ms; it wakes
// for new connections first, so the producer's retries commit before the commits given up on run (the old
// connections' backends wake last): every acknowledged record is read back exactly once, in order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { kcat, kcatRead, metadata, until } from "../helpers/kcat.ts";
import { commitThenAbort, consumeCount, createTopics, retryingKafka } from "../helpers/kafkajs.ts";
import { startCluster } from "../helpers/pg_cluster.ts";
import { hungPostgresUnderLoad } from "../helpers/pg_hung.ts";
import type { TestS3 } from "../helpers/s3.ts";
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, startS3 } from "../helpers/s3.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let pg: TestPostgres;
let s3: TestS3;
beforeAll(async () => {
  pg = await startPostgres();
  s3 = await startS3();
}, 120_000);
/** Brokers of the cluster test: stopped before PostgreSQL and the object store go. */
const running: BrokerProcess[] = [];
afterAll(async () => {
  for (const b of running) await b.stop().catch(() => {});
  pg?.destroy();
  await s3?.close();
}, 60_000);

const kafka = (b: BrokerProcess, id = "pg-s3-e2e") => retryingKafka(b, id);

/** `partition:offset:value` of `count` records of `topic`, read by group `groupId` from its committed offsets. */
async function consumeAll(b: BrokerProcess, topic: string, count: number, groupId: string): Promise<string[]> {
  return (await consumeCount(kafka(b), topic, count, groupId)).map((r) =>
    `${r.partition}:${r.message.offset}:${r.message.value?.toString()}`
  );
}

const sorted = (xs: string[]) => [...xs].sort();

describe("broker on PostgreSQL with record data in S3", () => {
  test(
    "kcat + kafkajs idempotent acks=all: produce, consume, group offsets; data in objects; all still there after restarts",
    async () => {
      const url = pg.createDatabase("objects");
      const bucket = await s3.client("chronik-e2e");
      const args = [
        "--storage",
        url,
        "-o",
        "chronik.object.store=s3://chronik-e2e/cluster-a",
        "-o",
        `chronik.s3.endpoint=${s3.endpoint}`,
        "-o",
        "chronik.object.flush.ms=20",
        "-o",
        "num.partitions=1",
        "-o",
        "group.initial.rebalance.delay.ms=0",
      ];
      const env = { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY, AWS_REGION: S3_REGION };
      let b = await startBrokerProcess("bun", args, env);
      try {
        expect(b.logs()).toContain("with record data in s3://chronik-e2e/cluster-a");
        expect(b.logs()).not.toContain("isn't a known config");
        const addr = `127.0.0.1:${b.port}`;
        await kcat(
          ["-b", addr, "-P", "-t", "kc", "-K:", "-p", "0", "-X", "enable.idempotence=true", "-X", "acks=all"],
          "k1:v1\nk2:v2\nk3:v3\n",
        );
        expect(await kcatRead(addr, "kc", 0, "%k=%s@%o\n")).toBe(
          "k1=v1@0\nk2=v2@1\nk3=v3@2\n",
        );
        await createTopics(kafka(b), [{ topic: "orders", numPartitions: 3 }]);
        const producer = kafka(b).producer({ idempotent: true });
        await producer.connect();
        // Sent concurrently so that several partitions' batches share objects.
        await Promise.all(
          Array.from(
            { length: 30 },
            (_, i) => producer.send({ topic: "orders", acks: -1, messages: [{ partition: i % 3, value: `o${i}` }] }),
          ),
        );
        await producer.disconnect();
        const consumed = await consumeAll(b, "orders", 30, "g1");
        expect(consumed.length).toBe(30);
        for (let p = 0; p < 3; p++) {
          expect(consumed.filter((c) => c.startsWith(`${p}:`)).map((c) => c.split(":")[1]))
            .toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
        }
        // A transaction that commits and one that aborts (markers are appends through the objects too).
        await commitThenAbort(kafka(b), "obj-tx", "kc");
        const readKc = (level: string) => kcatRead(addr, "kc", 0, "%s@%o\n", ["-X", `isolation.level=${level}`]);
        expect(await readKc("read_committed")).toBe("v1@0\nv2@1\nv3@2\ncommitted@3\n");
        expect(await readKc("read_uncommitted")).toBe("v1@0\nv2@1\nv3@2\ncommitted@3\naborted@5\n");
        // The record data is in objects under the prefix; PostgreSQL holds extents, not batches.
        const objects = (await bucket.list("cluster-a/chronik-data/")).objects;
        expect(objects.length).toBeGreaterThan(0);
        expect(pg.psql("SELECT count(*) FROM chronik_batches", url.split("/").pop()).trim()).toContain("0");
        const extents = Number(
          /\d+/.exec(pg.psql("SELECT count(*) FROM chronik_extents", url.split("/").pop()))![0],
        );
        expect(extents).toBeGreaterThanOrEqual(4);
      } finally {
        expect(await b.stop()).toBe(0);
      }

      for (const [round, kind] of (["bun", "deno", "node"] as const).entries()) {
        b = await startBrokerProcess(kind, args, env);
        try {
          const addr = `127.0.0.1:${b.port}`;
          expect(
            await kcatRead(addr, "kc", 0, "%s@%o\n", ["-X", "isolation.level=read_committed"]),
          ).toStartWith("v1@0\nv2@1\nv3@2\ncommitted@3\n");
          // The group's committed offsets hold: nothing new for g1 until more is produced.
          const producer = kafka(b).producer({ idempotent: true });
          await producer.connect();
          const r = await producer.send({
            topic: "orders",
            acks: -1,
            messages: [{ partition: 0, value: `after-${kind}` }],
          });
          expect(r[0].errorCode).toBe(0);
          await producer.disconnect();
          const next = await consumeAll(b, "orders", 1, "g1");
          expect(next).toEqual([`0:${10 + round}:after-${kind}`]);
          const all = await consumeAll(b, "orders", 31 + round, `all-${kind}`);
          expect(sorted(all).filter((x) => x.includes(":o")).length).toBe(30);
          // kcat's three records come back from objects (not the writer's cache: a fresh process).
          await kcat(
            ["-b", addr, "-P", "-t", "kc", "-p", "0", "-X", "enable.idempotence=true", "-X", "acks=all"],
            `${kind}\n`,
          );
          expect(await kcatRead(addr, "kc", 0, "%s@%o\n", ["-o", "-1"])).toBe(
            `${kind}@${7 + round}\n`,
          );
        } finally {
          expect(await b.stop()).toBe(0);
        }
      }
    },
    150_000,
  );

  test(
    "two brokers (Bun, Node) on one PostgreSQL and one bucket: leaders spread, idempotent produce through each; one SIGKILLed, the other takes its partitions and serves every acknowledged record from the objects",
    async () => {
      const url = pg.createDatabase("objcluster");
      await s3.client("chronik-two");
      const objectFlags = [
        "-o",
        "chronik.object.store=s3://chronik-two",
        "-o",
        `chronik.s3.endpoint=${s3.endpoint}`,
        "-o",
        `chronik.s3.access.key.id=${S3_ACCESS_KEY}`,
        "-o",
        "chronik.object.flush.ms=20",
      ];
      const env = { AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY };
      await startCluster(url, ["bun", "node"], running, objectFlags, env);
      const addr = `127.0.0.1:${running[0].port}`;
      const both = await metadata(addr);
      expect(both.brokers.map((b) => b.id).sort()).toEqual([1, 2]);
      await createTopics(new Kafka({ brokers: [addr], logLevel: logLevel.NOTHING }), [{
        topic: "two",
        numPartitions: 4,
      }]);
      const spread = await until(
        () => metadata(addr, "two"),
        (m) =>
          m.topics[0]?.partitions.every((p) => p.leader >= 0) &&
          new Set(m.topics[0]?.partitions.map((p) => p.leader)).size === 2,
      );
      expect(new Set(spread.topics[0].partitions.map((p) => p.leader))).toEqual(new Set([1, 2]));
      const idem = ["-X", "enable.idempotence=true", "-X", "acks=all"];
      for (let p = 0; p < 4; p++) {
        await kcat(["-b", addr, "-P", "-t", "two", "-p", String(p), ...idem], `a${p}\nb${p}\n`);
      }
      for (let p = 0; p < 4; p++) {
        expect(await kcatRead(addr, "two", p, "%s@%o\n")).toBe(
          `a${p}@0\nb${p}@1\n`,
        );
      }

      // SIGKILL broker 2: broker 1 takes its partitions (a higher epoch) and reads what broker 2 committed.
      running[1].proc.kill("SIGKILL");
      await running[1].stop();
      const after = await until(
        () => metadata(addr, "two"),
        (m) => m.brokers.length === 1 && m.topics[0].partitions.every((p) => p.leader === 1),
      );
      expect(after.topics[0].partitions.every((p) => p.leader === 1)).toBe(true);
      for (let p = 0; p < 4; p++) {
        await kcat(["-b", addr, "-P", "-t", "two", "-p", String(p), ...idem], `c${p}\n`);
        expect(await kcatRead(addr, "two", p, "%s@%o\n")).toBe(
          `a${p}@0\nb${p}@1\nc${p}@2\n`,
        );
      }
      expect(running[0].logs()).toMatch(/now leading \d+ partition\(s\)/);
    },
    150_000,
  );

  test(
    "PostgreSQL hung (SIGSTOP) under idempotent acks=all load: KAFKA_STORAGE_ERROR, service resumes after SIGCONT, every acknowledged record once, in order",
    async () => {
      const url = pg.createDatabase("objhung");
      await s3.client("chronik-hung");
      const b = await startBrokerProcess("bun", [
        "--storage",
        url,
        "-o",
        "chronik.object.store=s3://chronik-hung",
        "-o",
        `chronik.s3.endpoint=${s3.endpoint}`,
        "-o",
        "chronik.object.flush.ms=5",
        "-o",
        "chronik.postgres.request.timeout.ms=1000",
      ], { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY });
      running.push(b);
      await hungPostgresUnderLoad(b, pg, { clientId: "obj-hung", warm: 40 });
    },
    120_000,
  );

  test(
    "the object store, then PostgreSQL, stopped under idempotent acks=all load: retriable errors, nothing acknowledged lost, service resumes",
    async () => {
      const url = pg.createDatabase("objfault");
      await s3.client("chronik-fault");
      const b = await startBrokerProcess("bun", [
        "--storage",
        url,
        "-o",
        "chronik.object.store=s3://chronik-fault",
        "-o",
        `chronik.s3.endpoint=${s3.endpoint}`,
        "-o",
        "chronik.object.flush.ms=20",
      ], { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY });
      running.push(b);
      const k = retryingKafka(b, "obj-fault", 60);
      await createTopics(k, [{ topic: "outage", numPartitions: 1 }]);
      const p = k.producer({ idempotent: true, maxInFlightRequests: 1 });
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
      for (const [name, server] of [["object store", s3], ["PostgreSQL", pg]] as const) {
        const before = acked.length;
        const logFrom = b.logs().length;
        await server.stop();
        const during = send(acked.length, 100); // retried by kafkajs while the server is down
        await Bun.sleep(3000);
        expect(b.logs().slice(logFrom), name).toContain("append to outage-0 failed");
        expect(acked.length).toBe(before); // nothing acknowledged while it is down
        await server.start();
        await during;
        expect(acked.length, name).toBe(before + 100);
      }
      await send(acked.length, 100);
      await p.disconnect();
      const out = await kcatRead(`127.0.0.1:${b.port}`, "outage", 0);
      expect(out.trim().split("\n")).toEqual(acked);
      expect(acked).toEqual(Array.from({ length: 400 }, (_, i) => `m${i}`));
    },
    150_000,
  );
});
