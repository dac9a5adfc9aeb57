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
import { ConfigResourceTypes } from "kafkajs";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { kcat, kcatRead } from "../helpers/kcat.ts";
import { commitThenAbort, consumeCount, createTopics, retryingKafka } from "../helpers/kafkajs.ts";
import { hungPostgresUnderLoad } from "../helpers/pg_hung.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.destroy());

const kafka = (b: BrokerProcess, id = "pg-e2e") => retryingKafka(b, id);

/** `partition:value` of `count` records of `topic`, read by group `groupId` from its committed offsets. */
async function consumeAll(b: BrokerProcess, topic: string, count: number, groupId: string): Promise<string[]> {
  return (await consumeCount(kafka(b), topic, count, groupId)).map((r) =>
    `${r.partition}:${r.message.value?.toString()}`
  );
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
        expect(await kcatRead(`127.0.0.1:${b.port}`, "kc", 0, "%k=%s@%o\n")).toBe(
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
        const consumed = await consumeAll(b, "orders", 30, "g1");
        expect(consumed.length).toBe(30);
        // A transaction that commits and one that aborts.
        await commitThenAbort(kafka(b), "pg-tx", "kc");
      } finally {
        expect(await b.stop()).toBe(0);
      }

      for (const [round, kind] of (["deno", "node", "binary"] as const).entries()) {
        b = await startBrokerProcess(kind, args);
        try {
          const addr = `127.0.0.1:${b.port}`;
          // kc: the three records, the committed one, the aborted batch and the two markers took offsets 3-6.
          const committed = await kcatRead(addr, "kc", 0, "%s@%o\n", ["-X", "isolation.level=read_committed"]);
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
          expect(await consumeAll(b, "orders", 1, "g1")).toEqual([`1:after-${kind}`]);
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
      const out = await kcatRead(`127.0.0.1:${second.port}`, "crash", 0);
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
        await createTopics(kafka(b), [{ topic: "outage", numPartitions: 2 }]);
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
        const got = await consumeAll(b, "outage", N, "outage-check");
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
        await hungPostgresUnderLoad(b, pg, { clientId: "hung-producer", warm: 50 });
      } finally {
        expect(await b.stop()).toBe(0);
      }
    },
    120_000,
  );
});
