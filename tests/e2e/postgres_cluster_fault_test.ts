// Fault tests for three brokers (Bun, Node, Bun) on one PostgreSQL.
// 1. One broker is SIGKILLed under acks=all idempotent load from two clients at once, kafkajs and librdkafka
//    (kcat, enable.idempotence=true), while a kafkajs consumer group consumes and commits: the others take its
//    partitions over, both producers finish with every record acknowledged, each acknowledged record is read back
//    exactly once and in order per partition, and the group reaches the end and commits the log ends; a new member
//    continues from them. Run twice: killing a plain partition leader, and killing the group/transaction coordinator
//    (the group then moves to the broker that takes the internal topics and is rebuilt from __consumer_offsets).
// 2. The transaction coordinator (also leading partitions) is SIGKILLed while one transaction is open and another
//    producer's transaction was abandoned open: read_committed sees every transaction whole or not at all (the
//    committed ones whole, the abandoned one aborted at its timeout by the new coordinator) and the LSO moves on.
// 3. PostgreSQL is stopped for longer than the lease under the three brokers while kafkajs produces acks=all idempotent
//    records: produce answers retriable errors meanwhile, service resumes by itself, nothing acknowledged is lost.
import { describe, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { parsePostgresUrl, PgPool } from "../../src/storage/postgres/client.ts";
import { PostgresCluster } from "../../src/storage/postgres/cluster.ts";
import { KafkaConnection } from "../../src/client/connection.ts";
import { FindCoordinator } from "../../src/protocol/messages/10_find_coordinator.ts";
import { pgClusterSuite } from "../helpers/pg_cluster_suite.ts";
import { kcat, metadata, until } from "../helpers/kcat.ts";
import {
  createCoordinatorTopics,
  kafkaOn,
  keepLogsOnFailure,
  startCluster,
  transactionCoordinator,
} from "../helpers/pg_cluster.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const suite = pgClusterSuite();
const started = suite.brokers;
const KINDS = ["bun", "node", "bun"] as const;

/** Every record of `topic` (partitions 0..n-1) read back with kcat: partition → values in offset order. */
async function readAll(
  addr: string,
  topic: string,
  partitions: number,
  extra: string[] = [],
): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let p = 0; p < partitions; p++) {
    const text = await kcat(["-b", addr, "-C", "-t", topic, "-p", String(p), "-e", "-q", "-f", "%s\n", ...extra]);
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
  const brokers = await startCluster(
    suite.pg.createDatabase(`fault_${killCoordinator ? "coord" : "leader"}`),
    KINDS,
    started,
  );
  const addr = `127.0.0.1:${brokers[0].port}`;
  const P = 6;
  const kafka = kafkaOn(brokers, "fault");
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "fault", numPartitions: P }] });
  await admin.disconnect();
  const before = await until(
    () => metadata(addr, "fault"),
    (m) =>
      new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3 &&
      !m.topics[0].partitions.some((p) => p.leader < 0),
  );
  // The victim: a broker that leads partitions of `fault` and is not the group's coordinator (or is).
  await createCoordinatorTopics(brokers[0].port);
  await until(
    () => metadata(addr, "__consumer_offsets"),
    (m) =>
      new Set(m.topics[0]?.partitions.map((p) => p.leader)).size === 3 &&
      !m.topics[0]?.partitions.some((p) => p.leader < 0),
  );
  const lookup = await KafkaConnection.open(bunRuntime, "127.0.0.1", brokers[0].port);
  const found = await lookup.send(FindCoordinator, 3, { key: "fault-group", keyType: 0 });
  lookup.close();
  const coordinator = found.nodeId! - 1;
  expect(coordinator).toBeGreaterThanOrEqual(0);
  const victim = killCoordinator ? coordinator : coordinator === 2 ? 1 : 2;
  const victimId = victim + 1;
  expect(before.topics[0].partitions.some((p) => p.leader === victimId)).toBe(true);
  const alive = brokers.filter((_, i) => i !== victim);

  // A consumer group, consuming and committing throughout.
  const seen = new Set<string>();
  const consumer = kafkaOn(alive, "fault-group").consumer({ groupId: "fault-group", maxWaitTimeInMs: 200 });
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
  const producer = kafkaOn(alive, "fault-kafkajs").producer({ idempotent: true, maxInFlightRequests: 1 });
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
    const a = kafkaOn(alive, "fault-debug").admin();
    await a.connect();
    const c = await a.fetchOffsets({ groupId: "fault-group", topics: ["fault"] }).catch((e) => String(e));
    await a.disconnect();
    expect({ unseen, committed: JSON.stringify(c) }).toEqual({ unseen: unseen.map(([p]) => [p, 0]), committed: "" });
  }
  expect(seen.size).toBe(total);
  await consumer.disconnect();
  const admin2 = kafkaOn(alive, "fault-admin").admin();
  await admin2.connect();
  const committed = await admin2.fetchOffsets({ groupId: "fault-group", topics: ["fault"] });
  await admin2.disconnect();
  expect(committed[0].partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset))).toEqual(
    [...stored.keys()].sort((a, b) => a - b).map((p) => stored.get(p)!.length),
  );
  // A new member of the group continues from the committed offsets: only records produced now arrive.
  const tail = kafkaOn(alive, "fault-tail").producer({ idempotent: true });
  await tail.connect();
  await tail.send({ topic: "fault", acks: -1, messages: [{ partition: 0, value: "after" }] });
  await tail.disconnect();
  const again = kafkaOn(alive, "fault-group2").consumer({ groupId: "fault-group", maxWaitTimeInMs: 200 });
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

/**
 * Transactions across the SIGKILL of their coordinator (which also leads partitions they write): one transaction of
 * a live producer is open when it dies and is committed afterwards; another producer's transaction is abandoned
 * open (never committed nor aborted), so the new coordinator must abort it when it times out. Read back with
 * read_committed: every transaction is there whole or not at all, the committed ones whole, the abandoned one not,
 * and records produced afterwards become visible (the last stable offset moved past every transaction).
 */
async function killTransactionCoordinator() {
  const brokers = await startCluster(suite.pg.createDatabase("fault_txn"), KINDS, started, [
    "-o",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms=500",
  ]);
  const P = 6;
  const admin = kafkaOn(brokers, "txn-admin").admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "txn", numPartitions: P }] });
  await admin.disconnect();
  const before = await until(
    () => metadata(`127.0.0.1:${brokers[0].port}`, "txn"),
    (m) =>
      new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3 &&
      !m.topics[0].partitions.some((p) => p.leader < 0),
  );
  const victimId = await transactionCoordinator(brokers[0].port, "tx-main");
  const victim = brokers[victimId - 1];
  expect(before.topics[0].partitions.some((p) => p.leader === victimId)).toBe(true);
  const alive = brokers.filter((b) => b !== victim);
  const values = (prefix: string) => Array.from({ length: P }, (_, p) => ({ partition: p, value: `${prefix}-${p}` }));

  // Abandoned: a transaction with a record on every partition, never ended by its producer.
  const orphan = kafkaOn(brokers, "txn-orphan").producer({
    transactionalId: "tx-orphan",
    transactionTimeout: 3000,
    maxInFlightRequests: 1,
    idempotent: true,
  });
  await orphan.connect();
  const abandoned = await orphan.transaction();
  await abandoned.send({ topic: "txn", acks: -1, messages: values("orphan") });

  // Transactions of one record per partition, one after another; number 5 is open when the coordinator dies.
  const committed = new Set<number>();
  let main = kafkaOn(brokers, "txn-main").producer({
    transactionalId: "tx-main",
    maxInFlightRequests: 1,
    idempotent: true,
  });
  await main.connect();
  let t = 0;
  for (; t < 12; t++) {
    const tx = await main.transaction();
    try {
      await tx.send({ topic: "txn", acks: -1, messages: values(`t${t}`) });
      if (t === 5) {
        victim.proc.kill("SIGKILL");
        await victim.stop();
      }
      await tx.commit();
      committed.add(t);
    } catch {
      // Ended by the coordinator's failover (fenced, or its state lost): a new producer with the same id fences the
      // old one, and the transaction is aborted (or was completed) by the coordinator, never left half.
      await tx.abort().catch(() => {});
      await main.disconnect().catch(() => {});
      main = kafkaOn(alive, "txn-main").producer({
        transactionalId: "tx-main",
        maxInFlightRequests: 1,
        idempotent: true,
      });
      await main.connect();
    }
  }
  await main.disconnect();
  expect(committed.size).toBeGreaterThanOrEqual(10);

  // Written after everything: visible to read_committed only once the LSO moved past every transaction above.
  const tail = kafkaOn(alive, "txn-tail").producer({ idempotent: true });
  await tail.connect();
  await tail.send({ topic: "txn", acks: -1, messages: values("after") });
  await tail.disconnect();
  const addr = `127.0.0.1:${alive[0].port}`;
  const read = () => readAll(addr, "txn", P, ["-X", "isolation.level=read_committed"]);
  const stored = await until(read, (m) => [...m].every(([p, v]) => v.includes(`after-${p}`)));
  await orphan.disconnect();
  expect([...stored].filter(([p, v]) => !v.includes(`after-${p}`)).map(([p]) => p)).toEqual([]);
  const all = [...stored.values()].flat();
  const count = (prefix: string) => all.filter((v) => v.startsWith(`${prefix}-`)).length;
  expect(count("orphan")).toBe(0);
  // Whole or not at all; whole when its commit was acknowledged.
  const counts = Array.from({ length: t }, (_, i) => count(`t${i}`));
  const partial = counts.map((n, i) => ({ t: i, n })).filter(({ n }) => n !== 0 && n !== P);
  if (partial.length > 0) {
    // Which partitions show it, committed and not, and what the log holds (read_uncommitted, with offsets).
    const raw = await readAll(addr, "txn", P, ["-X", "isolation.level=read_uncommitted", "-f", "%o:%s\n"]);
    const where = (m: Map<number, string[]>, i: number) =>
      [...m].map(([p, v]) => `${p}:${v.filter((x) => x.includes(`t${i}-`)).join(",")}`).join(" ");
    const detail = partial.map(({ t: i }) => `t${i} committed ${where(stored, i)} | stored ${where(raw, i)}`);
    expect({ partial: detail, acked: [...committed] }).toEqual({ partial: [], acked: [...committed] });
  }
  expect([...committed].filter((i) => counts[i] !== P)).toEqual([]);
  expect(new Set(all).size).toBe(all.length);
  expect(alive.map((b) => b.logs()).join("")).toMatch(/now leading \d+ partition\(s\)/);
}

/**
 * kafkajs 2.2.4 (a client bug, docs/cluster.md): a partition whose leader moves between two live brokers during one
 * send(). The old leader answers NOT_LEADER_OR_FOLLOWER and stores nothing; kafkajs refreshes its metadata and sends
 * again only to the brokers that have no response yet (producer/sendMessages.js, responsePerBroker), so when the new
 * leader already answered that send() for its own partitions, the moved partition's record is never sent again and
 * send() resolves as if it were stored. This is what lost a committed record in the transaction test above while
 * leadership still moved between live brokers after a death. If this fails after a kafkajs upgrade, the client was
 * fixed: drop the note in docs/cluster.md.
 */
async function kafkajsLeaderMove() {
  const url = suite.pg.createDatabase("kjs_move");
  // No periodic rebalance: it would move the partition moved below back to its preferred leader.
  const brokers = await startCluster(url, ["bun", "bun"], started, ["-o", "auto.leader.rebalance.enable=false"]);
  const addr = `127.0.0.1:${brokers[0].port}`;
  const kafka = kafkaOn(brokers, "kjs-move");
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "mv", numPartitions: 3 }] });
  await admin.disconnect();
  const m = await until(
    () => metadata(addr, "mv"),
    (m) =>
      new Set(m.topics[0].partitions.map((p) => p.leader)).size === 2 &&
      !m.topics[0].partitions.some((p) => p.leader < 0),
  );
  const leaders = m.topics[0].partitions.map((p) => p.leader);
  // The broker leading two partitions hands one to the other, which then leads one more: stable, no move back.
  const from = [1, 2].find((n) => leaders.filter((l) => l === n).length === 2)!;
  const to = from === 1 ? 2 : 1;
  const moving = leaders.indexOf(from);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const all = (prefix: string) => [0, 1, 2].map((p) => ({ partition: p, value: `${prefix}-${p}` }));
  await producer.send({ topic: "mv", acks: -1, messages: all("a") }); // kafkajs now knows the leaders
  const pool = new PgPool(bunRuntime, parsePostgresUrl(url));
  try {
    const pc = new PostgresCluster(pool);
    const row = (await pc.leaders()).find((r) => r.topic === "mv" && r.partition === moving)!;
    expect(await pc.move([{ topic: "mv", partition: moving, fromEpoch: row.epoch, to }])).toHaveLength(1);
  } finally {
    pool.close();
  }
  for (const b of brokers) {
    await until(() => metadata(`127.0.0.1:${b.port}`, "mv"), (m) => m.topics[0].partitions[moving].leader === to);
  }
  await producer.send({ topic: "mv", acks: -1, messages: all("b") }); // resolves
  await producer.send({ topic: "mv", acks: -1, messages: all("c") }); // metadata fresh: nothing moves
  await producer.disconnect();
  const stored = [...(await readAll(addr, "mv", 3)).values()].flat().sort();
  const expected = [...all("a"), ...all("b"), ...all("c")].map((x) => x.value).filter((v) => v !== `b-${moving}`);
  expect(stored).toEqual(expected.sort());
}

describe("three brokers on one PostgreSQL, faults", () => {
  test(
    "SIGKILL a partition leader under acks=all idempotent load from kafkajs and librdkafka: takeover, every acknowledged record once and in order, the group goes on",
    () => keepLogsOnFailure(started, () => killUnderLoad(false)),
    150_000,
  );

  test(
    "SIGKILL the coordinator under the same load: partitions and the group move, every acknowledged record once and in order, the group continues from its committed offsets",
    () => keepLogsOnFailure(started, () => killUnderLoad(true)),
    150_000,
  );

  test(
    "SIGKILL the transaction coordinator, also a partition leader, with transactions open: each ends committed or aborted, never half-visible to read_committed; the LSO advances",
    () => keepLogsOnFailure(started, killTransactionCoordinator),
    150_000,
  );

  test(
    "PostgreSQL stopped for a few seconds under three brokers: retriable errors, nothing acknowledged lost, service resumes",
    async () => {
      const brokers = await startCluster(suite.pg.createDatabase("outage"), KINDS, started);
      const P = 3;
      const kafka = kafkaOn(brokers, "outage");
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "outage", numPartitions: P }] });
      await admin.disconnect();
      const addr = `127.0.0.1:${brokers[0].port}`;
      await until(
        () => metadata(addr, "outage"),
        (m) =>
          new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3 &&
          !m.topics[0].partitions.some((p) => p.leader < 0),
      );
      const producer = kafkaOn(brokers, "outage-producer").producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const acked = new Set<string>();
      let stopped = false;
      const N = 240;
      for (let i = 0; i < N; i++) {
        if (i === 60) {
          suite.pg.stop();
          stopped = true;
          // Longer than the brokers' lease (2 s): they must find each other again by themselves.
          setTimeout(() => {
            suite.pg.start();
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

  test(
    "kafkajs 2.2.4 drops a partition whose leader moved to a broker that already answered the same send() (client bug; the broker stored nothing it acknowledged)",
    () => keepLogsOnFailure(started, kafkajsLeaderMove),
    60_000,
  );
});
