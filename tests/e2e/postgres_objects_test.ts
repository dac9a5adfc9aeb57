// A broker on `--storage postgres://…` with `-o chronik.object.store=s3://bucket/prefix`: record data in a
// real S3-compatible server (versitygw, tests/helpers/s3.ts), PostgreSQL (tests/helpers/postgres.ts) as the
// index and sequencer. The S3 credentials come from AWS_* environment variables (the CLI passes them in).
// kcat and kafkajs produce (idempotent, acks=all) and consume with a group; the records are in objects, not
// in chronik_batches; the broker restarts (on Bun, then Node) and everything is still there, offsets go on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import type { TestS3 } from "../helpers/s3.ts";
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, startS3 } from "../helpers/s3.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let pg: TestPostgres;
let s3: TestS3;
beforeAll(async () => {
  pg = await startPostgres();
  s3 = await startS3();
}, 120_000);
afterAll(async () => {
  pg?.destroy();
  await s3?.close();
});

async function kcat(args: string[], input?: string): Promise<string> {
  const p = Bun.spawn(["kcat", ...args], {
    stdin: input === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  if (input !== undefined) {
    p.stdin!.write(input);
    p.stdin!.end();
  }
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`kcat ${args.join(" ")} exited ${code}: ${err}`);
  return out;
}

const kafka = (b: BrokerProcess, id = "pg-s3-e2e") =>
  new Kafka({
    brokers: [`127.0.0.1:${b.port}`],
    clientId: id,
    logLevel: logLevel.NOTHING,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1000 },
  });

async function consumeAll(b: BrokerProcess, topic: string, count: number, groupId: string): Promise<string[]> {
  const consumer = kafka(b).consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${got.length}/${count} of ${topic}`)), 60_000);
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push(`${partition}:${message.offset}:${message.value?.toString()}`);
        if (got.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  return got;
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
        expect(await kcat(["-b", addr, "-C", "-t", "kc", "-p", "0", "-e", "-f", "%k=%s@%o\n"])).toBe(
          "k1=v1@0\nk2=v2@1\nk3=v3@2\n",
        );
        const admin = kafka(b).admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: "orders", numPartitions: 3 }] });
        await admin.disconnect();
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

      for (const kind of ["bun", "node"] as const) {
        b = await startBrokerProcess(kind, args, env);
        try {
          const addr = `127.0.0.1:${b.port}`;
          expect(await kcat(["-b", addr, "-C", "-t", "kc", "-p", "0", "-e", "-f", "%k=%s@%o\n"])).toStartWith(
            "k1=v1@0\nk2=v2@1\nk3=v3@2\n",
          );
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
          expect(next).toEqual([`0:${kind === "bun" ? 10 : 11}:after-${kind}`]);
          const all = await consumeAll(b, "orders", 30 + (kind === "bun" ? 1 : 2), `all-${kind}`);
          expect(sorted(all).filter((x) => x.includes(":o")).length).toBe(30);
          // kcat's three records come back from objects (not the writer's cache: a fresh process).
          await kcat(
            ["-b", addr, "-P", "-t", "kc", "-p", "0", "-X", "enable.idempotence=true", "-X", "acks=all"],
            `${kind}\n`,
          );
          expect(await kcat(["-b", addr, "-C", "-t", "kc", "-p", "0", "-o", "-1", "-e", "-f", "%s@%o\n"])).toBe(
            `${kind}@${kind === "bun" ? 3 : 4}\n`,
          );
        } finally {
          expect(await b.stop()).toBe(0);
        }
      }
    },
    150_000,
  );
});
