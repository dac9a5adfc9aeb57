// Renders the README's client matrix (client × version × feature × runtime) from the results the client-ecosystem
// tests write to dist/client-results/*.json (tests/e2e/client_results.ts), between the README's
// `<!-- clients-matrix:start -->` and `<!-- clients-matrix:end -->` markers.
// Usage, after a test run: bun scripts/clients_matrix.ts   (then formats README.md with deno fmt)
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";

type ClientResult = { client: string; version: string; runtime: string; cases: Record<string, boolean> };

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
  const start = "<!-- clients-matrix:start -->";
  const end = "<!-- clients-matrix:end -->";
  const i = readme.indexOf(start);
  const j = readme.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md has no ${start} ... ${end} block`);
  const next = `${readme.slice(0, i + start.length)}\n${renderMatrix(results)}\n${readme.slice(j)}`;
  writeFileSync(readmePath, next);
  const fmt = Bun.spawnSync([`${ROOT}node_modules/.bin/deno`, "fmt", readmePath], { stdout: "pipe", stderr: "pipe" });
  if (fmt.exitCode !== 0) throw new Error(`deno fmt README.md failed: ${fmt.stderr}`);
}
