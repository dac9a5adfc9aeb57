// The tree type-checks with `deno check`: the sources (mod.ts and the adapters, as `deno task check`), and the tests
// and scripts, with Bun's types from tests/helpers/bun_env.d.ts. A failure lists the type errors.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;

function denoCheck(args: string[]): string {
  const r = Bun.spawnSync([`${root}node_modules/.bin/deno`, "check", ...args], { cwd: root });
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return r.exitCode === 0 ? "" : out.replace(/\x1b\[[0-9;]*m/g, ""); // deno colours its output
}

test("deno check mod.ts adapters/*.ts passes", () => {
  const adapters = readdirSync(`${root}adapters`).filter((f) => f.endsWith(".ts")).map((f) => `adapters/${f}`);
  expect(denoCheck(["mod.ts", ...adapters])).toBe("");
}, 300_000);

test("deno check tests scripts passes", () => {
  expect(denoCheck(["tests", "scripts", "tests/helpers/bun_env.d.ts"])).toBe("");
}, 300_000);
