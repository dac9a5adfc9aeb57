// A broker on `--storage postgres://…` (a private PostgreSQL, tests/helpers/postgres.ts) driven by
// real clients: kcat and kafkajs produce and consume, a consumer group commits offsets, a
// transaction commits and one aborts, a dynamic config is set; the broker is restarted (Bun, then
// Deno, Node and the compiled Bun binary: the outbound TCP port of each) and everything is still there. Then
// PostgreSQL is stopped for a few seconds under acks=all idempotent produce: produce fails with a
// retriable error meanwhile, every acknowledged record is read back exactly once, in order. Then PostgreSQL hangs
// (SIGSTOP, connections open, nothing answers): produce answers the retriable KAFKA_STORAGE_ERROR once
// chronik.postgres.request.timeout.ms passed, not a client timeout; it wakes for new connections first, so the
// producer's retries are stored before the appends given up on run (the old connections' backends wake last,
// each refused by its partition's log-end check): service resumes by itself, every acknowledged record once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { kcat } from "../helpers/kcat.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.destroy());

const kafka = (b: BrokerProcess, id = "pg-e2e") =>
  new Kafka({
    brokers: [`127.0.0.1:${b.port}`],
    clientId: id,
    logLevel: logLevel.NOTHING,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1000 },
  });

async function consumeAll(
  b: BrokerProcess,
  topic: string,
  count: number,
  opts: { groupId: string; readUncommitted?: boolean },
): Promise<string[]> {
  const consumer = kafka(b).consumer({
    groupId: opts.groupId,
    readUncommitted: opts.readUncommitted ?? false,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${got.length}/${count} of ${topic}`)), 60_000);
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push(`${partition}:${message.value?.toString()}`);
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

describe("broker on PostgreSQL storage", () => {
  test(
    "kcat + kafkajs: produce, consume, group offsets, a transaction, a config; all still there after restarts on Deno, Node and the compiled binary",
    async () => {
      const url = pg.createDatabase("e2e");
      const args = ["--storage", url, "-o", "num.partitions=1", "-o", "group.initial.rebalance.delay.ms=0"];
      let b = await startBrokerProcess("bun", args);
      try {
        expect(b.logs()).toContain("storage: PostgreSQL at postgres://postgres@127.0.0.1");
        // kcat: auto-created topic, produce and consume.
        await kcat(["-b", `127.0.0.1:${b.port}`, "-P", "-t", "kc", "-K:", "-p", "0"], "k1:v1\nk2:v2\nk3:v3\n");
        expect(await kcat(["-b", `127.0.0.1:${b.port}`, "-C", "-t", "kc", "-p", "0", "-e", "-f", "%k=%s@%o\n"])).toBe(
          "k1=v1@0\nk2=v2@1\nk3=v3@2\n",
        );
        // kafkajs: a 3-partition topic, a group that consumes and commits.
        const admin = kafka(b).admin();
        await admin.connect();
        await admin.createTopics({
          topics: [{
            topic: "orders",
            numPartitions: 3,
            configEntries: [{ name: "retention.ms", value: "123456789" }],
          }],
        });
        await admin.alterConfigs({
          validateOnly: false,
          resources: [{
            type: ConfigResourceTypes.BROKER,
            name: "0",
            configEntries: [{ name: "compression.gzip.level", value: "5" }],
          }],
        });
        await admin.disconnect();
        const producer = kafka(b).producer({ idempotent: true });
        await producer.connect();
        for (let i = 0; i < 30; i++) {
          await producer.send({ topic: "orders", acks: -1, messages: [{ partition: i % 3, value: `o${i}` }] });
        }
        await producer.disconnect();
        const consumed = await consumeAll(b, "orders", 30, { groupId: "g1" });
        expect(consumed.length).toBe(30);
        // A transaction that commits and one that aborts.
        const tp = kafka(b).producer({ transactionalId: "pg-tx", maxInFlightRequests: 1, idempotent: true });
        await tp.connect();
        let tx = await tp.transaction();
        await tx.send({ topic: "kc", messages: [{ key: "t", value: "committed" }] });
        await tx.commit();
        tx = await tp.transaction();
        await tx.send({ topic: "kc", messages: [{ key: "t", value: "aborted" }] });
        await tx.abort();
        await tp.disconnect();
      } finally {
        expect(await b.stop()).toBe(0);
      }

      for (const [round, kind] of (["deno", "node", "binary"] as const).entries()) {
        b = await startBrokerProcess(kind, args);
        try {
          const addr = `127.0.0.1:${b.port}`;
          // kc: the three records, the committed one, the aborted batch and the two markers took offsets 3-6.
          const committed = await kcat([
            "-b",
            addr,
            "-C",
            "-t",
            "kc",
            "-p",
            "0",
            "-e",
            "-X",
            "isolation.level=read_committed",
            "-f",
            "%s@%o\n",
          ]);
          expect(committed).toBe("v1@0\nv2@1\nv3@2\ncommitted@3\n");
          const admin = kafka(b).admin();
          await admin.connect();
          const offsets = await admin.fetchOffsets({ groupId: "g1", topics: ["orders"] });
          // 10 per partition, plus partition 1's record produced by each earlier restart.
          const after = round;
          expect(offsets[0].partitions.map((p) => `${p.partition}@${p.offset}`).sort()).toEqual(
            ["0@10", `1@${10 + after}`, "2@10"],
          );
          const cfg = await admin.describeConfigs({
            includeSynonyms: false,
            resources: [
              { type: ConfigResourceTypes.TOPIC, name: "orders", configNames: ["retention.ms"] },
              { type: ConfigResourceTypes.BROKER, name: "0", configNames: ["compression.gzip.level"] },
            ],
          });
          expect(cfg.resources.map((r) => r.configEntries[0].configValue)).toEqual(["123456789", "5"]);
          await admin.disconnect();
          // The group goes on from its committed offsets: only new records arrive.
          const producer = kafka(b).producer({ idempotent: true });
          await producer.connect();
          await producer.send({ topic: "orders", acks: -1, messages: [{ partition: 1, value: `after-${kind}` }] });
          await producer.disconnect();
          expect(await consumeAll(b, "orders", 1, { groupId: "g1" })).toEqual([`1:after-${kind}`]);
        } finally {
          expect(await b.stop()).toBe(0);
        }
      }
    },
    180_000,
  );

  test("SIGKILL: the restarted broker waits out its old lease, then serves every acknowledged record", async () => {
    const url = pg.createDatabase("sigkill");
    // The lease must outlast the restart (SIGKILL to "listening on"), which takes seconds beside other test workers.
    const args = ["--storage", url, "-o", "broker.heartbeat.interval.ms=300", "-o", "broker.session.timeout.ms=6000"];
    const first = await startBrokerProcess("bun", args);
    const lines = Array.from({ length: 50 }, (_, i) => `r${i}`).join("\n") + "\n";
    await kcat(["-b", `127.0.0.1:${first.port}`, "-P", "-t", "crash", "-p", "0", "-X", "acks=all"], lines);
    first.proc.kill("SIGKILL");
    await first.stop();
    const second = await startBrokerProcess("bun", args);
    try {
      const out = await kcat(["-b", `127.0.0.1:${second.port}`, "-C", "-t", "crash", "-p", "0", "-e", "-f", "%s\n"]);
      expect(out).toBe(lines);
      expect(second.logs()).toContain("still leased by an earlier incarnation");
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 120_000);

  test(
    "PostgreSQL stopped under acks=all produce: retriable errors, nothing acknowledged lost, service resumes",
    async () => {
      const url = pg.createDatabase("outage");
      const b = await startBrokerProcess("bun", ["--storage", url, "-o", "num.partitions=2"]);
      try {
        const admin = kafka(b).admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: "outage", numPartitions: 2 }] });
        await admin.disconnect();
        const producer = kafka(b, "outage-producer").producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        const acked: string[] = [];
        let stopped = false;
        const N = 300;
        for (let i = 0; i < N; i++) {
          if (i === 100) {
            pg.stop();
            stopped = true;
            // Restarted a few seconds later, while the producer keeps retrying.
            setTimeout(() => {
              pg.start();
              stopped = false;
            }, 3000);
          }
          const v = `m${i}`;
          await producer.send({ topic: "outage", acks: -1, messages: [{ partition: i % 2, value: v }] });
          acked.push(`${i % 2}:${v}`);
        }
        expect(stopped).toBe(false);
        await producer.disconnect();
        expect(b.logs()).toMatch(/PostgreSQL connection \d+: |connection closed|terminating connection/);
        const got = await consumeAll(b, "outage", N, { groupId: "outage-check" });
        // Exactly once, in order per partition.
        for (const p of [0, 1]) {
          expect(got.filter((g) => g.startsWith(`${p}:`))).toEqual(acked.filter((a) => a.startsWith(`${p}:`)));
        }
      } finally {
        expect(await b.stop()).toBe(0);
      }
    },
    180_000,
  );

  test(
    "PostgreSQL hung (SIGSTOP) under acks=all produce: produce answers KAFKA_STORAGE_ERROR within the request timeout, service resumes after SIGCONT, nothing acknowledged lost",
    async () => {
      const url = pg.createDatabase("hung");
      const b = await startBrokerProcess("bun", ["--storage", url, "-o", "chronik.postgres.request.timeout.ms=1000"]);
      try {
        const admin = kafka(b).admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: "hung", numPartitions: 2 }] });
        await admin.disconnect();
        const producer = kafka(b, "hung-producer").producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        const acked: string[] = [];
        const send = async (from: number, to: number) => {
          for (let i = from; i < to; i++) {
            await producer.send({ topic: "hung", acks: -1, messages: [{ partition: i % 2, value: `m${i}` }] });
            acked.push(`${i % 2}:m${i}`);
          }
        };
        await send(0, 50);
        const during = send(50, 100); // kafkajs retries while PostgreSQL hangs; appends in flight run when it wakes
        await Bun.sleep(50);
        pg.pause();
        try {
          // librdkafka without retries: the broker's answer, not its own message timeout (20 s).
          const probe = Bun.spawn([
            "kcat",
            "-b",
            `127.0.0.1:${b.port}`,
            "-P",
            "-t",
            "hung",
            "-p",
            "0",
            "-X",
            "acks=all",
            "-X",
            "message.send.max.retries=0",
            "-X",
            "message.timeout.ms=20000",
          ], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
          probe.stdin.write("probe\n");
          probe.stdin.end();
          const [err, code] = await Promise.all([new Response(probe.stderr).text(), probe.exited]);
          expect(code).not.toBe(0);
          expect(err).toContain("Broker: Disk error"); // KAFKA_STORAGE_ERROR, retriable
          expect(b.logs()).toMatch(/no reply within 1000 ms|no answer within 1000 ms/);
          // New connections are served: the retries are stored while the appends given up on still wait in
          // their backends; those run last, when the rest wakes (each is refused: its partition's log end moved).
          pg.resume("new connections");
          const mark = acked.length;
          for (let i = 0; i < 150 && acked.length < mark + 10; i++) await Bun.sleep(100);
        } finally {
          pg.resume();
        }
        await during;
        await send(100, 120);
        await producer.disconnect();
        // The probe was not acknowledged, but its statement may have run once PostgreSQL woke (outcome unknown).
        for (const p of [0, 1]) {
          const out = await kcat([
            "-b",
            `127.0.0.1:${b.port}`,
            "-C",
            "-t",
            "hung",
            "-p",
            String(p),
            "-e",
            "-f",
            "%s\n",
          ]);
          const got = out.split("\n").filter((v) => v !== "" && v !== "probe").map((v) => `${p}:${v}`);
          expect(got).toEqual(acked.filter((a) => a.startsWith(`${p}:`)));
          expect(out.split("\n").filter((v) => v === "probe").length).toBeLessThanOrEqual(p === 0 ? 1 : 0);
        }
      } finally {
        expect(await b.stop()).toBe(0);
      }
    },
    120_000,
  );
});
