// SASL with real clients over TCP. Every runtime (Bun, Deno, Node, the binary) serves a
// SASL_PLAINTEXT listener to kcat (librdkafka 2.0.2: SaslHandshake v1 + SaslAuthenticate) with
// PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; a wrong password and a client without SASL are refused.
// Against the in-process broker: kafkajs (all three mechanisms), @platformatic/kafka (SCRAM) and
// kafka-python 2.0.2 (SaslHandshake v0 with bare tokens) produce and consume.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  Consumer as PkConsumer,
  MessagesStreamModes,
  Producer as PkProducer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { kafkajsValues, until } from "../helpers/consume.ts";
import type { BrokerProcess } from "./harness.ts";
import { RUNTIMES, startBrokerProcess } from "./harness.ts";
import { saslKcat } from "../helpers/kcat.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";';
const SCRAM = ["SCRAM-SHA-256=[name=bob,password=bob-secret]", "SCRAM-SHA-512=[name=carol,password=carol-secret]"];
const USERS: [string, string, string][] = [["PLAIN", "alice", "alice-secret"], ["SCRAM-SHA-256", "bob", "bob-secret"], [
  "SCRAM-SHA-512",
  "carol",
  "carol-secret",
]];

async function run(cmd: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(cmd, {
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

const kcatSasl = (addr: string, mechanism: string, user: string, password: string) => [
  "kcat",
  "-b",
  addr,
  ...saslKcat(user, mechanism, password),
];

for (const kind of RUNTIMES) {
  describe(`${kind} broker, SASL_PLAINTEXT`, () => {
    let b: BrokerProcess;
    let addr: string;
    beforeAll(async () => {
      b = await startBrokerProcess(kind, [
        "-o",
        "listeners=SASL_PLAINTEXT://127.0.0.1:0",
        "-o",
        `sasl.jaas.config=${JAAS}`,
        ...SCRAM.flatMap((s) => ["--add-scram", s]),
      ]);
      addr = `${b.host}:${b.port}`;
    }, 120_000); // the first Node or binary start builds dist/
    afterAll(async () => {
      expect(await b.stop()).toBe(0);
    }, 20_000);

    test(
      "kcat with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; wrong passwords and plain clients are refused",
      async () => {
        const [mechanism, user, password] = USERS[0];
        const produced = await run([
          ...kcatSasl(addr, mechanism, user, password),
          "-P",
          "-t",
          "secure",
          "-K:",
          "-p",
          "0",
        ], "k1:v1\nk2:v2\n");
        expect(produced.code).toBe(0);
        for (const [m, u, pw] of USERS) {
          const out = await run([...kcatSasl(addr, m, u, pw), "-C", "-t", "secure", "-p", "0", "-e", "-f", "%k=%s\n"]);
          expect([m, out.code, out.out.trim().split("\n")]).toEqual([m, 0, ["k1=v1", "k2=v2"]]);
        }
        const wrong = await run([...kcatSasl(addr, "SCRAM-SHA-256", "bob", "nope"), "-L", "-m", "2"]);
        expect(wrong.code).not.toBe(0);
        expect(wrong.err).toMatch(/[Aa]uthentication/);
        const plain = await run(["kcat", "-b", addr, "-L", "-m", "2"]);
        expect(plain.code).not.toBe(0);
      },
      60_000,
    );
  });
}

describe("in-process broker, SASL_PLAINTEXT", () => {
  let broker: Broker;
  let addr: string;
  beforeAll(async () => {
    broker = await testBroker({
      listeners: "SASL_PLAINTEXT://127.0.0.1:0",
      "sasl.jaas.config": JAAS,
      "chronik.add.scram": SCRAM,
      "group.initial.rebalance.delay.ms": 0,
    });
    addr = `127.0.0.1:${broker.port}`;
  });
  afterAll(async () => {
    await broker.close();
  });

  test(
    "kafkajs: plain, scram-sha-256, scram-sha-512 produce and consume; a wrong password is KafkaJSSASLAuthenticationError",
    async () => {
      for (const [mechanism, username, password] of USERS) {
        const topic = `kjs-${mechanism.toLowerCase()}`;
        const kafka = new Kafka({
          brokers: [addr],
          clientId: "sasl-e2e",
          logLevel: logLevel.NOTHING,
          sasl: { mechanism: mechanism.toLowerCase() as "plain", username, password },
        });
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
        await admin.disconnect();
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({ topic, messages: [{ key: "a", value: "1" }, { key: "b", value: "2" }] });
        await producer.disconnect();
        expect([mechanism, await kafkajsValues(kafka, topic, `g-${topic}`, 2)]).toEqual([mechanism, ["1", "2"]]);
      }
      const bad = new Kafka({
        brokers: [addr],
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        sasl: { mechanism: "scram-sha-256", username: "bob", password: "nope" },
      }).admin();
      const err = await bad.connect().catch((e) => e);
      expect(err?.name).toBe("KafkaJSSASLAuthenticationError");
    },
    60_000,
  );

  test("@platformatic/kafka: SCRAM-SHA-512 producer and consumer", async () => {
    const sasl = { mechanism: "SCRAM-SHA-512", username: "carol", password: "carol-secret" } as const;
    const producer = new PkProducer({
      clientId: "pk-sasl",
      bootstrapBrokers: [addr],
      serializers: stringSerializers,
      sasl,
      autocreateTopics: true,
    });
    await producer.send({
      messages: [{ topic: "pk-secure", key: "k", value: "v1" }, { topic: "pk-secure", key: "k", value: "v2" }],
    });
    await producer.close();
    const consumer = new PkConsumer({
      clientId: "pk-sasl",
      groupId: "pk-sasl-group",
      bootstrapBrokers: [addr],
      deserializers: stringDeserializers,
      sasl,
      maxWaitTime: 200,
    });
    const stream = await consumer.consume({ topics: ["pk-secure"], mode: MessagesStreamModes.EARLIEST } as never);
    const seen: string[] = [];
    stream.on("data", (m: { value: string }) => void seen.push(m.value));
    await until(() => seen.length >= 2);
    await stream.close();
    await consumer.close();
    expect(seen).toEqual(["v1", "v2"]);
  }, 30_000);

  test("kafka-python 2.0.2 (SaslHandshake v0, bare tokens): PLAIN and SCRAM-SHA-256", async () => {
    const script = `
import sys
from kafka import KafkaProducer, KafkaConsumer
addr, mech, user, pw, topic = sys.argv[1:6]
kw = dict(bootstrap_servers=addr, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mech, sasl_plain_username=user, sasl_plain_password=pw, api_version=(1, 0, 0))
p = KafkaProducer(**kw)
for i in range(3):
    p.send(topic, key=b"k", value=("v%d" % i).encode()).get(timeout=10)
p.close()
c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=3000, **kw)
print(",".join(m.value.decode() for m in c))
c.close()
`;
    for (const [mechanism, user, password] of USERS.slice(0, 2)) {
      const topic = `kp-${mechanism.toLowerCase()}`;
      await broker.services.topics.create(topic, 1, new Map());
      const r = await run(["/usr/bin/python3", "-c", script, addr, mechanism, user, password, topic]);
      expect([mechanism, r.code, r.out.trim()]).toEqual([mechanism, 0, "v0,v1,v2"]);
    }
  }, 60_000);
});
