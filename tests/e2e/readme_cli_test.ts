// Every command of the README's "CLI" section runs, in order, against a broker (so the section cannot rot).
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
