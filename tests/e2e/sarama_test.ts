// sarama (Go, github.com/IBM/sarama v1.61.1 as a Go module, tests/go/sarama*, speaking Kafka 4.0's versions):
// cluster admin creates and lists a topic, a sync producer with acks=all sends keyed records with headers, a
// consumer group reads them all back, against the in-process (Bun) broker and a Node broker process; and over a
// SASL_PLAINTEXT listener with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (xdg-go/scram). Built by tests/e2e/golang.ts
// (.ci/run builds first); skipped with a message only when there is no Go toolchain.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { expectReadmeMatrix, recordResults } from "./client_results.ts";
import { buildGo, goMissing } from "./golang.ts";
import { startBrokerProcess } from "./harness.ts";

const missing = goMissing();
if (missing) console.warn(`sarama_test: SKIPPED, ${missing} (install Go to run sarama)`);
const BIN = missing ? "" : buildGo("sarama");
const SASL_BIN = missing ? "" : buildGo("sarama_sasl");

let broker: Broker;
beforeAll(async () => {
  broker = await testBroker({ "group.initial.rebalance.delay.ms": 0 });
});
// For the README's matrix (tests/e2e/client_results.ts): what passed, per runtime of the broker.
const passed = { bun: new Map<string, { ok: boolean }>(), node: new Map<string, { ok: boolean }>() };
afterAll(async () => {
  await broker.close();
});

async function run(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}:\n${out}\n${err}`);
  return out;
}

test.skipIf(missing !== null)("sarama: admin, acks=all producer, consumer group", async () => {
  const out = await run([BIN, `127.0.0.1:${broker.port}`, "sarama-topic", "300"]);
  expect(out.trim()).toBe("ok 300");
  passed.bun.set("sarama.admin-producer-group", { ok: true });
  expect(broker.services.topics.get("sarama-topic")!.partitions.reduce((n, p) => n + p.logEndOffset, 0)).toBe(300);
}, 180_000);

test.skipIf(missing !== null)("sarama against a Node broker process: admin, producer, consumer group", async () => {
  const b = await startBrokerProcess("node", ["-o", "group.initial.rebalance.delay.ms=0"]);
  try {
    expect((await run([BIN, `${b.host}:${b.port}`, "sarama-topic", "300"])).trim()).toBe("ok 300");
    passed.node.set("sarama.admin-producer-group", { ok: true });
  } finally {
    expect(await b.stop()).toBe(0);
  }
}, 180_000);

test.skipIf(missing !== null)(
  "sarama over SASL_PLAINTEXT: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; a wrong password fails",
  async () => {
    const sasl = await testBroker({
      listeners: "SASL_PLAINTEXT://127.0.0.1:0",
      "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";',
      "chronik.add.scram": [
        "SCRAM-SHA-256=[name=bob,password=bob-secret]",
        "SCRAM-SHA-512=[name=carol,password=carol-secret]",
      ],
    });
    try {
      const bin = SASL_BIN;
      for (
        const [mechanism, user, password] of [
          ["PLAIN", "alice", "alice-secret"],
          ["SCRAM-SHA-256", "bob", "bob-secret"],
          ["SCRAM-SHA-512", "carol", "carol-secret"],
        ]
      ) {
        const topic = `sarama-${mechanism.toLowerCase()}`;
        await sasl.services.topics.create(topic, 1, new Map());
        expect(await run([bin, `127.0.0.1:${sasl.port}`, mechanism, user, password, topic, "20"])).toBe("ok 20\n");
        passed.bun.set(`sarama.sasl-plaintext.${mechanism.toLowerCase()}`, { ok: true });
      }
      await expect(
        run([bin, `127.0.0.1:${sasl.port}`, "SCRAM-SHA-256", "bob", "wrong", "sarama-scram-sha-256", "1"]),
      ).rejects.toThrow();
    } finally {
      await sasl.close();
    }
  },
  180_000,
);

// Debian's sarama 1.22 (GOPATH build, .ci/run installs it) writes MaxTimestamp -1 in its batches.
const OLD_SARAMA = "/usr/share/gocode/src/github.com/Shopify/sarama";
test.skipIf(missing !== null || !existsSync(OLD_SARAMA))(
  "sarama 1.22 batches (MaxTimestamp -1) are found by ListOffsets-by-timestamp",
  async () => {
    const work = mkdtempSync(`${tmpdir()}/chronik-sarama-`);
    try {
      await broker.services.topics.create("sarama-ts", 1, new Map());
      const bin = `${work}/sarama-ts`;
      await runIn(["go", "build", "-o", bin, "main.go"], {
        GO111MODULE: "off",
        GOPATH: "/usr/share/gocode",
        // Go's own build cache (safe between processes): a private one compiled sarama 1.22 anew on every run.
      }, "sarama_timestamps");
      const out = await run([bin, `127.0.0.1:${broker.port}`, "sarama-ts"]);
      expect(out.trim()).toBe("offset 2");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
  180_000,
);

async function runIn(cmd: string[], env: Record<string, string>, dir: string): Promise<string> {
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

// Last in this file: what passed above, for the README's matrix, which must show it.
test.skipIf(missing !== null)("the README's client matrix shows these results", () => {
  recordResults("sarama", "1.61.1", "bun", passed.bun);
  recordResults("sarama", "1.61.1", "node", passed.node);
  expectReadmeMatrix("bun");
  expectReadmeMatrix("node");
});
