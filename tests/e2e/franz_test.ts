// franz-go v1.22.3 (kgo, kadm v1.20.0; tests/go/franz): produce and consume with each codec, consumer groups
// with the classic protocol (cooperative-sticky) and KIP-848 (ServerSideBalancer), exactly-once with
// GroupTransactSession (an aborted then committed transaction; read_committed sees each record once). One broker
// per runtime (Bun, Node and Deno); each case is one test. Skipped, with a message, only without a Go toolchain.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CaseResult } from "./cases.ts";
import { expectCase, runCases } from "./cases.ts";
import { expectReadmeMatrix, recordResults } from "./client_results.ts";
import { buildGo, GO_DIR, goMissing, listCases } from "./golang.ts";
import type { BrokerProcess, RuntimeKind } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";

const missing = goMissing();
if (missing) console.warn(`franz_test: SKIPPED, ${missing} (install Go to run franz-go)`);
const BIN = missing ? "" : buildGo("franz");
const CASES = missing ? [] : listCases(BIN);

for (const kind of ["bun", "node", "deno"] as RuntimeKind[]) {
  describe.skipIf(missing !== null)(`franz-go against the ${kind} broker`, () => {
    let b: BrokerProcess;
    let results: Promise<Map<string, CaseResult>>;
    beforeAll(async () => {
      b = await startBrokerProcess(kind, ["-o", "group.initial.rebalance.delay.ms=0"]);
      results = runCases([BIN, `${b.host}:${b.port}`, `f${kind}`, ...CASES], GO_DIR).then((r) => {
        recordResults("franz-go", "1.22.3", kind, r.results);
        return r.results;
      });
    });
    afterAll(async () => {
      await results.catch(() => {});
      expect(await b.stop()).toBe(0);
    });
    for (const name of CASES) {
      test(name, async () => expectCase(await results, name), 300_000);
    }
    test("the README's client matrix shows these results", async () => {
      await results;
      expectReadmeMatrix(kind);
    });
  });
}
