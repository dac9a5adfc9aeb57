// Renders the README's client matrix (client × version × feature × runtime) from the results the client-ecosystem
// tests write to dist/client-results/*.json (tests/e2e/client_results.ts), between the README's
// `<!-- clients-matrix:start -->` and `<!-- clients-matrix:end -->` markers.
// Usage, after a test run: bun scripts/clients_matrix.ts   (then formats README.md with deno fmt)
// Drift: each client test compares what it ran with the README's rows for that client and runtime
// (tests/e2e/client_results.ts, parseMatrix below), and tests/clients_matrix_test.ts checks that the README's block
// is this renderer's output; so a case added, renamed or moved to another runtime without re-running this fails.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";

export type ClientResult = { client: string; version: string; runtime: string; cases: Record<string, boolean> };

export const MATRIX_START = "<!-- clients-matrix:start -->";
export const MATRIX_END = "<!-- clients-matrix:end -->";

const ROOT = new URL("..", import.meta.url).pathname;
const DIR = `${ROOT}dist/client-results`;
const RUNTIME_ORDER = ["bun", "deno", "node", "binary"];
const RUNTIME_NAME: Record<string, string> = { bun: "Bun", deno: "Deno", node: "Node", binary: "binary" };

export function renderMatrix(results: ClientResult[]): string {
  const runtimes = RUNTIME_ORDER.filter((r) => results.some((x) => x.runtime === r));
  const clients = new Map<string, { version: string; cases: Map<string, Map<string, boolean>> }>();
  for (const r of results) {
    const c = clients.get(r.client) ?? { version: r.version, cases: new Map() };
    clients.set(r.client, c);
    for (const [name, ok] of Object.entries(r.cases)) {
      const byRuntime = c.cases.get(name) ?? new Map<string, boolean>();
      byRuntime.set(r.runtime, ok);
      c.cases.set(name, byRuntime);
    }
  }
  const rows = [
    `| client | version | feature | ${runtimes.map((r) => RUNTIME_NAME[r]).join(" | ")} |`,
    `| --- | --- | --- | ${runtimes.map(() => "---").join(" | ")} |`,
  ];
  for (const [client, c] of [...clients].sort(([a], [b]) => a.localeCompare(b))) {
    let first = true;
    for (const [name, byRuntime] of [...c.cases].sort(([a], [b]) => a.localeCompare(b))) {
      const cells = runtimes.map((r) => byRuntime.has(r) ? (byRuntime.get(r) ? "pass" : "**FAIL**") : "");
      rows.push(`| ${first ? client : ""} | ${first ? c.version : ""} | \`${name}\` | ${cells.join(" | ")} |`);
      first = false;
    }
  }
  return rows.join("\n");
}

/** The matrix between the README's markers (throws when they are missing). */
export function matrixBlock(readme: string): string {
  const i = readme.indexOf(MATRIX_START);
  const j = readme.indexOf(MATRIX_END);
  if (i < 0 || j < i) throw new Error(`README.md has no ${MATRIX_START} ... ${MATRIX_END} block`);
  return readme.slice(i + MATRIX_START.length, j).trim();
}

/** The table's cells, trimmed, row by row (header and separator left out): deno fmt's padding does not matter. */
export function matrixCells(table: string): string[][] {
  return table.split("\n").filter((l) => l.startsWith("|")).slice(2).map((l) =>
    l.slice(1, l.lastIndexOf("|")).split("|").map((c) => c.trim())
  );
}

/** Reads a rendered matrix back into one result per client and runtime (cases with an empty cell are left out). */
export function parseMatrix(table: string): ClientResult[] {
  const header = table.split("\n").find((l) => l.startsWith("|")) ?? "";
  const names = header.slice(1, header.lastIndexOf("|")).split("|").map((c) => c.trim()).slice(3);
  const runtimes = names.map((n) => Object.keys(RUNTIME_NAME).find((k) => RUNTIME_NAME[k] === n) ?? n);
  const out = new Map<string, ClientResult>();
  let client = "";
  let version = "";
  for (const [c, v, feature, ...cells] of matrixCells(table)) {
    if (c !== "") [client, version] = [c, v];
    const name = feature.replace(/^`|`$/g, "");
    cells.forEach((cell, i) => {
      if (cell === "") return;
      const key = `${client}\u0000${runtimes[i]}`;
      const r = out.get(key) ?? { client, version, runtime: runtimes[i], cases: {} };
      out.set(key, r);
      r.cases[name] = cell === "pass";
    });
  }
  return [...out.values()];
}

if (import.meta.main) {
  if (!existsSync(DIR)) {
    console.error(
      `no ${DIR}: run the client tests first (bun test tests/e2e/java_test.ts tests/e2e/franz_test.ts ...)`,
    );
    process.exit(1);
  }
  const results = readdirSync(DIR).filter((f) => f.endsWith(".json")).map((f) =>
    JSON.parse(readFileSync(`${DIR}/${f}`, "utf8")) as ClientResult
  );
  const readmePath = `${ROOT}README.md`;
  const readme = readFileSync(readmePath, "utf8");
  matrixBlock(readme); // throws without the markers
  const i = readme.indexOf(MATRIX_START);
  const j = readme.indexOf(MATRIX_END);
  const next = `${readme.slice(0, i + MATRIX_START.length)}\n${renderMatrix(results)}\n${readme.slice(j)}`;
  writeFileSync(readmePath, next);
  const fmt = Bun.spawnSync([`${ROOT}node_modules/.bin/deno`, "fmt", readmePath], { stdout: "pipe", stderr: "pipe" });
  if (fmt.exitCode !== 0) throw new Error(`deno fmt README.md failed: ${fmt.stderr}`);
}
