// A deleted partition on the file engine: its directory is renamed aside and the deletion done, then the
// files are removed in the background (Kafka answers DeleteTopics before its files are gone). Here the
// removal of the aside directory is held: remove() is done all the same, a topic of the name starts
// empty, and closing the store waits for the removal.
import { describe, expect, test } from "bun:test";
import { memoryFileSystem } from "../../src/runtime/memory.ts";
import type { FileSystem } from "../../src/runtime.ts";
import { openFileLogStore } from "../../src/storage/file.ts";
import { appendValues, readAll } from "./contract.ts";

/** The memory file system, with the removal of `-delete` directories held until `release()`. */
function heldRemovals(inner: FileSystem) {
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const held: string[] = [];
  const fs = new Proxy(inner, {
    get(target, prop) {
      if (prop === "remove") {
        return async (path: string, options?: { recursive?: boolean }) => {
          if (path.endsWith("-delete")) {
            held.push(path);
            await gate;
          }
          return target.remove(path, options);
        };
      }
      const v = (target as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { fs, held, release };
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

describe("file engine: deleting a partition", () => {
  // Without the background removal, remove() never returns here (20 s bound).
  test("done once the directory is moved aside; the files go in the background, a clean stop waits", async () => {
    const mem = memoryFileSystem();
    const { fs, held, release } = heldRemovals(mem);
    const s = await openFileLogStore(fs, "/data");
    for (const p of [0, 1]) await appendValues(await s.open("t", p), [`old${p}`]);
    // Before: remove() waited for the recursive removal of every partition (held here forever).
    await s.remove("t", 2);
    expect(held.length).toBe(2);
    const names = (await mem.list("/data")).map((e) => e.name);
    expect(names).not.toContain("t-0");
    expect(names).not.toContain("t-1");
    expect(names.filter((n) => /^t-[01]\.[0-9a-f]{32}-delete$/.test(n)).length).toBe(2);
    // A topic of the name starts empty meanwhile.
    const log = await s.open("t", 0);
    expect(await readAll(log)).toEqual([]);
    expect((await appendValues(log, ["new"])).baseOffset).toBe(0);
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    await turns(20);
    expect(closed).toBe(false);
    release();
    await closing;
    const after = (await mem.list("/data")).map((e) => e.name);
    expect(after.some((n) => n.endsWith("-delete"))).toBe(false);
    expect(after).toContain("t-0");
  }, 20_000);
});
