// Transactions through real clients: librdkafka (python3-confluent-kafka) commit/abort/fencing and a
// consume-transform-produce loop killed midway; kafkajs transactions with sendOffsets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
let broker: Broker;
let addr: string;
const kafka = () => new Kafka({ brokers: [addr], clientId: "txn-e2e", logLevel: logLevel.NOTHING });

beforeAll(async () => {
  broker = await testBroker({ "group.initial.rebalance.delay.ms": 100, "num.partitions": 1, logLevel: "info" });
  addr = `127.0.0.1:${broker.port}`;
});
afterAll(() => broker.close());

async function run(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${out}${err}`);
  return out;
}

describe("librdkafka transactions", () => {
  test("commit visible to read_committed, abort only to read_uncommitted, older producer fenced", async () => {
    const out = await run(["/usr/bin/python3", `${import.meta.dir}/txn/txn_basic.py`, addr]);
    const r = JSON.parse(out.trim().split("\n").pop()!);
    expect(r.committed).toEqual(["committed-0", "committed-1", "committed-2", "after-fence"]);
    expect(r.uncommitted).toEqual([
      "committed-0",
      "committed-1",
      "committed-2",
      "aborted-0",
      "aborted-1",
      "after-fence",
    ]);
    expect(r.fenced).toBe(true);
  }, 120_000);

  test(
    "consume-transform-produce over 10k records, killed midway: every input exactly once in the output",
    async () => {
      const admin = kafka().admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic: "ctp-in", numPartitions: 3 }, { topic: "ctp-out", numPartitions: 3 }],
      });
      await admin.disconnect();
      const producer = kafka().producer();
      await producer.connect();
      const N = 10_000;
      for (let i = 0; i < N; i += 1000) {
        await producer.send({
          topic: "ctp-in",
          messages: Array.from({ length: 1000 }, (_, j) => ({ partition: (i + j) % 3, value: `v${i + j}` })),
        });
      }
      await producer.disconnect();

      const script = `${import.meta.dir}/txn/ctp.py`;
      // First run: killed with SIGKILL after a few transactions (one may be open at that moment).
      const first = Bun.spawn(["/usr/bin/python3", script, addr, "ctp", "ctp-app"], {
        stdout: "pipe",
        stderr: "ignore",
      });
      const reader = first.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while ((seen.match(/committed/g) ?? []).length < 5) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`ctp.py ended early: ${seen}`);
        seen += value;
      }
      first.kill(9);
      await first.exited;
      // Second run: a new incarnation (same transactional.id) aborts what was open and finishes.
      await run(["/usr/bin/python3", script, addr, "ctp", "ctp-app"]);

      const out = await run([
        "kcat",
        "-b",
        addr,
        "-C",
        "-t",
        "ctp-out",
        "-e",
        "-q",
        "-f",
        "%s\n",
        "-X",
        "isolation.level=read_committed",
      ]);
      const values = out.trim().split("\n");
      expect(values.length).toBe(N);
      const set = new Set(values);
      expect(set.size).toBe(N);
      expect(Array.from({ length: N }, (_, i) => `V${i}`).filter((v) => !set.has(v))).toEqual([]);
    },
    180_000,
  );
});

describe("kafkajs transactions", () => {
  test("sendOffsets commits the group's offsets with the transaction; abort drops both", async () => {
    const k = kafka();
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: "kjs-txn", numPartitions: 1 }, { topic: "kjs-src", numPartitions: 1 }],
    });
    const producer = k.producer({ transactionalId: "kjs-app", idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();

    const t1 = await producer.transaction();
    await t1.send({ topic: "kjs-txn", messages: [{ value: "one" }, { value: "two" }] });
    await t1.sendOffsets({
      consumerGroupId: "kjs-group",
      topics: [{ topic: "kjs-src", partitions: [{ partition: 0, offset: "42" }] }],
    });
    await t1.commit();
    expect((await admin.fetchOffsets({ groupId: "kjs-group", topics: ["kjs-src"] }))[0].partitions[0].offset).toBe(
      "42",
    );

    const t2 = await producer.transaction();
    await t2.send({ topic: "kjs-txn", messages: [{ value: "three" }] });
    await t2.sendOffsets({
      consumerGroupId: "kjs-group",
      topics: [{ topic: "kjs-src", partitions: [{ partition: 0, offset: "99" }] }],
    });
    await t2.abort();
    expect((await admin.fetchOffsets({ groupId: "kjs-group", topics: ["kjs-src"] }))[0].partitions[0].offset).toBe(
      "42",
    );
    await producer.disconnect();
    await admin.disconnect();

    const committed = await run([
      "kcat",
      "-b",
      addr,
      "-C",
      "-t",
      "kjs-txn",
      "-e",
      "-q",
      "-f",
      "%s\n",
      "-X",
      "isolation.level=read_committed",
    ]);
    expect(committed.trim().split("\n")).toEqual(["one", "two"]);
    const all = await run([
      "kcat",
      "-b",
      addr,
      "-C",
      "-t",
      "kjs-txn",
      "-e",
      "-q",
      "-f",
      "%s\n",
      "-X",
      "isolation.level=read_uncommitted",
    ]);
    expect(all.trim().split("\n")).toEqual(["one", "two", "three"]);
  }, 60_000);
});
