// Spawns tests/runtime/child_{bun,node,deno}.ts under real Bun / Node / Deno and reads its stdout lines.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { BUN, DENO, NODE, ROOT } from "../e2e/harness.ts";

let nodeBundle: Promise<string> | null = null;

/** Node 20 cannot run .ts: bundle the child like dist/chronik.mjs is bundled. */
function nodeChild(): Promise<string> {
  nodeBundle ??= (async () => {
    const out = `${mkdtempSync(`${tmpdir()}/chronik-child-`)}/child_node.mjs`;
    const p = Bun.spawn([BUN, "build", `${ROOT}/tests/runtime/child_node.ts`, "--target=node", "--outfile", out], {
      stdout: "pipe",
      stderr: "pipe",
    });
    if ((await p.exited) !== 0) {
      throw new Error(`bundling child_node.ts failed: ${await new Response(p.stderr).text()}`);
    }
    return out;
  })();
  return nodeBundle;
}

export type Child = {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Resolves with the first stdout line starting with `prefix` (the rest of it). */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  output(): string;
  kill(): Promise<void>;
};

export async function spawnChild(kind: "bun" | "node" | "deno", args: string[]): Promise<Child> {
  const cmd = kind === "node"
    ? [NODE, await nodeChild(), ...args]
    : kind === "bun"
    ? [BUN, `${ROOT}/tests/runtime/child_bun.ts`, ...args]
    : [DENO, "run", "-A", "--quiet", `${ROOT}/tests/runtime/child_deno.ts`, ...args];
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  (async () => {
    const d = new TextDecoder();
    for await (const c of proc.stdout) {
      out += d.decode(c, { stream: true });
      for (const l of listeners) l();
    }
  })();
  (async () => {
    const d = new TextDecoder();
    for await (const c of proc.stderr) err += d.decode(c, { stream: true });
  })();
  return {
    proc,
    output: () => out + err,
    line(prefix, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const l = out.split("\n").find((x, i, all) => x.startsWith(prefix) && i < all.length - 1);
          if (l !== undefined) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(l.slice(prefix.length));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no "${prefix}" line from ${kind} child within ${timeoutMs} ms\n${out}${err}`));
        }, timeoutMs);
        listeners.add(check);
        check();
        proc.exited.then(() =>
          setTimeout(() => {
            check();
            if (listeners.has(check)) {
              listeners.delete(check);
              clearTimeout(timer);
              reject(new Error(`${kind} child exited (${proc.exitCode}) without "${prefix}"\n${out}${err}`));
            }
          }, 50)
        );
      });
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}
