// The tree is formatted with `deno fmt` (deno.json: lineWidth 120). Run `npx deno fmt` to fix a failure.
import { expect, test } from "bun:test";

test("deno fmt --check passes", () => {
  const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
  const r = Bun.spawnSync([deno, "fmt", "--check"], { cwd: new URL("..", import.meta.url).pathname });
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  expect(r.exitCode === 0 ? "" : out).toBe("");
});
