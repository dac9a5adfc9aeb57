// Real clients against one cluster of three brokers, on Bun, Deno and Node, sharing one PostgreSQL and one bucket
// (record data in versitygw, tests/helpers/s3.ts). Every topic has its partitions led by all three brokers, so each
// producer writes through all of them, and each consumer group has three members bootstrapped through different
// brokers. The same shape for each client: the group first spreads the partitions over its members, then an
// idempotent acks=all producer sends record i to partition i%6, each acknowledged at the next offset of its
// partition, and the group reads every record exactly once, in order per partition, and commits the log ends:
// - confluent-kafka (PyPI, librdkafka 2.16.0), classic group (tests/python/cluster.py);
// - @platformatic/kafka, KIP-848 group (group.protocol consumer), here;
// - sarama (IBM/sarama) and franz-go, classic groups (tests/go/cluster);
// - the Java client 4.4.0 (tests/java, ClusterCases): Admin describeCluster shows the three brokers, KafkaConsumer
//   with group.protocol=consumer, and transactions (with group offsets) over three partitions led by three brokers,
//   one aborted: read_committed sees the committed ones only.
// Finally kcat reads every topic back: each acknowledged record exactly once, in order per partition (the transactional
// one without the aborted records under read_committed); the data is in objects (PostgreSQL holds no batch). The client programs run at the same time, against the one cluster.
// A client whose toolchain is missing (Go, JDK and Maven, python3) is skipped with a message.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { CaseResult } from "./cases.ts";
import { expectCase, runCases } from "./cases.ts";
import { buildGo, GO_DIR, goMissing } from "./golang.ts";
import { buildJava, JAVA_DIR, javaMissing, runJava } from "./jvm.ts";
import { ensureVenv, PY, PY_DIR, pythonMissing } from "./python.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import type { TestS3 } from "../helpers/s3.ts";
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, startS3 } from "../helpers/s3.ts";
import { kcat, metadata, until } from "../helpers/kcat.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const RUN = "cc";
const PARTITIONS = 6;
const RECORDS = 300;
const noGo = goMissing();
const noJava = javaMissing();
const noPython = pythonMissing();
for (const [client, why] of [["sarama/franz-go", noGo], ["Java", noJava], ["confluent-kafka", noPython]]) {
  if (why) console.warn(`postgres_cluster_clients_test: ${client} SKIPPED, ${why}`);
}
const GO_BIN = noGo ? "" : buildGo("cluster");
if (!noJava) buildJava();
if (!noPython) ensureVenv();

/** The topics the clients write, made before they start, with their partition counts. */
const TOPICS: [string, number][] = [
  ["ck", PARTITIONS],
  ["pk", PARTITIONS],
  ["sarama", PARTITIONS],
  ["franz", PARTITIONS],
  ["java", PARTITIONS],
  ["java-txn", 3],
];

let pg: TestPostgres;
let s3: TestS3;
let db: string;
const brokers: BrokerProcess[] = [];
let addrs: string[] = [];
const runs = new Map<string, Promise<Map<string, CaseResult>>>();

beforeAll(async () => {
  [pg, s3] = await Promise.all([startPostgres(), startS3()]);
  const url = pg.createDatabase("clients");
  db = url.split("/").pop()!;
  await s3.client("chronik-clients");
  const args = [
    "--storage",
    url,
    "-o",
    "chronik.object.store=s3://chronik-clients/cluster",
    "-o",
    `chronik.s3.endpoint=${s3.endpoint}`,
    "-o",
    "chronik.object.flush.ms=10",
    "-o",
    "broker.heartbeat.interval.ms=300",
    "-o",
    // No broker dies here: a lease long enough that a heartbeat delayed by the load of every client at once (JVMs,
    // Go, Python) on two cores does not lapse it (leadership would move meanwhile, leaderless for a moment).
    "broker.session.timeout.ms=6000",
    "-o",
    "leader.imbalance.check.interval.seconds=1", // brokers started one after another share the internal topics
    "-o",
    "group.initial.rebalance.delay.ms=0",
    "-o",
    "group.consumer.heartbeat.interval.ms=500",
  ];
  const env = { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY, AWS_REGION: S3_REGION };
  for (const [i, kind] of (["bun", "deno", "node"] as const).entries()) {
    brokers.push(await startBrokerProcess(kind, [...args, "--node-id", String(i + 1)], env));
  }
  addrs = brokers.map((b) => `127.0.0.1:${b.port}`);
  await until(() => metadata(addrs[0]), (m) => m.brokers.length === 3);

  const admin = new Kafka({ brokers: [addrs[2]], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: TOPICS.map(([t, n]) => ({ topic: `${RUN}-${t}`, numPartitions: n })) });
  await admin.disconnect();
  for (const [t] of TOPICS) {
    await until(
      () => metadata(addrs[0], `${RUN}-${t}`),
      (m) =>
        new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3 &&
        !m.topics[0].partitions.some((p) => p.leader < 0),
    );
  }

  // Every client at once, against the one cluster.
  const bootstrap = addrs.join(",");
  if (!noGo) {
    runs.set("go", runCases([GO_BIN, bootstrap, RUN], GO_DIR).then((r) => r.results));
  }
  if (!noJava) {
    runs.set(
      "java",
      runJava(bootstrap, ["cluster.describe", "cluster.kip848", "cluster.transaction"], RUN).then((r) => r.results),
    );
  }
  if (!noPython) {
    runs.set(
      "python",
      runCases([PY, `${PY_DIR}/cluster.py`, bootstrap, RUN, "confluent-kafka.cluster.idempotent-group"], PY_DIR)
        .then((r) => r.results),
    );
  }
  runs.set("platformatic", platformatic());
}, 180_000);

afterAll(async () => {
  await Promise.all([...runs.values()].map((r) => r.catch(() => {})));
  for (const b of brokers) await b.stop().catch(() => {});
  pg?.destroy();
  await s3?.close();
}, 60_000);

/** The records of partition p as sent: i = p, p+6, ... with value <prefix><i>. */
const expected = (prefix: string, p: number) =>
  Array.from({ length: RECORDS / PARTITIONS }, (_, k) => `${prefix}${p + k * PARTITIONS}`);

/**
 * @platformatic/kafka: three KIP-848 members (ConsumerGroupHeartbeat), each bootstrapped through a different broker,
 * share the six partitions; an idempotent producer sends the records in rounds of 60, each round's batch for a
 * partition acknowledged at that partition's next offset; the group reads each record once, in order per partition.
 */
async function platformatic(): Promise<Map<string, CaseResult>> {
  const name = "platformatic.cluster.kip848-idempotent";
  const topic = `${RUN}-pk`;
  const groupId = `${RUN}-pk-group`;
  const read = new Map<number, string[]>();
  let total = 0;
  const members: { c: Consumer<string, string, string, string>; close(): Promise<void> }[] = [];
  const producer = new Producer({
    clientId: "pk-cluster",
    bootstrapBrokers: [addrs[1]],
    serializers: stringSerializers,
    idempotent: true,
    acks: -1,
  });
  try {
    for (let m = 0; m < 3; m++) {
      const c = new Consumer({
        clientId: `pk-cluster-${m}`,
        groupId,
        groupProtocol: "consumer",
        bootstrapBrokers: [addrs[m]],
        deserializers: stringDeserializers,
        autocommit: 100,
        maxWaitTime: 100,
      });
      const stream = await c.consume(
        { topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: "earliest" } as never,
      );
      stream.on("data", (msg: { partition: number; value: string }) => {
        read.set(msg.partition, [...(read.get(msg.partition) ?? []), msg.value]);
        total++;
      });
      members.push({ c, close: () => stream.close() });
    }
    const held = () =>
      members.map(({ c }) => (c.assignments ?? []).flatMap((a) => a.topic === topic ? a.partitions : []));
    const spread = await waitUntil(() => {
      const h = held();
      return h.every((ps) => ps.length > 0) && h.flat().sort().join() === "0,1,2,3,4,5";
    });
    if (!spread) throw new Error(`the partitions never spread over the three members: ${JSON.stringify(held())}`);
    for (let round = 0; round < RECORDS / 60; round++) {
      const messages = Array.from({ length: 60 }, (_, k) => {
        const i = round * 60 + k;
        return { topic, partition: i % PARTITIONS, key: `k${i}`, value: `p${i}` };
      });
      const result = await producer.send({ messages });
      const offsets = (result.offsets ?? []).map((o) => `${o.partition}@${o.offset}`).sort();
      const want = Array.from({ length: PARTITIONS }, (_, p) => `${p}@${round * 10}`).sort();
      if (offsets.join() !== want.join()) throw new Error(`round ${round} acknowledged at ${offsets}, want ${want}`);
    }
    if (!await waitUntil(() => total >= RECORDS)) throw new Error(`the group read ${total} of ${RECORDS}`);
    await Bun.sleep(300); // a duplicate would arrive now: none may
    for (let p = 0; p < PARTITIONS; p++) {
      const got = read.get(p) ?? [];
      if (got.join() !== expected("p", p).join()) throw new Error(`partition ${p}: the group read ${got}`);
    }
    const committed = async () =>
      (await members[0].c.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1, 2, 3, 4, 5] }] })).get(topic);
    if (!await waitUntil(async () => (await committed())?.every((o) => o === BigInt(RECORDS / PARTITIONS)) ?? false)) {
      throw new Error(`committed offsets ${await committed()}`);
    }
    return new Map([[name, { ok: true, line: `CASE ok ${name}`, detail: "" }]]);
  } catch (e) {
    return new Map([[name, { ok: false, line: `CASE fail ${name} ${(e as Error).message}`, detail: String(e) }]]);
  } finally {
    for (const { c, close } of members) {
      await close().catch(() => {});
      await c.close().catch(() => {});
    }
    await producer.close().catch(() => {});
  }
}

/** Polls `ok` every 100 ms, 60 s at most; whether it held. */
async function waitUntil(ok: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    if (await ok()) return true;
    await Bun.sleep(100);
  }
  return false;
}

const result = (run: string, name: string) => async () => expectCase(await runs.get(run)!, name);

describe("real clients against three brokers (Bun, Deno, Node) on one PostgreSQL and one bucket", () => {
  test("metadata through each broker shows the three; every topic is led by all three", async () => {
    for (const a of addrs) {
      const m = await until(
        () => metadata(a, `${RUN}-java`),
        (m) =>
          m.brokers.length === 3 && new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3 &&
          !m.topics[0].partitions.some((p) => p.leader < 0),
      );
      expect(m.brokers.map((b) => b.name).sort()).toEqual([...addrs].sort());
      expect(new Set(m.topics[0].partitions.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));
    }
  });
  test(
    "@platformatic/kafka: KIP-848 group across the brokers, idempotent producer",
    result("platformatic", "platformatic.cluster.kip848-idempotent"),
    120_000,
  );
  test.skipIf(noPython !== null)(
    "confluent-kafka: idempotent producer, classic group across the brokers",
    result("python", "confluent-kafka.cluster.idempotent-group"),
    120_000,
  );
  test.skipIf(noGo !== null)(
    "sarama: idempotent producer, group across the brokers",
    result("go", "sarama.cluster.idempotent-group"),
    120_000,
  );
  test.skipIf(noGo !== null)(
    "franz-go: idempotent producer, group across the brokers",
    result("go", "franz.cluster.idempotent-group"),
    120_000,
  );
  test.skipIf(noJava !== null)(
    "Java Admin: describeCluster shows the three brokers",
    result("java", "cluster.describe"),
    120_000,
  );
  test.skipIf(noJava !== null)(
    "Java: KafkaConsumer group.protocol=consumer across the brokers, idempotent producer",
    result("java", "cluster.kip848"),
    120_000,
  );
  test.skipIf(noJava !== null)(
    "Java: transactions over partitions led by three brokers, with group offsets; read_committed",
    result("java", "cluster.transaction"),
    120_000,
  );

  test(
    "kcat reads every topic back: each acknowledged record once, in order per partition; the data is in objects",
    async () => {
      await Promise.all([...runs.values()]);
      const written: [string, string][] = [["pk", "p"]];
      if (!noPython) written.push(["ck", "c"]);
      if (!noGo) written.push(["sarama", "s"], ["franz", "f"]);
      if (!noJava) written.push(["java", "j"]);
      for (const [t, prefix] of written) {
        for (let p = 0; p < PARTITIONS; p++) {
          const out = await kcat([
            "-b",
            addrs[p % 3],
            "-C",
            "-t",
            `${RUN}-${t}`,
            "-p",
            String(p),
            "-e",
            "-q",
            "-f",
            "%s\n",
          ]);
          expect({ topic: t, p, values: out.split("\n").filter((l) => l !== "") }).toEqual({
            topic: t,
            p,
            values: expected(prefix, p),
          });
        }
      }
      if (!noJava) {
        // The Java transactions, through librdkafka: the aborted one is hidden from read_committed only.
        for (let p = 0; p < 3; p++) {
          const read = (level: string) =>
            kcat([
              "-b",
              addrs[p],
              "-C",
              "-t",
              `${RUN}-java-txn`,
              "-p",
              String(p),
              "-e",
              "-q",
              "-X",
              `isolation.level=${level}`,
              "-f",
              "%s\n",
            ]);
          expect(await read("read_committed")).toBe(`c0-${p}\nc1-${p}\n`);
          expect(await read("read_uncommitted")).toBe(`c0-${p}\na-${p}\nc1-${p}\n`);
        }
      }
      const objects = (await (await s3.client("chronik-clients")).list("cluster/chronik-data/")).objects;
      expect(objects.length).toBeGreaterThan(0);
      expect(pg.psql("SELECT count(*) FROM chronik_batches", db)).toMatch(/\b0\b/);
    },
    120_000,
  );
});
