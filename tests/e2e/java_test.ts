// The Java ecosystem, Apache Kafka 4.4.0 from Maven (tests/java): kafka-clients (idempotent producer with each
// codec; classic consumer groups, eager and cooperative-sticky, static membership; KIP-848 groups with a regex
// subscription; transactions with sendOffsetsToTransaction and read_committed), the Admin client over every
// operation the broker offers, Kafka's own command-line tools run by their main classes, Kafka Streams with
// exactly_once_v2, and Kafka Connect standalone 4.4.0 with Kafka's FileStream source and sink connectors from
// connect-file 4.3.1, the newest the registry serves, on its plugin.path (tests/java/connect/pom.xml says how);
// over SASL_SSL, SCRAM-SHA-256/512, PLAIN and OAUTHBEARER (the Java client's unsecured login). One broker per runtime,
// shared by every case; each case is one test here. Bun and Node run every case, Deno a representative subset
// (DENO_CASES: one of each kind of client, so the suite does not grow by a third JVM run of everything). The last test
// of each runtime checks the README's client matrix against what ran (tests/e2e/client_results.ts).
// Skipped, with a message, only when there is no JDK or Maven; a failed Maven build fails the tests.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { makeCertificate } from "../helpers/tls.ts";
import type { BrokerProcess, RuntimeKind } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { CaseResult } from "./cases.ts";
import { expectCase } from "./cases.ts";
import { buildJava, javaCases, javaMissing, runJava } from "./jvm.ts";
import { expectReadmeMatrix, recordResults } from "./client_results.ts";

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
  // share.lock_timeout sets its group's share.record.lock.duration.ms to 1 s (Kafka's smallest broker bound).
  "-o",
  "group.share.min.record.lock.duration.ms=1000",
  // telemetry.push reads /metrics: the case gets the address in -Dchronik.http.
  "--http-port",
  "0",
];
// The security.* cases run against a second broker with one SASL_SSL listener (a certificate made for the run).
let certDir: string | null = null;
const secureArgs = (keystore: string) => [
  "-o",
  "listeners=SASL_SSL://127.0.0.1:0",
  "-o",
  "ssl.keystore.type=PEM",
  "-o",
  `ssl.keystore.location=${keystore}`,
  "-o",
  "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
  "-o",
  'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";',
  "--add-scram",
  "SCRAM-SHA-256=[name=bob,password=bob-secret]",
  "--add-scram",
  "SCRAM-SHA-512=[name=carol,password=carol-secret]",
  "-o",
  "group.initial.rebalance.delay.ms=0",
];
const PLAIN_CASES = CASES.filter((n) => !n.startsWith("security.") && !n.startsWith("restart."));
const SECURE_CASES = CASES.filter((n) => n.startsWith("security."));
const RUNTIMES: RuntimeKind[] = ["bun", "node", "deno"];
// What the Deno broker runs: producer, both group protocols, transactions, Admin, Streams, Connect, a tool, SASL_SSL.
const DENO_CASES = new Set([
  "producer.idempotent.zstd",
  "consumer.classic.cooperative-sticky",
  "consumer.kip848.regex",
  "transactions.consume-transform-produce",
  "admin.topics-partitions",
  "admin.configs",
  "streams.eos-v2.join-windowed-count",
  "connect.standalone.file-source-sink",
  "tools.kafka-consumer-groups",
  "security.sasl-ssl.scram-sha-512",
]);
const casesOn = (kind: RuntimeKind, cases: string[]) =>
  kind === "deno" ? cases.filter((n) => DENO_CASES.has(n)) : cases;
let cert: Promise<{ cert: string; keystore: string }> | null = null;

// What the README's matrix calls each group of cases.
const CLIENTS: [string, string, string][] = [
  ["tools.", "Kafka command-line tools", "4.4.0"],
  ["streams.", "Kafka Streams", "4.4.0"],
  ["connect.", "Kafka Connect (connect-file 4.3.1)", "4.4.0"],
  ["share.", "KafkaShareConsumer (Java)", "4.4.0"],
  ["", "kafka-clients (Java)", "4.4.0"],
];

type Run = { brokers: Promise<BrokerProcess>[]; results: Promise<Map<string, CaseResult>> };
// Both runtimes' JVMs run at once: the cases mostly wait on the network and on group rebalances.
const runs = new Map<RuntimeKind, Run>();
let finished = 0;

function start(kind: RuntimeKind): Run {
  let r = runs.get(kind);
  if (r) return r;
  certDir ??= mkdtempSync(`${tmpdir()}/chronik-java-tls-`);
  cert ??= makeCertificate(certDir);
  const plain = startBrokerProcess(kind, BROKER_ARGS);
  const secure = cert.then((c) => startBrokerProcess(kind, secureArgs(c.keystore)));
  const one = async (b: Promise<BrokerProcess>, cases: string[], jvm: string[], withHttp = false) => {
    const broker = await b;
    for (let i = 0; i < 100 && withHttp && !/http listening on/.test(broker.logs()); i++) await Bun.sleep(50);
    const http = /http listening on (\S+:\d+)/.exec(broker.logs());
    if (http) jvm = [...jvm, `-Dchronik.http=${http[1]}`];
    const { results, stderr } = await runJava(`${broker.host}:${broker.port}`, cases, `j${kind}`, jvm);
    if (results.size === 0) throw new Error(`chronik.Main printed no result:\n${stderr.slice(-4000)}`);
    return results;
  };
  const results = Promise.all([
    one(plain, casesOn(kind, PLAIN_CASES), [], true),
    cert.then((c) => one(secure, casesOn(kind, SECURE_CASES), [`-Dchronik.truststore=${c.cert}`])),
  ]).then(([a, b]) => {
    const all = new Map([...a, ...b]);
    const left = new Map(all);
    for (const [prefix, client, version] of CLIENTS) {
      const mine = new Map([...left].filter(([n]) => n.startsWith(prefix)));
      for (const n of mine.keys()) left.delete(n);
      recordResults(client, version, kind, mine);
    }
    return all;
  });
  r = { brokers: [plain, secure], results };
  runs.set(kind, r);
  return r;
}

for (const kind of RUNTIMES) {
  describe.skipIf(missing !== null)(`Java 4.4.0 against the ${kind} broker`, () => {
    beforeAll(() => {
      for (const k of RUNTIMES) void start(k).results.catch(() => {});
    });
    afterAll(async () => {
      const r = start(kind);
      await r.results.catch(() => {});
      for (const b of r.brokers) expect(await (await b).stop()).toBe(0);
      if (++finished === RUNTIMES.length && certDir) rmSync(certDir, { recursive: true, force: true });
    });
    for (const name of casesOn(kind, [...PLAIN_CASES, ...SECURE_CASES])) {
      test(name, async () => expectCase(await start(kind).results, name), 600_000);
    }
    test("the README's client matrix shows these results", async () => {
      await start(kind).results;
      expectReadmeMatrix(kind);
    }, 600_000);
  });
}
