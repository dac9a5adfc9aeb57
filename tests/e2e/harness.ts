// Starts the broker as a child process under Bun, Deno, Node (the bundle) or as the compiled binary,
// so e2e tests can drive every runtime with the same clients over TCP.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { withBuildLock } from "../helpers/build_lock.ts";

export type RuntimeKind = "bun" | "deno" | "node" | "binary";
export const RUNTIMES: readonly RuntimeKind[] = ["bun", "deno", "node", "binary"];

export const ROOT = fileURLToPath(new URL("../..", import.meta.url).href);
export const BUN = process.execPath; // bun test runs under Bun
export const DENO = `${ROOT}/node_modules/.bin/deno`;
export const NODE = Bun.which("node") ?? "node";

export type BrokerProcess = {
  host: string;
  port: number;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** SIGTERM, then the exit code (SIGKILL after 10 s; a signal death reports 128 + signal number). */
  stop(): Promise<number>;
  /** Everything the process wrote to stdout and stderr so far. */
  logs(): string;
};

// A bound, not a speed check: npm test starts brokers from several test workers at once on a loaded machine.
const START_TIMEOUT_MS = 60_000;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let built: Promise<void> | null = null;

/** Builds dist/ (scripts/build.ts) once per test run when it is missing or older than the sources. */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    const sources = Math.max(
      newestMtime(`${ROOT}/src`),
      newestMtime(`${ROOT}/adapters`),
      statSync(`${ROOT}/mod.ts`).mtimeMs,
      statSync(`${ROOT}/package.json`).mtimeMs,
    );
    const outputs = [`${ROOT}/dist/chronik.mjs`, `${ROOT}/dist/chronik`];
    const fresh = () => outputs.every((p) => existsSync(p) && statSync(p).mtimeMs >= sources);
    if (fresh()) return;
    // Other test workers may need dist/ at the same moment: one builds, the others wait and find it fresh.
    await withBuildLock(`${ROOT}/dist`, async () => {
      if (fresh()) return;
      const p = Bun.spawn([BUN, "scripts/build.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      if (code !== 0) throw new Error(`scripts/build.ts failed (${code}):\n${out}${err}`);
    });
  })();
  return built;
}

export function commandFor(kind: RuntimeKind): string[] {
  switch (kind) {
    case "bun":
      return [BUN, `${ROOT}/adapters/bun.ts`];
    case "deno":
      return [DENO, "run", "-A", "--quiet", `${ROOT}/adapters/deno.ts`];
    case "node":
      return [NODE, `${ROOT}/dist/chronik.mjs`];
    case "binary":
      return [`${ROOT}/dist/chronik`];
  }
}

const running = new Set<Bun.Subprocess>();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

/** Starts a broker on 127.0.0.1 and a free port; resolves once it logged `listening on` (an info line: keep --log-level at info or debug). */
export async function startBrokerProcess(
  kind: RuntimeKind,
  args: string[] = [],
  /** Extra environment variables for the broker process (on top of this one's). */
  env: Record<string, string> = {},
): Promise<BrokerProcess> {
  if (kind === "node" || kind === "binary") await ensureBuilt();
  // The CLI keeps data in ./data by default; each broker gets its own directory unless told one.
  let tmpData: string | null = null;
  const given = (flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (!given("--data-dir") && !given("--storage")) {
    tmpData = mkdtempSync(`${tmpdir()}/chronik-e2e-`);
    args = [...args, "--data-dir", tmpData];
  }
  const cmd = [...commandFor(kind), "--host", "127.0.0.1", "--port", "0", ...args];
  const proc = Bun.spawn(cmd, {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    ...(Object.keys(env).length > 0 ? { env: { ...process.env, ...env } } : {}),
  });
  running.add(proc);
  let text = "";
  let onText: (() => void) | null = null;
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      onText?.();
    }
  };
  const pumped = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
  const exited = proc.exited.then(async (code) => {
    running.delete(proc);
    if (tmpData) rmSync(tmpData, { recursive: true, force: true });
    await pumped.catch(() => {});
    return code;
  });

  const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(
        new Error(
          `${kind} broker did not log "listening on" within ${START_TIMEOUT_MS} ms: ${
            cmd.join(" ")
          }\n--- logs ---\n${text}`,
        ),
      );
    }, START_TIMEOUT_MS);
    onText = () => {
      const m = /listening on (\S+):(\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        onText = null;
        resolve({ host: m[1], port: Number(m[2]) });
      }
    };
    onText();
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} broker exited with ${code} before listening: ${cmd.join(" ")}\n--- logs ---\n${text}`));
    });
  });

  return {
    ...address,
    proc,
    logs: () => text,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await exited;
      return proc.exitCode ?? 128 + signalNumber(proc.signalCode);
    },
  };
}

function signalNumber(sig: string | number | null): number {
  if (typeof sig === "number") return sig;
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[sig ?? ""] ?? 0;
}
