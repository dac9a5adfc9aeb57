// How the broker runs as a process (#18 "Running it", #13.9): no orphan when npm start, npx (a
// `sh -c` between npm and the broker) or deno task is stopped; --log-level warn is quiet on Node;
// --log-format json; an HTTP request on the Kafka port is named in the log.
import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { DENO, ensureBuilt, NODE, ROOT, startBrokerProcess } from "./harness.ts";

/** Starts a command, resolves with the port from its "listening on" line and a way to read its output. */
async function launch(cmd: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn(cmd, {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, PATH: `${ROOT}/node_modules/.bin:${process.env.PATH}`, ...env },
  });
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const d = new TextDecoder();
    for await (const c of s) text += d.decode(c, { stream: true });
  };
  const pumped = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
  for (let i = 0; i < 400 && !/listening on \S+:(\d+)/.test(text) && proc.exitCode === null; i++) {
    await Bun.sleep(50);
  }
  const m = /listening on \S+:(\d+)/.exec(text);
  if (!m) {
    proc.kill("SIGKILL");
    throw new Error(`${cmd.join(" ")} did not start:\n${text}`);
  }
  return { proc, port: Number(m[1]), logs: () => text, pumped };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const p = srv.port;
    srv.stop(true);
    resolve(p);
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** Waits (bounded) until nothing listens on the port any more. */
async function closedEventually(port: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (!(await accepts(port))) return true;
    await Bun.sleep(100);
  }
  return false;
}

describe("signals reach the broker", () => {
  test("npm start: SIGTERM to npm stops the broker (no orphan)", async () => {
    const l = await launch(["npm", "start", "--", "--port", "0", "--data-dir", ":memory:"]);
    expect(await accepts(l.port)).toBe(true);
    l.proc.kill("SIGTERM");
    await l.proc.exited;
    expect(await closedEventually(l.port)).toBe(true);
  }, 60_000);

  test("npx-style `sh -c` between npm and the bin: the broker stops when that shell is stopped", async () => {
    await ensureBuilt();
    const l = await launch(["sh", "-c", `${NODE} bin/chronik.mjs --port 0 --data-dir :memory:`], {
      npm_command: "exec",
    });
    l.proc.kill("SIGTERM"); // the shell dies; it does not pass the signal on
    await l.proc.exited;
    expect(await closedEventually(l.port)).toBe(true);
    await l.pumped;
    expect(l.logs()).toContain("chronik stopped");
  }, 60_000);

  test("deno task start runs the broker and passes SIGTERM on", async () => {
    const l = await launch([DENO, "task", "start", "--port", "0", "--data-dir", ":memory:"]);
    l.proc.kill("SIGTERM");
    await l.proc.exited;
    expect(await closedEventually(l.port)).toBe(true);
  }, 60_000);
});

describe("logs", () => {
  test("Node: --log-level warn prints nothing below WARN, even the adapter's own lines", async () => {
    await ensureBuilt();
    const port = await freePort();
    const proc = Bun.spawn(
      [NODE, `${ROOT}/dist/chronik.mjs`, "--port", String(port), "--data-dir", ":memory:", "--log-level", "warn"],
      { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
    );
    const err = new Response(proc.stderr).text();
    for (let i = 0; i < 200 && !(await accepts(port)); i++) await Bun.sleep(50);
    // A real client connects (the adapter logs its read path at DEBUG on the first connection).
    const cli = Bun.spawn([process.execPath, `${ROOT}/adapters/bun.ts`, "-b", `127.0.0.1:${port}`, "cluster", "info"], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await cli.exited).toBe(0);
    proc.kill("SIGTERM");
    await proc.exited;
    expect(await err).not.toMatch(/ (DEBUG|INFO) /);
  }, 60_000);

  test("an HTTP request on the Kafka port is named; --log-format json gives one JSON object per line", async () => {
    const b = await startBrokerProcess("node", [
      "--log-format",
      "json",
      "--log-level",
      "debug",
      "--data-dir",
      ":memory:",
    ]);
    try {
      await fetch(`http://127.0.0.1:${b.port}/`).catch(() => null);
      for (let i = 0; i < 100 && !b.logs().includes("HTTP request"); i++) await Bun.sleep(50);
    } finally {
      await b.stop();
    }
    const lines = b.logs().trim().split("\n").map((l) => JSON.parse(l));
    expect(
      lines.some((l) =>
        l.level === "warn" && /looks like an HTTP request \("GET \.\.\."\) on the Kafka port/.test(l.message)
      ),
    )
      .toBe(true);
    expect(
      lines.some((l) =>
        l.level === "debug" && /^connection from 127\.0\.0\.1:\d+ on listener PLAINTEXT$/.test(l.message)
      ),
    )
      .toBe(true);
    // Node's own adapter line is shown at debug, in the same format.
    expect(lines.some((l) => l.message.startsWith("connections read into"))).toBe(true);
  }, 60_000);
});
