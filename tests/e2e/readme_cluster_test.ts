// The README's "Cluster (PostgreSQL)" commands run as written, so they cannot rot: the URL line (against a private
// PostgreSQL: only its port changes, the role and database are created as named), the three broker lines on Bun, Deno
// and Node (free ports instead of 9092-9094; this machine's bun, deno and node), then the kcat line, polled until it
// lists the three brokers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUN, DENO, ensureBuilt, NODE, ROOT } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { freePort, startPostgres } from "../helpers/postgres.ts";

let pg: TestPostgres;
const brokers: Bun.Subprocess<"ignore", "pipe", "pipe">[] = [];
beforeAll(async () => {
  pg = await startPostgres();
  await ensureBuilt(); // dist/chronik.mjs for the node line
}, 120_000);
afterAll(async () => {
  for (const b of brokers) b.kill("SIGTERM");
  await Promise.all(brokers.map((b) => b.exited));
  pg?.destroy();
}, 30_000);

test("the README's three-broker cluster start forms one cluster", async () => {
  const readme = await Bun.file(`${ROOT}/README.md`).text();
  const section = readme.slice(readme.indexOf("\n## Cluster (PostgreSQL)\n"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
  const lines = block.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l !== "");
  expect(lines.length).toBe(5);
  const [urlLine, ...rest] = lines;
  expect(urlLine).toMatch(/^URL=postgres:\/\//);
  const readmeUrl = new URL(urlLine.slice(4));
  const user = readmeUrl.username, db = readmeUrl.pathname.slice(1);
  pg.psql(`CREATE ROLE ${user} LOGIN PASSWORD '${decodeURIComponent(readmeUrl.password)}'`);
  pg.psql(`CREATE DATABASE ${db} OWNER ${user}`);
  const url = urlLine.slice(4).replace(`@${readmeUrl.host}/`, `@127.0.0.1:${pg.port}/`);

  const ports = new Map<string, number>();
  for (const m of block.matchAll(/--port (\d+)/g)) if (!ports.has(m[1])) ports.set(m[1], await freePort());
  expect(ports.size).toBe(3);
  const localize = (line: string) => {
    let l = line;
    for (const [from, to] of ports) l = l.replaceAll(`--port ${from}`, `--port ${to}`).replaceAll(`:${from}`, `:${to}`);
    return l.replace(/^bun /, `"${BUN}" `).replace(/^deno /, `"${DENO}" `).replace(/^node /, `"${NODE}" `);
  };
  const outputs: Promise<string>[] = [];
  const starts = rest.filter((l) => l.endsWith("&"));
  expect(starts.map((l) => l.split(" ")[0])).toEqual(["bun", "deno", "node"]);
  for (const line of starts) {
    const p = Bun.spawn(["sh", "-c", `exec ${localize(line.slice(0, -1).trim())}`], {
      cwd: ROOT,
      env: { ...process.env, URL: url },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    brokers.push(p);
    outputs.push(Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]).then((t) => t.join("")));
  }
  const kcatLine = localize(rest.find((l) => l.startsWith("kcat"))!);
  let listed = "";
  for (let i = 0; i < 150 && !/ 3 brokers:/.test(listed); i++) {
    await Bun.sleep(200);
    if (brokers.some((b) => b.exitCode !== null)) break;
    const k = Bun.spawn(["sh", "-c", kcatLine], { stdout: "pipe", stderr: "pipe" });
    listed = await new Response(k.stdout).text();
    await k.exited;
  }
  if (!/ 3 brokers:/.test(listed)) {
    for (const b of brokers) b.kill("SIGTERM");
    throw new Error(`kcat -L: ${listed}\nbrokers:\n${(await Promise.all(outputs)).join("\n---\n")}`);
  }
  for (const port of ports.values()) expect(listed).toContain(`127.0.0.1:${port}`);
  // Leaders spread: the internal topics' partitions have a leader among the three.
  expect(listed).toMatch(/leader [123],/);
}, 120_000);
