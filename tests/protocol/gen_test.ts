// The generated codec is what scripts/gen_protocol.ts makes of ../shared/kafka-protocol today:
// regenerate into a temp dir and compare every file byte for byte.
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("src/protocol/messages matches a fresh run of scripts/gen_protocol.ts", () => {
  const root = new URL("../..", import.meta.url).pathname;
  const committed = join(root, "src", "protocol", "messages");
  const out = mkdtempSync(join(tmpdir(), "chronik-gen-"));
  try {
    const r = Bun.spawnSync([process.execPath, join(root, "scripts", "gen_protocol.ts"), "--out", out]);
    expect(r.exitCode).toBe(0);
    expect(readdirSync(out).sort()).toEqual(readdirSync(committed).sort());
    const differ = readdirSync(out).filter((f) =>
      readFileSync(join(out, f), "utf8") !== readFileSync(join(committed, f), "utf8")
    );
    expect(differ).toEqual([]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
