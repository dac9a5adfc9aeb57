// The S3 client and the object data path use only Web fetch and Web Crypto: prove it under Deno and Node
// (a bundle made by bun build, as Node 20 runs this project) against the same real server.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3_ACCESS_KEY, S3_SECRET_KEY, startS3, type TestS3 } from "../../helpers/s3.ts";

const ROOT = join(import.meta.dir, "../../..");
const SMOKE = join(import.meta.dir, "s3_runtime_smoke.ts");
let s3: TestS3;
let dir: string;
beforeAll(async () => {
  s3 = await startS3();
  dir = mkdtempSync(join(tmpdir(), "chronik-s3-rt-"));
});
afterAll(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const killer = setTimeout(() => p.kill(), 60000);
  const [out, err, code] = [await new Response(p.stdout).text(), await new Response(p.stderr).text(), await p.exited];
  clearTimeout(killer);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err}${out}`);
  return out.trim();
}

test("under Deno", async () => {
  await s3.client("rt-deno");
  const deno = join(ROOT, "node_modules/.bin/deno");
  expect(await run([deno, "run", "-A", "--quiet", SMOKE, s3.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, "rt-deno"]))
    .toStartWith("ok ");
});

test("under Node (bun build --target=node bundle)", async () => {
  await s3.client("rt-node");
  const bundle = join(dir, "smoke.mjs");
  const b = await Bun.build({ entrypoints: [SMOKE], target: "node", format: "esm" });
  if (!b.success) throw new Error(b.logs.join("\n"));
  await Bun.write(bundle, b.outputs[0]);
  expect(await run(["node", bundle, s3.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, "rt-node"])).toStartWith("ok ");
});
