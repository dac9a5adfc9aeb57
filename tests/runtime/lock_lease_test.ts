// The data-dir lock's lease (src/runtime/lock_file.ts) over the real file system: a holder this
// process cannot see (another host, another PID namespace) is refused while it renews its lease and
// taken over once it stops; a lock file naming a dead process here is taken over at once; release
// never removes a lock file that names someone else.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { nodeFileSystem } from "../../adapters/node_fs.ts";

const dir = mkdtempSync(`${tmpdir()}/chronik-lease-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fs = nodeFileSystem(2);

function foreign(heartbeat: number): string {
  return JSON.stringify({ pid: 1, host: "other-host", pidns: "pid:[1]", instance: "f0f0", heartbeat }) + "\n";
}

async function refused(path: string, leaseMs: number): Promise<string> {
  return fs.lock(path, { leaseMs }).then(
    async (l) => {
      await l.release();
      return "taken";
    },
    (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
  );
}

test("a foreign holder that renews its lease keeps the lock; once it stops, the lease expires and the lock is taken over", async () => {
  const path = `${dir}/a.lock`;
  let beat = 0;
  writeFileSync(path, foreign(beat));
  const renew = setInterval(() => writeFileSync(path, foreign(++beat)), 50);
  const lines: string[] = [];
  const r = await fs.lock(path, { leaseMs: 500, log: (_l, m) => lines.push(m) }).then(
    () => "taken",
    (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
  );
  clearInterval(renew);
  expect(r).toContain("ELOCKED");
  expect(r).toContain("process 1 on host other-host");
  expect(r).toContain("lease is being renewed");
  expect(lines.join("\n")).toContain("cannot see");
  // The holder stopped renewing (killed, host gone): after one lease the lock is taken over.
  const l = await fs.lock(path, { leaseMs: 300 });
  const mine = JSON.parse(readFileSync(path, "utf8"));
  expect(mine.pid).toBe(process.pid);
  expect(mine.instance).toMatch(/^[0-9a-f]{16}$/);
  await l.release();
  expect(existsSync(path)).toBe(false);
});

test("the holder renews its own lease, and a second lock in this process is refused", async () => {
  const path = `${dir}/b.lock`;
  const l = await fs.lock(path, { leaseMs: 200 });
  const first = JSON.parse(readFileSync(path, "utf8")).heartbeat;
  let now = first;
  for (let i = 0; i < 100 && now === first; i++) {
    await Bun.sleep(20);
    now = JSON.parse(readFileSync(path, "utf8")).heartbeat;
  }
  expect(now).toBeGreaterThan(first);
  expect(await refused(path, 200)).toContain("ELOCKED");
  await l.release();
});

test(
  "a lock file of a dead process on this host and PID namespace is taken over at once (old pid-only files too)",
  async () => {
    const path = `${dir}/c.lock`;
    const ns = (await import("node:fs")).readlinkSync("/proc/self/ns/pid");
    const host = (await import("node:os")).hostname();
    writeFileSync(path, JSON.stringify({ pid: 4194305, host, pidns: ns, instance: "dead", heartbeat: 3 }));
    // A lease of 60 s: were it watched, the test would time out.
    expect(await refused(path, 60_000)).toBe("taken");
    writeFileSync(path, "4194305\n");
    expect(await refused(path, 60_000)).toBe("taken");
  },
  20_000,
);

test("release leaves a lock file that names another holder", async () => {
  const path = `${dir}/d.lock`;
  const l = await fs.lock(path, { leaseMs: 60_000 });
  writeFileSync(path, foreign(7)); // taken over behind our back
  await l.release();
  expect(readFileSync(path, "utf8")).toBe(foreign(7));
});
