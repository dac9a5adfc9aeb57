// The Java ecosystem, Apache Kafka 4.4.0 from Maven (tests/java): kafka-clients (idempotent producer with each
// codec; classic consumer groups, eager and cooperative-sticky, static membership; KIP-848 groups with a regex
// subscription; transactions with sendOffsetsToTransaction and read_committed), the Admin client over every
// operation the broker offers, Kafka's own command-line tools run by their main classes, Kafka Streams with
// exactly_once_v2, and Kafka Connect standalone (4.3.1: see tests/java/connect/pom.xml) with the file connectors.
// One broker per runtime (Bun and Node), shared by every case; each case is one test here.
// Skipped, with a message, only when there is no JDK or Maven; a failed Maven build fails the tests.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BrokerProcess, RuntimeKind } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { CaseResult } from "./cases.ts";
import { expectCase } from "./cases.ts";
import { buildJava, javaCases, javaMissing, runJava } from "./jvm.ts";
import { recordResults } from "./client_results.ts";

const missing = javaMissing();
if (missing) console.warn(`java_test: SKIPPED, ${missing} (install a JDK 17+ and Maven to run the Java clients)`);
if (!missing) buildJava();
const CASES = missing ? [] : javaCases();

const BROKER_ARGS = [
  "-o",
  "group.initial.rebalance.delay.ms=0",
  "-o",
  "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
  "-o",
  "super.users=User:ANONYMOUS",
];
const RUNTIMES: RuntimeKind[] = ["bun", "node"];

// Both runtimes' JVMs run at once: the cases mostly wait on the network and on group rebalances.
const runs = new Map<RuntimeKind, Promise<Map<string, CaseResult>>>();
const brokers = new Map<RuntimeKind, Promise<BrokerProcess>>();

function resultsFor(kind: RuntimeKind): Promise<Map<string, CaseResult>> {
  let r = runs.get(kind);
  if (!r) {
    r = (async () => {
      const b = await brokers.get(kind)!;
      const { results, stderr } = await runJava(`${b.host}:${b.port}`, CASES, `j${kind}`);
      if (results.size === 0) throw new Error(`chronik.Main printed no result:\n${stderr.slice(-4000)}`);
      recordResults("kafka-clients (Java)", "4.4.0", kind, results);
      return results;
    })();
    runs.set(kind, r);
  }
  return r;
}

for (const kind of RUNTIMES) {
  describe.skipIf(missing !== null)(`Java 4.4.0 against the ${kind} broker`, () => {
    beforeAll(() => {
      brokers.set(kind, startBrokerProcess(kind, BROKER_ARGS));
      for (const k of RUNTIMES) if (!brokers.has(k)) brokers.set(k, startBrokerProcess(k, BROKER_ARGS));
      for (const k of RUNTIMES) void resultsFor(k).catch(() => {});
    });
    afterAll(async () => {
      await resultsFor(kind).catch(() => {});
      const b = await brokers.get(kind)!;
      expect(await b.stop()).toBe(0);
    });
    for (const name of CASES) {
      test(name, async () => {
        expectCase(await resultsFor(kind), name);
      }, 600_000);
    }
  });
}
