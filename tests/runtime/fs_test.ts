// The FileSystem contract against every implementation: memory, node:fs (under Bun, the Bun and
// Node adapters share it), and the Node and Deno adapters in real Node / Deno child processes.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { bunRuntime } from "../../adapters/bun.ts";
import { memoryFileSystem } from "../../src/runtime/memory.ts";
import type { FileSystem } from "../../src/runtime.ts";
import { spawnChild } from "./child.ts";
import { FS_CONTRACT } from "./fs_contract.ts";

const tmpDirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(`${tmpdir()}/chronik-fs-`);
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const engines: [string, () => Promise<{ fs: FileSystem; dir: string }>][] = [
  ["memory (absolute paths)", async () => {
    const fs = memoryFileSystem();
    await fs.mkdir("/data");
    return { fs, dir: "/data" };
  }],
  ["memory (relative paths)", async () => ({ fs: memoryFileSystem(), dir: "." })],
  ["node:fs under bun", async () => ({ fs: bunRuntime.fs, dir: tmp() })],
  ["bunRuntime.fs", async () => ({ fs: bunRuntime.fs, dir: tmp() })],
];

describe.each(engines)("FileSystem contract: %s", (_name, make) => {
  for (const c of FS_CONTRACT) {
    test(c.name, async () => {
      const { fs, dir } = await make();
      await c.run(fs, dir);
    });
  }
});

describe.each(["node", "deno"] as const)("FileSystem contract in a %s child process", (kind) => {
  test("every case passes", async () => {
    const child = await spawnChild(kind, ["fs", tmp()]);
    try {
      const results = JSON.parse(await child.line("RESULT ", 60_000)) as { name: string; error: string | null }[];
      expect(results.length).toBe(FS_CONTRACT.length);
      expect(results.filter((r) => r.error !== null)).toEqual([]);
    } finally {
      await child.kill();
    }
  });
});
