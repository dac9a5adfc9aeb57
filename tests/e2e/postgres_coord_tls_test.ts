// Inter-broker requests over a TLS + SASL listener: two brokers (Bun and Node) on one PostgreSQL whose only
// listener is SASL_SSL (a self-signed certificate made with openssl; the brokers trust it through
// ssl.truststore.location). A kafkajs transaction over partitions led by both commits and another aborts:
// the coordinator's WriteTxnMarkers reach the other broker over TLS, authenticated as the broker's own JAAS
// username/password (sasl.mechanism.inter.broker.protocol, PLAIN by default), and read_committed sees
// exactly the committed records.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { kcat } from "../helpers/kcat.ts";
import { makeCertificate } from "../helpers/tls.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" user_broker="broker-secret" user_alice="alice-secret";';

let pg: TestPostgres;
const brokers: BrokerProcess[] = [];
const dir = mkdtempSync(`${tmpdir()}/chronik-coord-tls-`);
let tls: { cert: string; keystore: string };
beforeAll(async () => {
  tls = await makeCertificate(dir);
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const b of brokers) await b.stop().catch(() => {});
  pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe("inter-broker requests on a SASL_SSL listener", () => {
  test("transaction markers reach the other broker over TLS and SASL: commit visible, abort not", async () => {
    const sasl = [
      "-X",
      "security.protocol=SASL_SSL",
      "-X",
      `ssl.ca.location=${tls.cert}`,
      "-X",
      "sasl.mechanisms=PLAIN",
      "-X",
      "sasl.username=alice",
    ];
    const url = pg.createDatabase("coord_sasl");
    for (const [i, kind] of (["bun", "node"] as const).entries()) {
      brokers.push(
        await startBrokerProcess(kind, [
          "--storage",
          url,
          "--node-id",
          String(i + 1),
          "-o",
          "listeners=SASL_SSL://127.0.0.1:0",
          "-o",
          "ssl.keystore.type=PEM",
          "-o",
          `ssl.keystore.location=${tls.keystore}`,
          "-o",
          `ssl.truststore.location=${tls.cert}`,
          "-o",
          `sasl.jaas.config=${JAAS}`,
          "-o",
          "broker.heartbeat.interval.ms=300",
          "-o",
          "broker.session.timeout.ms=2000",
          "-o",
          "leader.imbalance.check.interval.seconds=1", // brokers started one after another share the internal topics
          "-o",
          "offsets.topic.num.partitions=4",
          "-o",
          "transaction.state.log.num.partitions=2",
        ]),
      );
    }
    const all = brokers.map((b) => `127.0.0.1:${b.port}`);
    const kafka = new Kafka({
      brokers: all,
      logLevel: logLevel.NOTHING,
      ssl: { ca: [readFileSync(tls.cert, "utf8")] },
      sasl: { mechanism: "plain", username: "alice", password: "alice-secret" },
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    // Both brokers live, then a topic led by both.
    for (let i = 0; i < 100 && (await admin.describeCluster()).brokers.length < 2; i++) await Bun.sleep(200);
    await admin.createTopics({ topics: [{ topic: "sasltx", numPartitions: 4 }] });
    let leaders = new Set<number>();
    for (let i = 0; i < 100 && leaders.size < 2; i++) {
      // The other broker learns of the topic at its next beat (UNKNOWN_TOPIC_OR_PARTITION until then).
      const m = await admin.fetchTopicMetadata({ topics: ["sasltx"] }).catch(() => null);
      leaders = new Set(m?.topics[0].partitions.map((p) => p.leader).filter((l) => l >= 1));
      if (leaders.size < 2) await Bun.sleep(200);
    }
    expect(leaders).toEqual(new Set([1, 2]));
    await admin.disconnect();

    const producer = kafka.producer({ transactionalId: "sasl-tx", maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    let tx = await producer.transaction();
    await tx.send({ topic: "sasltx", messages: [0, 1, 2, 3].map((p) => ({ partition: p, value: `c${p}` })) });
    await tx.commit();
    tx = await producer.transaction();
    await tx.send({ topic: "sasltx", messages: [0, 1, 2, 3].map((p) => ({ partition: p, value: `a${p}` })) });
    await tx.abort();
    await producer.disconnect();
    for (let p = 0; p < 4; p++) {
      const read = (level: string) =>
        kcat([
          "-b",
          all.join(","),
          ...sasl,
          "-X",
          "sasl.password=alice-secret",
          "-C",
          "-t",
          "sasltx",
          "-p",
          String(p),
          "-e",
          "-X",
          `isolation.level=${level}`,
          "-f",
          "%s\n",
        ]);
      expect(await read("read_committed")).toBe(`c${p}\n`);
      expect(await read("read_uncommitted")).toBe(`c${p}\na${p}\n`);
    }
    const logs = brokers.map((b) => b.logs()).join("\n");
    expect(logs).not.toContain("markers for");
  }, 120_000);
});
