// The README's commands run against a broker, so they cannot rot: every command of the "CLI" section in order,
// and the Quick start's kcat commands (with the test broker's address for 127.0.0.1:9092).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { BrokerProcess } from "./harness.ts";
import { BUN, ROOT, startBrokerProcess } from "./harness.ts";

let b: BrokerProcess;
beforeAll(async () => {
  b = await startBrokerProcess("bun", []);
}, 60_000);
afterAll(async () => {
  await b?.stop();
});

test("the README's CLI commands succeed", async () => {
  const readme = await Bun.file(`${ROOT}/README.md`).text();
  const section = readme.slice(readme.indexOf("\n## CLI\n"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
  const commands = block.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l !== "");
  expect(commands.length).toBeGreaterThanOrEqual(5);
  for (const command of commands) {
    const p = Bun.spawn(["sh", "-c", `chronik() { "${BUN}" "${ROOT}/adapters/bun.ts" "$@"; }\n${command}`], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, CHRONIK_BROKERS: `127.0.0.1:${b.port}`, HOME: "/nonexistent" },
    });
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    if (code !== 0) throw new Error(`README command failed (${code}): ${command}\n${out}${err}`);
    if (command.includes("consume orders")) expect(out).toMatch(/^\d+ 0 k1=hello$/m);
  }
}, 120_000);

test("the README's Quick start kcat commands succeed", async () => {
  const readme = await Bun.file(`${ROOT}/README.md`).text();
  const section = readme.slice(readme.indexOf("\n## Quick start\n"), readme.indexOf("\n## CLI\n"));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  const kcat = blocks.find((b) => b.trimStart().startsWith("kcat"))!;
  const commands = kcat.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l !== "");
  expect(commands.length).toBe(3);
  let last = "";
  for (const command of commands) {
    const p = Bun.spawn(["sh", "-c", command.replaceAll("127.0.0.1:9092", `127.0.0.1:${b.port}`)], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    if (code !== 0) throw new Error(`README command failed (${code}): ${command}\n${out}${err}`);
    last = out;
  }
  expect(last).toContain("k1=hello @0");
}, 60_000);

test("the README's Security start command starts a SASL broker", async () => {
  const readme = await Bun.file(`${ROOT}/README.md`).text();
  const section = readme.slice(readme.indexOf("\n## Security\n"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1].replace(/\\\n\s*/g, " ").trim();
  const command = block.replaceAll("127.0.0.1:9092", "127.0.0.1:0").replace(/^bun /, `"${BUN}" `);
  const dir = `${ROOT}/dist/readme-security-${process.pid}`;
  const p = Bun.spawn(["sh", "-c", `exec ${command} --data-dir ${dir}`], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  let seen = "";
  const reader = p.stderr.getReader();
  const deadline = Date.now() + 60_000; // a start beside other test workers on a loaded machine
  while (!/listening on/.test(seen) && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += new TextDecoder().decode(value);
  }
  p.kill("SIGTERM");
  await p.exited;
  await Bun.$`rm -rf ${dir}`.quiet();
  expect(seen).toMatch(/SASL_PLAINTEXT.*listening on|listening on.*SASL_PLAINTEXT/);
}, 90_000);
