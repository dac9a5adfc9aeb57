// TLS listeners with real clients. A certificate for localhost/127.0.0.1 is made with openssl for
// the run. Every runtime (Bun, Deno, Node, the binary) serves an SSL listener to kcat
// (librdkafka, verifying the certificate and host name) and refuses a plaintext client; a
// SASL_SSL listener authenticates kcat with SCRAM-SHA-512 over TLS. kafkajs and
// @platformatic/kafka produce and consume over SSL and SASL_SSL against the in-process broker.
// Keystore checks: JKS, encrypted keys, client certificates and a missing file stop the start.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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
import { makeCertificate } from "../helpers/tls.ts";
import { kafkajsValues, until } from "../helpers/consume.ts";
import type { BrokerProcess } from "./harness.ts";
import { RUNTIMES, startBrokerProcess } from "./harness.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const dir = mkdtempSync(`${tmpdir()}/chronik-tls-`);
const CERT = `${dir}/cert.pem`;
const KEYSTORE = `${dir}/keystore.pem`;

async function run(cmd: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(cmd, {
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

beforeAll(async () => {
  await makeCertificate(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TLS_FLAGS = ["-o", "ssl.keystore.type=PEM", "-o", `ssl.keystore.location=${KEYSTORE}`];
const kcatTls = (
  addr: string,
  extra: string[] = [],
) => ["kcat", "-b", addr, "-X", "security.protocol=SSL", "-X", `ssl.ca.location=${CERT}`, ...extra];

for (const kind of RUNTIMES) {
  describe(`${kind} broker, TLS`, () => {
    let ssl: BrokerProcess;
    let saslSsl: BrokerProcess;
    beforeAll(async () => {
      ssl = await startBrokerProcess(kind, ["-o", "listeners=SSL://127.0.0.1:0", ...TLS_FLAGS]);
      saslSsl = await startBrokerProcess(kind, [
        "-o",
        "listeners=SASL_SSL://127.0.0.1:0",
        ...TLS_FLAGS,
        "--add-scram",
        "SCRAM-SHA-512=[name=carol,password=carol-secret]",
      ]);
    }, 120_000); // the first Node or binary start builds dist/
    afterAll(async () => {
      expect(await ssl.stop()).toBe(0);
      expect(await saslSsl.stop()).toBe(0);
    }, 20_000);

    test("kcat over SSL (certificate and host name verified); a plaintext client gets nothing", async () => {
      const addr = `${ssl.host}:${ssl.port}`;
      expect((await run([...kcatTls(addr), "-P", "-t", "tls", "-K:", "-p", "0"], "k1:v1\nk2:v2\n")).code).toBe(0);
      const out = await run([...kcatTls(addr), "-C", "-t", "tls", "-p", "0", "-e", "-f", "%k=%s\n"]);
      expect([out.code, out.out.trim().split("\n")]).toEqual([0, ["k1=v1", "k2=v2"]]);
      const plain = await run(["kcat", "-b", addr, "-L", "-m", "2"]);
      expect(plain.code).not.toBe(0);
    }, 30_000);

    test("kcat over SASL_SSL with SCRAM-SHA-512", async () => {
      const addr = `${saslSsl.host}:${saslSsl.port}`;
      const sasl = [
        "-X",
        "security.protocol=SASL_SSL",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        "sasl.username=carol",
        "-X",
        "sasl.password=carol-secret",
      ];
      const base = ["kcat", "-b", addr, "-X", `ssl.ca.location=${CERT}`, ...sasl];
      expect((await run([...base, "-P", "-t", "secure", "-p", "0"], "s1\ns2\n")).code).toBe(0);
      const out = await run([...base, "-C", "-t", "secure", "-p", "0", "-e", "-f", "%s\n"]);
      expect([out.code, out.out.trim().split("\n")]).toEqual([0, ["s1", "s2"]]);
    }, 30_000);
  });
}

describe("in-process broker, TLS", () => {
  let ssl: Broker;
  let saslSsl: Broker;
  beforeAll(async () => {
    const tls = {
      "ssl.keystore.type": "PEM",
      "ssl.keystore.location": KEYSTORE,
      "group.initial.rebalance.delay.ms": 0,
    };
    ssl = await testBroker({ listeners: "SSL://127.0.0.1:0", ...tls });
    saslSsl = await testBroker({
      listeners: "SASL_SSL://127.0.0.1:0",
      ...tls,
      "chronik.add.scram": ["SCRAM-SHA-256=[name=bob,password=bob-secret]"],
    });
  });
  afterAll(async () => {
    await ssl.close();
    await saslSsl.close();
  });

  test("kafkajs over SSL and over SASL_SSL (SCRAM-SHA-256)", async () => {
    const ca = [readFileSync(CERT, "utf8")];
    for (
      const [b, sasl] of [[ssl, undefined], [saslSsl, {
        mechanism: "scram-sha-256" as const,
        username: "bob",
        password: "bob-secret",
      }]] as const
    ) {
      const kafka = new Kafka({
        brokers: [`127.0.0.1:${b.port}`],
        clientId: "tls-e2e",
        logLevel: logLevel.NOTHING,
        ssl: { ca },
        sasl,
      });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: "kjs-tls", messages: [{ value: "a" }, { value: "b" }] });
      await producer.disconnect();
      expect(await kafkajsValues(kafka, "kjs-tls", "kjs-tls-group", 2)).toEqual(["a", "b"]);
    }
  }, 60_000);

  test("@platformatic/kafka over SSL", async () => {
    const tls = { ca: readFileSync(CERT, "utf8") };
    const producer = new PkProducer({
      clientId: "pk-tls",
      bootstrapBrokers: [`127.0.0.1:${ssl.port}`],
      serializers: stringSerializers,
      tls,
      autocreateTopics: true,
    });
    await producer.send({ messages: [{ topic: "pk-tls", key: "k", value: "v1" }] });
    await producer.close();
    const consumer = new PkConsumer({
      clientId: "pk-tls",
      groupId: "pk-tls-group",
      bootstrapBrokers: [`127.0.0.1:${ssl.port}`],
      deserializers: stringDeserializers,
      tls,
      maxWaitTime: 200,
    });
    const stream = await consumer.consume({ topics: ["pk-tls"], mode: MessagesStreamModes.EARLIEST } as never);
    const seen: string[] = [];
    stream.on("data", (m: { value: string }) => void seen.push(m.value));
    await until(() => seen.length >= 1);
    await stream.close();
    await consumer.close();
    expect(seen).toEqual(["v1"]);
  }, 30_000);

  test("keystores we cannot serve stop the start with a reason", async () => {
    const start = (extra: Record<string, unknown>) =>
      testBroker({ listeners: "SSL://127.0.0.1:0", "ssl.keystore.location": KEYSTORE, ...extra }).then(async (b) => {
        await b.close();
        return "started";
      }, (e: Error) => e.message);
    expect(await start({ "ssl.keystore.type": "JKS" })).toContain("ssl.keystore.type JKS is not supported");
    expect(await start({ "ssl.key.password": "x" })).toContain("encrypted private keys are not supported");
    expect(await start({ "ssl.client.auth": "required" })).toContain("ssl.client.auth=required is not supported");
    expect(await start({ "ssl.keystore.location": `${dir}/missing.pem` })).toContain("does not exist");
    expect(await start({ "ssl.keystore.location": CERT })).toContain("exactly one private key");
    expect(await start({ listeners: "SASL_SSL://127.0.0.1:0", "ssl.keystore.location": null })).toContain(
      "needs ssl.keystore.location",
    );
    // Inline PEM (ssl.keystore.key + ssl.keystore.certificate.chain) works too.
    expect(
      await start({
        "ssl.keystore.location": null,
        "ssl.keystore.key": readFileSync(`${dir}/key.pem`, "utf8"),
        "ssl.keystore.certificate.chain": readFileSync(CERT, "utf8"),
      }),
    ).toBe("started");
  });
});
