// Fault tests for three brokers (Bun, Node, Bun) on one PostgreSQL.
// 1. One broker is SIGKILLed under acks=all idempotent load from two clients at once, kafkajs and librdkafka
//    (kcat, enable.idempotence=true), while a kafkajs consumer group consumes and commits: the others take its
//    partitions over, both producers finish with every record acknowledged, each acknowledged record is read back
//    exactly once and in order per partition, and the group reaches the end and commits the log ends; a new member
//    continues from them. Run twice: killing a plain partition leader, and killing the group/transaction coordinator
//    (the group then moves to the broker that takes the internal topics and is rebuilt from __consumer_offsets).
// 2. PostgreSQL is stopped for longer than the lease under the three brokers while kafkajs produces acks=all idempotent
//    records: produce answers retriable errors meanwhile, service resumes by itself, nothing acknowledged is lost.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess, RuntimeKind } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let pg: TestPostgres;
const started: BrokerProcess[] = [];
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const b of started) await b.stop().catch(() => {});
  pg?.destroy();
});

type Meta = {
  brokers: { id: number }[];
  topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
};

async function run(cmd: string[], input?: string): Promise<string> {
  const p = Bun.spawn(cmd, { stdin: input === undefined ? "ignore" : "pipe", stdout: "pipe", stderr: "pipe" });
  if (input !== undefined) {
    p.stdin!.write(input);
    p.stdin!.end();
  }
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err}`);
  return out;
}

const metadata = async (addr: string, topic: string): Promise<Meta> =>
  JSON.parse(await run(["kcat", "-b", addr, "-L", "-J", "-t", topic]));

/** Polls until `ok` holds (bounded: 150 tries, 200 ms apart). */
async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await get();
  for (let i = 0; i < 150 && !ok(v); i++) {
    await Bun.sleep(200);
    v = await get().catch(() => v);
  }
  return v;
}

async function cluster(db: string): Promise<BrokerProcess[]> {
  const url = pg.createDatabase(db);
  const common = [
    "--storage",
    url,
    "-o",
    "broker.heartbeat.interval.ms=300",
    "-o",
    "broker.session.timeout.ms=2000",
    "-o",
    "group.initial.rebalance.delay.ms=0",
  ];
  const kinds: RuntimeKind[] = ["bun", "node", "bun"];
  const out: BrokerProcess[] = [];
  for (const [i, kind] of kinds.entries()) {
    const b = await startBrokerProcess(kind, [...common, "--node-id", String(i + 1)]);
    started.push(b);
    out.push(b);
  }
  const addr = `127.0.0.1:${out[0].port}`;
  await until(
    async () => JSON.parse(await run(["kcat", "-b", addr, "-L", "-J"])) as Meta,
    (m) => m.brokers.length === 3,
  );
  return out;
}

const kafkaFor = (brokers: BrokerProcess[], id: string) =>
  new Kafka({
    brokers: brokers.map((b) => `127.0.0.1:${b.port}`),
    clientId: id,
    logLevel: logLevel.NOTHING,
    retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1000 },
  });

/** Every record of `topic` (partitions 0..n-1) read back with kcat: partition → values in offset order. */
async function readAll(addr: string, topic: string, partitions: number): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let p = 0; p < partitions; p++) {
    const text = await run(["kcat", "-b", addr, "-C", "-t", topic, "-p", String(p), "-e", "-q", "-f", "%s\n"]);
    out.set(p, text.split("\n").filter((l) => l !== ""));
  }
  return out;
}

/** Each acknowledged value appears exactly once, and each producer's values are in send order within a partition. */
function expectExactlyOnceInOrder(stored: Map<number, string[]>, acked: Set<string>) {
  const all = [...stored.values()].flat();
  const counts = new Map<string, number>();
  for (const v of all) counts.set(v, (counts.get(v) ?? 0) + 1);
  const dup = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  expect(dup).toEqual([]);
  const missing = [...acked].filter((v) => !counts.has(v));
  expect(missing).toEqual([]);
  for (const [p, values] of stored) {
    for (const prefix of ["j", "r"]) {
      const seq = values.filter((v) => v.startsWith(prefix)).map((v) => Number(v.slice(1)));
      const sorted = [...seq].sort((a, b) => a - b);
      expect({ p, prefix, seq }).toEqual({ p, prefix, seq: sorted });
    }
  }
}

/** SIGKILLs one of three brokers (the group and transaction coordinator, or another partition leader) under load. */
async function killUnderLoad(killCoordinator: boolean) {
  const brokers = await cluster(`fault_${killCoordinator ? "coord" : "leader"}`);
  const addr = `127.0.0.1:${brokers[0].port}`;
  const P = 6;
  const kafka = kafkaFor(brokers, "fault");
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "fault", numPartitions: P }] });
  await admin.disconnect();
  const before = await until(
    () => metadata(addr, "fault"),
    (m) => new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3,
  );
  // The victim: a broker that leads partitions of `fault` and is not the coordinator.
  const coordinator = brokers.findIndex((b) => b.logs().includes("coordinating groups and transactions"));
  expect(coordinator).toBeGreaterThanOrEqual(0);
  const victim = killCoordinator ? coordinator : coordinator === 2 ? 1 : 2;
  const victimId = victim + 1;
  expect(before.topics[0].partitions.some((p) => p.leader === victimId)).toBe(true);
  const alive = brokers.filter((_, i) => i !== victim);

  // A consumer group, consuming and committing throughout.
  const seen = new Set<string>();
  const consumer = kafkaFor(alive, "fault-group").consumer({ groupId: "fault-group", maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: "fault", fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.add(message.value!.toString());
    },
  });

  // Client 1: kafkajs, idempotent, acks=all, one record per send, round-robin over the partitions.
  const acked = new Set<string>();
  let stop = false;
  const producer = kafkaFor(alive, "fault-kafkajs").producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const jsLoad = (async () => {
    for (let i = 0; !stop || i < 60; i++) {
      await producer.send({ topic: "fault", acks: -1, messages: [{ partition: i % P, value: `j${i}` }] });
      acked.add(`j${i}`);
      if (i >= 5000) break;
    }
    await producer.disconnect();
  })();

  // Client 2: librdkafka (kcat), idempotent, acks=all, records fed over stdin while the broker dies. kcat
  // exits 0 only when every record was delivered (acknowledged).
  const rdk = Bun.spawn([
    "kcat",
    "-b",
    alive.map((b) => `127.0.0.1:${b.port}`).join(","),
    "-P",
    "-t",
    "fault",
    "-K:",
    "-X",
    "enable.idempotence=true",
    "-X",
    "acks=all",
    "-X",
    "linger.ms=5",
    "-X",
    "message.timeout.ms=60000",
    "-X",
    "retry.backoff.ms=50",
  ], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const R = 600;
  const rdkFeed = (async () => {
    for (let i = 0; i < R; i += 20) {
      rdk.stdin!.write(Array.from({ length: 20 }, (_, j) => `k${(i + j) % 13}:r${i + j}\n`).join(""));
      rdk.stdin!.flush();
      await Bun.sleep(50);
    }
    rdk.stdin!.end();
  })();

  await Bun.sleep(800);
  brokers[victim].proc.kill("SIGKILL");
  await brokers[victim].stop();
  const after = await until(
    () => metadata(addr === `127.0.0.1:${brokers[victim].port}` ? `127.0.0.1:${alive[0].port}` : addr, "fault"),
    (m) => m.brokers.length === 2 && m.topics[0].partitions.every((p) => p.leader !== victimId && p.leader >= 0),
  );
  expect(after.brokers.map((b) => b.id)).not.toContain(victimId);
  expect(after.topics[0].partitions.every((p) => p.leader !== victimId && p.leader >= 0)).toBe(true);
  stop = true;
  await rdkFeed;
  const [rdkErr, rdkCode] = await Promise.all([new Response(rdk.stderr).text(), rdk.exited]);
  expect({ rdkCode, rdkErr: rdkCode === 0 ? "" : rdkErr }).toEqual({ rdkCode: 0, rdkErr: "" });
  for (let i = 0; i < R; i++) acked.add(`r${i}`);
  await jsLoad;

  const readAddr = `127.0.0.1:${alive[0].port}`;
  const stored = await readAll(readAddr, "fault", P);
  expectExactlyOnceInOrder(stored, acked);
  const total = [...stored.values()].reduce((n, v) => n + v.length, 0);
  expect(total).toBe(acked.size);

  // The group, having rebalanced over the leader move, reaches every record and commits the log ends.
  for (let i = 0; i < 300 && seen.size < total; i++) await Bun.sleep(200);
  // On failure, say which partitions the group is missing records of (and the group's committed offsets).
  const unseen = [...stored].map(([p, values]) => [p, values.filter((v) => !seen.has(v)).length]);
  if (seen.size < total) {
    const a = kafkaFor(alive, "fault-debug").admin();
    await a.connect();
    const c = await a.fetchOffsets({ groupId: "fault-group", topics: ["fault"] }).catch((e) => String(e));
    await a.disconnect();
    expect({ unseen, committed: JSON.stringify(c) }).toEqual({ unseen: unseen.map(([p]) => [p, 0]), committed: "" });
  }
  expect(seen.size).toBe(total);
  await consumer.disconnect();
  const admin2 = kafkaFor(alive, "fault-admin").admin();
  await admin2.connect();
  const committed = await admin2.fetchOffsets({ groupId: "fault-group", topics: ["fault"] });
  await admin2.disconnect();
  expect(committed[0].partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset))).toEqual(
    [...stored.keys()].sort((a, b) => a - b).map((p) => stored.get(p)!.length),
  );
  // A new member of the group continues from the committed offsets: only records produced now arrive.
  const tail = kafkaFor(alive, "fault-tail").producer({ idempotent: true });
  await tail.connect();
  await tail.send({ topic: "fault", acks: -1, messages: [{ partition: 0, value: "after" }] });
  await tail.disconnect();
  const again = kafkaFor(alive, "fault-group2").consumer({ groupId: "fault-group", maxWaitTimeInMs: 200 });
  await again.connect();
  await again.subscribe({ topic: "fault", fromBeginning: true });
  const rest: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`group got ${rest.length}/1 after the takeover`)), 60_000);
    again.run({
      eachMessage: async ({ message }) => {
        rest.push(message.value!.toString());
        clearTimeout(timer);
        resolve();
      },
    }).catch(reject);
  });
  await Bun.sleep(500);
  await again.disconnect();
  expect(rest).toEqual(["after"]);
  expect(alive.map((b) => b.logs()).join("")).toMatch(/now leading \d+ partition\(s\)/);
  if (killCoordinator) {
    expect(alive.map((b) => b.logs()).join("")).toContain("coordinating groups and transactions of");
  }
}

describe("three brokers on one PostgreSQL, faults", () => {
  test(
    "SIGKILL a partition leader under acks=all idempotent load from kafkajs and librdkafka: takeover, every acknowledged record once and in order, the group goes on",
    () => killUnderLoad(false),
    150_000,
  );

  test(
    "SIGKILL the coordinator under the same load: partitions and the group move, every acknowledged record once and in order, the group continues from its committed offsets",
    () => killUnderLoad(true),
    150_000,
  );

  test(
    "PostgreSQL stopped for a few seconds under three brokers: retriable errors, nothing acknowledged lost, service resumes",
    async () => {
      const brokers = await cluster("outage");
      const P = 3;
      const kafka = kafkaFor(brokers, "outage");
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "outage", numPartitions: P }] });
      await admin.disconnect();
      const addr = `127.0.0.1:${brokers[0].port}`;
      await until(
        () => metadata(addr, "outage"),
        (m) => new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3,
      );
      const producer = kafkaFor(brokers, "outage-producer").producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const acked = new Set<string>();
      let stopped = false;
      const N = 240;
      for (let i = 0; i < N; i++) {
        if (i === 60) {
          pg.stop();
          stopped = true;
          // Longer than the brokers' lease (2 s): they must find each other again by themselves.
          setTimeout(() => {
            pg.start();
            stopped = false;
          }, 3500);
        }
        await producer.send({ topic: "outage", acks: -1, messages: [{ partition: i % P, value: `j${i}` }] });
        acked.add(`j${i}`);
      }
      expect(stopped).toBe(false);
      await producer.disconnect();
      const logs = brokers.map((b) => b.logs()).join("");
      expect(logs).toMatch(/PostgreSQL connection \d+: |connection closed|terminating connection/);
      // All three are members again and lead the partitions.
      const back = await until(
        () => metadata(addr, "outage"),
        (m) => m.brokers.length === 3 && m.topics[0].partitions.every((p) => p.leader > 0),
      );
      expect(back.brokers.length).toBe(3);
      const stored = await readAll(addr, "outage", P);
      expectExactlyOnceInOrder(stored, acked);
      expect([...stored.values()].reduce((n, v) => n + v.length, 0)).toBe(N);
      for (const b of brokers) expect(b.proc.exitCode).toBe(null);
    },
    150_000,
  );
});
