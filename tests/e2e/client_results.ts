// Results of the client-ecosystem tests (Java, Go, Python), one JSON file per client and runtime under
// dist/client-results/, for scripts/clients_matrix.ts to render the README's "Clients tested" matrix.
import { mkdirSync, writeFileSync } from "node:fs";
import { ROOT } from "./harness.ts";

export const RESULTS_DIR = `${ROOT}/dist/client-results`;

export type ClientResult = { client: string; version: string; runtime: string; cases: Record<string, boolean> };

export function recordResults(
  client: string,
  version: string,
  runtime: string,
  results: Map<string, { ok: boolean }>,
): void {
  const cases: Record<string, boolean> = {};
  for (const [name, r] of results) cases[name] = r.ok;
  const out: ClientResult = { client, version, runtime, cases };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const slug = client.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  writeFileSync(`${RESULTS_DIR}/${slug}-${runtime}.json`, JSON.stringify(out, null, 2) + "\n");
}
