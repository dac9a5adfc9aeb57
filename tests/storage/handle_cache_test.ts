// The file engine's bounded descriptor cache (storage/handle_cache.ts): with chronik.log.open.files.max
// at 4, twenty partitions with rolled segments are written, read back and restarted, never holding
// more than a few files open at once, and every record reads back.
import { describe, expect, test } from "bun:test";
import type { FileHandle, FileSystem } from "../../src/runtime.ts";
import { memoryFileSystem } from "../../src/runtime/memory.ts";
import { openFileLogStore } from "../../src/storage/file.ts";
import { appendValues, readAll } from "./contract.ts";

/** The memory FileSystem, counting the handles open now and at most. */
function countingFs() {
  const fs = memoryFileSystem();
  const counts = { open: 0, peak: 0, opened: 0 };
  const wrapped: FileSystem = Object.create(fs);
  wrapped.open = async (path, options) => {
    const h = await fs.open(path, options);
    counts.open++;
    counts.opened++;
    counts.peak = Math.max(counts.peak, counts.open);
    let closed = false;
    const out: FileHandle = Object.create(h);
    out.close = async () => {
      if (!closed) {
        closed = true;
        counts.open--;
      }
      await h.close();
    };
    return out;
  };
  return { fs: wrapped, counts };
}

const cfg: Record<string, string> = { "internal.segment.bytes": "400", "index.interval.bytes": "100" };

describe("bounded open segment files", () => {
  test("20 partitions with rolled segments: at most a few files open, everything reads back, restart too", async () => {
    const { fs, counts } = countingFs();
    const open = () => openFileLogStore(fs, "/data", { topicConfig: (_t, n) => cfg[n], maxOpenFiles: 4 });
    let store = await open();
    const expected: string[][] = [];
    for (let p = 0; p < 20; p++) {
      const log = await store.open("t", p);
      for (let i = 0; i < 10; i++) await appendValues(log, [`p${p}-v${i}-${"x".repeat(60)}`]);
      expected.push(await readAll(log));
    }
    // Reads of every partition from the start, in turns.
    for (let round = 0; round < 2; round++) {
      for (let p = 0; p < 20; p++) {
        const log = await store.open("t", p);
        expect(await readAll(log)).toEqual(expected[p]);
      }
    }
    // Pinned files (the one being written or synced, the reads in flight) may add a few.
    expect(counts.peak).toBeLessThanOrEqual(4 + 3);
    expect(counts.opened).toBeGreaterThan(20); // closed and opened again
    await store.close();
    expect(counts.open).toBe(0);

    counts.peak = 0;
    store = await open();
    for (let p = 0; p < 20; p++) {
      const log = await store.open("t", p);
      expect(await readAll(log)).toEqual(expected[p]);
      await appendValues(log, [`after-${p}`]);
    }
    expect(counts.peak).toBeLessThanOrEqual(4 + 3);
    await store.close();
    expect(counts.open).toBe(0);
  });
});
