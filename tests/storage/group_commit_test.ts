// GroupCommit (src/storage/group_commit.ts): appends waiting together share one fsync; a failed
// fsync is final for its file (never retried as if the data were safe); settled() waits for a
// file's queued syncs before its handle may be closed.
import { expect, test } from "bun:test";
import type { FileHandle } from "../../src/runtime.ts";
import { GroupCommit } from "../../src/storage/group_commit.ts";

function fakeFile(results: ("ok" | "EIO")[]): FileHandle & { syncs: number } {
  const f = {
    syncs: 0,
    sync() {
      const r = results[f.syncs++] ?? "ok";
      return r === "ok"
        ? Promise.resolve()
        : Promise.reject(Object.assign(new Error("EIO: i/o error"), { code: "EIO" }));
    },
  };
  return f as unknown as FileHandle & { syncs: number };
}

test("waiters that arrive together share one fsync", async () => {
  const gc = new GroupCommit();
  const f = fakeFile([]);
  await Promise.all([gc.sync(f), gc.sync(f), gc.sync(f)]);
  expect(f.syncs).toBe(1);
  expect(gc.rounds).toBe(1);
});

test("after a failed fsync every later sync of the file fails without syncing again", async () => {
  const gc = new GroupCommit();
  const f = fakeFile(["EIO", "ok", "ok"]);
  const first = await Promise.allSettled([gc.sync(f), gc.sync(f)]);
  expect(first.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  // The next fsync would succeed (Linux reports a writeback error once): it must not be asked.
  await expect(gc.sync(f)).rejects.toThrow("EIO");
  await expect(gc.sync(f)).rejects.toThrow("EIO");
  expect(f.syncs).toBe(1);
  // Other files are not affected.
  const g = fakeFile([]);
  await gc.sync(g);
  expect(g.syncs).toBe(1);
});

test("a waiter queued behind a failing round is refused too", async () => {
  const gc = new GroupCommit();
  let release = () => {};
  let calls = 0;
  const f = {
    sync() {
      calls++;
      return new Promise<void>((_, reject) => {
        release = () => reject(Object.assign(new Error("EIO"), { code: "EIO" }));
      });
    },
  } as unknown as FileHandle;
  const a = gc.sync(f);
  await new Promise((r) => setTimeout(r, 5)); // the round started
  const b = gc.sync(f); // waits for the next round
  release();
  const settled = await Promise.allSettled([a, b]);
  expect(settled.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  expect(calls).toBe(1);
});

test("settled() resolves once the file's queued syncs are done", async () => {
  const gc = new GroupCommit();
  const f = fakeFile([]);
  let done = false;
  const p = gc.sync(f).then(() => (done = true));
  await gc.settled(f);
  expect(done).toBe(true);
  await p;
  await gc.settled(f); // nothing queued: at once
});
