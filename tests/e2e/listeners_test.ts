// Several listeners at once, as Kafka deployments configure them: PLAINTEXT, SASL_PLAINTEXT and SSL
// on their own ports, each with its own security and its own advertised address
// (advertised.listeners): Metadata answers with the address of the listener a client came in
// on, so clients stay on it. Per-listener SASL mechanisms. kafkajs produces on one listener and
// consumes on another; kcat sees each listener's address. Also under Deno from the command line.
// (Advertised addresses point at localhost: nothing here resolves outside names.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Kafka, logLevel } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { SaslHandshake } from "../../src/protocol/messages/17_sasl_handshake.ts";
import { SaslAuthenticate } from "../../src/protocol/messages/36_sasl_authenticate.ts";
import { testBroker } from "../helpers/broker.ts";
import { makeCertificate } from "../helpers/tls.ts";
import { kafkajsValues } from "../helpers/consume.ts";
import { scramClient } from "../helpers/scram.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { startBrokerProcess } from "./harness.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const dir = mkdtempSync(`${tmpdir()}/chronik-listeners-`);
const CERT = `${dir}/cert.pem`;
const KEYSTORE = `${dir}/keystore.pem`;
let broker: Broker;
const port = (name: string) => broker.listeners.find((l) => l.name === name)!.port;

async function run(cmd: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

beforeAll(async () => {
  await makeCertificate(dir);
  broker = await testBroker({
    listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
    "listener.security.protocol.map": "EXTERNAL:SASL_PLAINTEXT",
    "advertised.listeners": "EXTERNAL://localhost:19093",
    "listener.name.external.sasl.enabled.mechanisms": "SCRAM-SHA-512",
    "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";',
    "chronik.add.scram": ["SCRAM-SHA-512=[name=carol,password=carol-secret]"],
    "ssl.keystore.type": "PEM",
    "ssl.keystore.location": KEYSTORE,
    "group.initial.rebalance.delay.ms": 0,
  });
});
afterAll(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("several listeners", () => {
  test("each listener binds its own port and advertises its own address", async () => {
    expect(broker.listeners.map((l) => l.name)).toEqual(["PLAINTEXT", "SASL_PLAINTEXT", "SSL", "EXTERNAL"]);
    expect(new Set(broker.listeners.map((l) => l.port)).size).toBe(4);
    const plain = await run(["kcat", "-b", `127.0.0.1:${port("PLAINTEXT")}`, "-L"]);
    expect(plain.out).toContain(`broker 0 at 127.0.0.1:${port("PLAINTEXT")}`);
    const ssl = await run([
      "kcat",
      "-b",
      `127.0.0.1:${port("SSL")}`,
      "-X",
      "security.protocol=SSL",
      "-X",
      `ssl.ca.location=${CERT}`,
      "-L",
    ]);
    expect(ssl.out).toContain(`broker 0 at 127.0.0.1:${port("SSL")}`);
    const sasl = await run([
      "kcat",
      "-b",
      `127.0.0.1:${port("SASL_PLAINTEXT")}`,
      "-X",
      "security.protocol=SASL_PLAINTEXT",
      "-X",
      "sasl.mechanisms=PLAIN",
      "-X",
      "sasl.username=alice",
      "-X",
      "sasl.password=alice-secret",
      "-L",
    ]);
    expect(sasl.out).toContain(`broker 0 at 127.0.0.1:${port("SASL_PLAINTEXT")}`);
  });

  test("advertised.listeners and per-listener SASL mechanisms", async () => {
    const c = await WireClient.connect(port("EXTERNAL"));
    const hs = await c.send(SaslHandshake, 1, { mechanism: "PLAIN" });
    expect([hs.errorCode, hs.mechanisms]).toEqual([ErrorCode.UNSUPPORTED_SASL_MECHANISM, ["SCRAM-SHA-512"]]);
    // SCRAM-SHA-512 on EXTERNAL, then Metadata tells the advertised address (a client would move there).
    const e = await WireClient.connect(port("EXTERNAL"));
    expect((await e.send(SaslHandshake, 1, { mechanism: "SCRAM-SHA-512" })).errorCode).toBe(0);
    const client = await scramClient("SCRAM-SHA-512", "carol", "carol-secret");
    const first = await e.send(SaslAuthenticate, 2, { authBytes: client.first });
    expect(
      (await e.send(SaslAuthenticate, 2, { authBytes: await client.final(new TextDecoder().decode(first.authBytes!)) }))
        .errorCode,
    ).toBe(0);
    const emd = await e.send(Metadata, 12, {
      topics: [],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(emd.brokers).toEqual([{ nodeId: 0, host: "localhost", port: 19093, rack: null }]);
    e.close();
    // The PLAINTEXT listener needs no SASL and tells its own address.
    const p = await WireClient.connect(port("PLAINTEXT"));
    const md = await p.send(Metadata, 12, {
      topics: [],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(md.brokers).toEqual([{ nodeId: 0, host: "127.0.0.1", port: port("PLAINTEXT"), rack: null }]);
    p.close();
  });

  test("kafkajs produces on PLAINTEXT and consumes on SASL_PLAINTEXT", async () => {
    const producer = new Kafka({ brokers: [`127.0.0.1:${port("PLAINTEXT")}`], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: "multi", messages: [{ value: "m1" }, { value: "m2" }] });
    await producer.disconnect();
    const sasl = new Kafka({
      brokers: [`127.0.0.1:${port("SASL_PLAINTEXT")}`],
      logLevel: logLevel.NOTHING,
      sasl: { mechanism: "plain", username: "alice", password: "alice-secret" },
    });
    expect(await kafkajsValues(sasl, "multi", "multi-group", 2)).toEqual(["m1", "m2"]);
  }, 30_000);

  test("a listener name given twice, or an address that is not NAME://host:port, stops the start", async () => {
    const start = (listeners: string) =>
      testBroker({ listeners }).then(async (b) => {
        await b.close();
        return "started";
      }, (e: Error) => e.message);
    expect(await start("PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0")).toContain("appears twice");
    expect(await start("PLAINTEXT:127.0.0.1:0")).toContain("is not NAME://host:port");
    expect(await start("WEIRD://127.0.0.1:0")).toContain("security protocol WEIRD is not supported");
  });

  test("deno from the command line: two listeners", async () => {
    const b = await startBrokerProcess("deno", [
      "-o",
      "listeners=PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
      "-o",
      "listener.security.protocol.map=INTERNAL:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    ]);
    try {
      let m: RegExpExecArray | null = null;
      for (let i = 0; i < 50 && !m; i++) {
        m = /listener INTERNAL listening on 127\.0\.0\.1:(\d+)/.exec(b.logs());
        if (!m) await Bun.sleep(100);
      }
      expect(m).not.toBeNull();
      const meta = await run(["kcat", "-b", `127.0.0.1:${m![1]}`, "-L"]);
      expect(meta.out).toContain(`broker 0 at 127.0.0.1:${m![1]}`);
    } finally {
      expect(await b.stop()).toBe(0);
    }
  }, 30_000);
});
