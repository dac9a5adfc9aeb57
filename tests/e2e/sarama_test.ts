// sarama (Go, Debian's golang-github-shopify-sarama-dev 1.22): cluster admin creates and lists a
// topic, a sync producer with acks=all sends keyed records with headers, a consumer group reads
// them all back. Built with Debian's Go at test time (GOPATH mode, no module downloads).
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

async function run(cmd: string[], env: Record<string, string> = {}): Promise<string> {
  const p = Bun.spawn(cmd, { cwd: `${import.meta.dir}/sarama`, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}:\n${out}\n${err}`);
  return out;
}

test("sarama: admin, acks=all producer, consumer group", async () => {
  const bin = `${work}/sarama-e2e`;
  await run(["go", "build", "-o", bin, "main.go"], { GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOCACHE: `${work}/cache`, });
  const out = await run([bin, `127.0.0.1:${broker.port}`, "sarama-topic", "300"]);
  expect(out.trim()).toBe("ok 300");
  expect(broker.services.topics.get("sarama-topic")!.partitions.reduce((n, p) => n + p.logEndOffset, 0)).toBe(300);
}, 180_000);
