// sarama (Go, Debian's golang-github-shopify-sarama-dev 1.22): cluster admin creates and lists a
// topic, a sync producer with acks=all sends keyed records with headers, a consumer group reads
// them all back; and over a SASL_PLAINTEXT listener with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
// (xdg-go/scram). Built with Debian's Go at test time (GOPATH mode, no module downloads).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";

let broker: Broker;
const work = mkdtempSync(`${tmpdir()}/chronik-sarama-`);
beforeAll(async () => {
  broker = await testBroker({ "group.initial.rebalance.delay.ms": 0 });
});
afterAll(async () => {
  await broker.close();
  rmSync(work, { recursive: true, force: true });
});

async function run(cmd: string[], env: Record<string, string> = {}, dir = "sarama"): Promise<string> {
  const p = Bun.spawn(cmd, {
    cwd: `${import.meta.dir}/${dir}`,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}:\n${out}\n${err}`);
  return out;
}

test("sarama: admin, acks=all producer, consumer group", async () => {
  const bin = `${work}/sarama-e2e`;
  await run(["go", "build", "-o", bin, "main.go"], {
    GO111MODULE: "off",
    GOPATH: "/usr/share/gocode",
    GOCACHE: `${work}/cache`,
  });
  const out = await run([bin, `127.0.0.1:${broker.port}`, "sarama-topic", "300"]);
  expect(out.trim()).toBe("ok 300");
  expect(broker.services.topics.get("sarama-topic")!.partitions.reduce((n, p) => n + p.logEndOffset, 0)).toBe(300);
}, 180_000);

test("sarama over SASL_PLAINTEXT: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; a wrong password fails", async () => {
  const sasl = await testBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";',
    "chronik.add.scram": [
      "SCRAM-SHA-256=[name=bob,password=bob-secret]",
      "SCRAM-SHA-512=[name=carol,password=carol-secret]",
    ],
  });
  try {
    const bin = `${work}/sarama-sasl`;
    await run(["go", "build", "-o", bin, "main.go"], {
      GO111MODULE: "off",
      GOPATH: "/usr/share/gocode",
      GOCACHE: `${work}/cache`,
    }, "sarama_sasl");
    for (
      const [mechanism, user, password] of [
        ["PLAIN", "alice", "alice-secret"],
        ["SCRAM-SHA-256", "bob", "bob-secret"],
        ["SCRAM-SHA-512", "carol", "carol-secret"],
      ]
    ) {
      const topic = `sarama-${mechanism.toLowerCase()}`;
      await sasl.services.topics.create(topic, 1, new Map());
      expect(await run([bin, `127.0.0.1:${sasl.port}`, mechanism, user, password, topic, "20"], {}, "sarama_sasl"))
        .toBe("ok 20\n");
    }
    await expect(
      run(
        [bin, `127.0.0.1:${sasl.port}`, "SCRAM-SHA-256", "bob", "wrong", "sarama-scram-sha-256", "1"],
        {},
        "sarama_sasl",
      ),
    ).rejects.toThrow();
  } finally {
    await sasl.close();
  }
}, 180_000);

test("sarama 1.22 batches (MaxTimestamp -1) are found by ListOffsets-by-timestamp", async () => {
  await broker.services.topics.create("sarama-ts", 1, new Map());
  const bin = `${work}/sarama-ts`;
  await run(["go", "build", "-o", bin, "main.go"], {
    GO111MODULE: "off",
    GOPATH: "/usr/share/gocode",
    GOCACHE: `${work}/cache`,
  }, "sarama_timestamps");
  const out = await run([bin, `127.0.0.1:${broker.port}`, "sarama-ts"]);
  expect(out.trim()).toBe("offset 2");
}, 180_000);
