// One broker per data dir: a second broker process on the same directory refuses to start with
// the reason while the first one keeps serving; after the first is killed with SIGKILL its lock
// file is stale and a new broker takes the directory over.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { RuntimeKind } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";

const dir = mkdtempSync(`${tmpdir()}/chronik-lock-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const kind of ["bun", "deno"] as RuntimeKind[]) {
  test(`${kind}: a second broker on the same data dir is refused; a killed broker's lock is taken over`, async () => {
    const data = `${dir}/${kind}`;
    const first = await startBrokerProcess(kind, ["--data-dir", data]);
    const second = await startBrokerProcess(kind, ["--data-dir", data]).then(() => "started", (e: Error) => e.message);
    expect(second).toContain("is in use by another broker");
    const meta = Bun.spawn(["kcat", "-b", `${first.host}:${first.port}`, "-L", "-m", "5"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await meta.exited).toBe(0);
    first.proc.kill("SIGKILL");
    await first.stop();
    const third = await startBrokerProcess(kind, ["--data-dir", data]);
    expect(await third.stop()).toBe(0);
  }, 60_000);
}
