// Results of the client-ecosystem tests (Java, Go, Python), one JSON file per client and runtime under
// dist/client-results/, for scripts/clients_matrix.ts to render the README's "Clients tested" matrix.
// Each result is also compared with the README's rows for that client and runtime: expectReadmeMatrix fails a test
// when they differ (a case added, renamed or dropped, a new runtime, a new version) until the matrix is regenerated.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { ClientResult } from "../../scripts/clients_matrix.ts";
import { matrixBlock, parseMatrix } from "../../scripts/clients_matrix.ts";
import { ROOT } from "./harness.ts";

export const RESULTS_DIR = `${ROOT}/dist/client-results`;

/** What this test process recorded, by runtime. */
const recorded = new Map<string, ClientResult[]>();

export function recordResults(
  client: string,
  version: string,
  runtime: string,
  results: Map<string, { ok: boolean }>,
): void {
  if (results.size === 0) return; // nothing of this client ran on this runtime: no row in the matrix
  const cases: Record<string, boolean> = {};
  for (const [name, r] of results) cases[name] = r.ok;
  const out: ClientResult = { client, version, runtime, cases };
  recorded.set(runtime, [...(recorded.get(runtime) ?? []).filter((r) => r.client !== client), out]);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const slug = client.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  writeFileSync(`${RESULTS_DIR}/${slug}-${runtime}.json`, JSON.stringify(out, null, 2) + "\n");
}

/**
 * Throws unless the README's "Clients tested" matrix has, for each client recorded on `runtime` by this process,
 * the same version and exactly the same cases. Outcomes are not compared: a failed case fails its own test, and the
 * README shows only passes (tests/clients_matrix_test.ts).
 */
export function expectReadmeMatrix(runtime: string): void {
  const readme = parseMatrix(matrixBlock(readFileSync(`${ROOT}/README.md`, "utf8")));
  const problems: string[] = [];
  for (const r of recorded.get(runtime) ?? []) {
    const row = readme.find((x) => x.client === r.client && x.runtime === runtime);
    const want = JSON.stringify({ version: r.version, cases: names(r.cases) });
    const have = row ? JSON.stringify({ version: row.version, cases: names(row.cases) }) : "nothing";
    if (want !== have) problems.push(`${r.client} on ${runtime}: the README has ${have}, the tests ran ${want}`);
  }
  if (problems.length > 0) {
    throw new Error(
      `README.md's client matrix is out of date (run the client tests, then bun scripts/clients_matrix.ts):\n${
        problems.join("\n")
      }`,
    );
  }
}

function names(cases: Record<string, boolean>): string[] {
  return Object.keys(cases).sort();
}
