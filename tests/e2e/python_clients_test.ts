// confluent-kafka 2.16.1 from PyPI (its bundled librdkafka 2.16.0: codecs, KIP-848 with a regex subscription,
// transactions with send_offsets_to_transaction, the admin API including legacy alter_configs, the KIP-932 share
// consumer) and aiokafka
// 0.14.0 (idempotent producer and a group; transactions), from tests/python/clients.py in a venv pinned by
// tests/python/requirements.txt (.ci/run makes it; made here when missing). One broker per runtime (Bun and
// Node), each case one test. Skipped, with a message, only without python3.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CaseResult } from "./cases.ts";
import { expectCase, runCases } from "./cases.ts";
import { ensureVenv, PY, PY_DIR, pythonMissing } from "./python.ts";
import { expectReadmeMatrix, recordResults } from "./client_results.ts";
import type { BrokerProcess, RuntimeKind } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import { enableShare } from "../helpers/share.ts";
import { WireClient } from "../helpers/wire_client.ts";

const missing = pythonMissing();
if (missing) console.warn(`python_clients_test: SKIPPED, ${missing}`);

if (!missing) ensureVenv();
const CASES = missing
  ? []
  : Bun.spawnSync([PY, `${PY_DIR}/clients.py`, "-", "-", "--list"]).stdout.toString().trim().split("\n");

const BROKER_ARGS = [
  "-o",
  "group.initial.rebalance.delay.ms=0",
  "-o",
  "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
  "-o",
  "super.users=User:ANONYMOUS",
];

const RUNTIMES: RuntimeKind[] = ["bun", "node"];
// Both runtimes' brokers and runs start together: the cases mostly wait on the network and on rebalances.
const brokers = new Map<RuntimeKind, Promise<BrokerProcess>>();
const runs = new Map<RuntimeKind, Promise<Map<string, CaseResult>>>();

function start(kind: RuntimeKind): void {
  if (runs.has(kind)) return;
  const b = startBrokerProcess(kind, BROKER_ARGS);
  brokers.set(kind, b);
  runs.set(
    kind,
    b.then(async (b) => {
      // confluent-kafka.share: share groups are off until share.version is finalized (no admin call for it in Python).
      const c = await WireClient.connect(b.port, b.host);
      const enabled = await enableShare(c);
      c.close();
      if (enabled.errorCode !== 0) throw new Error(`UpdateFeatures share.version=1 failed: ${enabled.errorCode}`);
      return runCases([PY, `${PY_DIR}/clients.py`, `${b.host}:${b.port}`, `p${kind}`, ...CASES], PY_DIR);
    }).then((r) => {
      const ck = new Map([...r.results].filter(([n]) => n.startsWith("confluent-kafka.")));
      const aio = new Map([...r.results].filter(([n]) => n.startsWith("aiokafka.")));
      recordResults("confluent-kafka (Python, librdkafka 2.16.0)", "2.16.1", kind, ck);
      recordResults("aiokafka", "0.14.0", kind, aio);
      return r.results;
    }),
  );
}

for (const kind of RUNTIMES) {
  describe.skipIf(missing !== null)(`confluent-kafka (PyPI) and aiokafka against the ${kind} broker`, () => {
    beforeAll(() => {
      for (const k of RUNTIMES) start(k);
    });
    afterAll(async () => {
      await runs.get(kind)!.catch(() => {});
      expect(await (await brokers.get(kind)!).stop()).toBe(0);
    });
    for (const name of CASES) {
      test(name, async () => expectCase(await runs.get(kind)!, name), 300_000);
    }
    test("the README's client matrix shows these results", async () => {
      await runs.get(kind)!;
      expectReadmeMatrix(kind);
    }, 300_000);
  });
}
