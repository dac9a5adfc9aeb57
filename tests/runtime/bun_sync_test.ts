// The Bun adapter's file syncs on worker threads (adapters/bun_sync.ts).
import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { workerSync } from "../../adapters/bun_sync.ts";

const dir = mkdtempSync(`${tmpdir()}/chronik-bun-sync-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("syncs descriptors on workers, many at once; a bad descriptor rejects with its code", async () => {
  const sync = workerSync();
  const fds = [0, 1, 2, 3].map((i) => openSync(`${dir}/f${i}`, "w"));
  try {
    for (const fd of fds) writeSync(fd, new Uint8Array(4096).fill(7));
    await Promise.all(fds.flatMap((fd) => [sync(fd), sync(fd), sync(fd)]));
    const closed = openSync(`${dir}/gone`, "w");
    closeSync(closed);
    const err = await sync(closed).then(() => null, (e: unknown) => e as { code?: string });
    expect(err?.code).toBe("EBADF");
    await sync(fds[0]); // the workers keep serving after a failed sync
  } finally {
    for (const fd of fds) closeSync(fd);
  }
});
