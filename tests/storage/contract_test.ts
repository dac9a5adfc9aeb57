import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { bunRuntime } from "../../adapters/bun.ts";
import { memoryFileSystem } from "../../src/runtime/memory.ts";
import { openFileLogStore } from "../../src/storage/file.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { runLogStoreContract } from "./contract.ts";

runLogStoreContract("memory engine", async () => memoryLogStore());

runLogStoreContract(
  "file engine over the memory FileSystem",
  async (cfg = {}) =>
    openFileLogStore(memoryFileSystem(), "/data", {
      topicConfig: (_t, n) => cfg[n] ?? (n === "file.delete.delay.ms" ? "0" : undefined)!,
    }),
);

const tmp = mkdtempSync(`${tmpdir()}/chronik-contract-`);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
runLogStoreContract(
  "file engine over node:fs",
  async (cfg = {}) =>
    openFileLogStore(bunRuntime.fs, `${tmp}/${n++}`, {
      topicConfig: (_t, name) => cfg[name] ?? (name === "file.delete.delay.ms" ? "0" : undefined)!,
    }),
);
