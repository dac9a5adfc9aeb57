// Every way to run the broker starts, accepts TCP, and exits 0 on SIGTERM; every adapter's Conn
// moves 50 MB through an echo with backpressure, byte-exact.
import { describe, expect, test } from "bun:test";
import * as net from "node:net";
import { bunRuntime } from "../../adapters/bun.ts";
import { RUNTIMES, startBrokerProcess } from "../e2e/harness.ts";
import { spawnChild } from "./child.ts";
import {
  CLOSE_BYTES,
  echoRoundTrip,
  listenEcho,
  listenReuse,
  listenWriteThenClose,
  pattern,
  readAll,
  REUSE_BYTES,
} from "./echo.ts";
import type { EchoStats } from "./echo.ts";

const MB50 = 50 * 1024 * 1024;

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

describe.each(RUNTIMES as string[])("broker process: %s", (kind) => {
  test("logs listening, accepts a TCP connection, exits 0 on SIGTERM", async () => {
    const b = await startBrokerProcess(kind as (typeof RUNTIMES)[number]);
    try {
      expect(b.host).toBe("127.0.0.1");
      expect(b.port).toBeGreaterThan(0);
      expect(await connects(b.host, b.port)).toBe(true);
      const t = performance.now();
      const code = await b.stop();
      expect({ code, logs: b.logs() }).toMatchObject({ code: 0 });
      expect(performance.now() - t).toBeLessThan(5000);
      expect(b.logs()).toMatch(/^\S+Z INFO chronik listening on 127\.0\.0\.1:\d+ \(\w+\)/m);
    } finally {
      await b.stop();
    }
  });
});

test("node bundle: --help prints usage and exits 0, a bad flag exits 2", async () => {
  const { NODE, ROOT, ensureBuilt } = await import("../e2e/harness.ts");
  await ensureBuilt();
  const help = Bun.spawnSync([NODE, `${ROOT}/dist/chronik.mjs`, "--help"]);
  expect(help.exitCode).toBe(0);
  expect(help.stdout.toString()).toContain("--advertised-host");
  const bad = Bun.spawnSync([NODE, `${ROOT}/dist/chronik.mjs`, "--port", "70000"]);
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr.toString()).toContain("--port must be an integer");
});

describe("echo through each adapter's Conn: 50 MB, backpressure, byte-exact", () => {
  test("bun (in process)", async () => {
    let ended: EchoStats | null = null;
    const { listener, stats } = await listenEcho(bunRuntime, (s) => (ended = { ...s }));
    try {
      const r = await echoRoundTrip(listener.port, MB50);
      expect(r.mismatchAt).toBeNull();
      expect(r.received).toBe(MB50);
      expect(stats.bytes).toBe(MB50);
      expect(stats.pauses).toBeGreaterThan(0);
      for (let i = 0; i < 100 && !ended; i++) await Bun.sleep(10);
      expect(ended).not.toBeNull();
    } finally {
      await listener.close();
    }
  });

  for (const kind of ["node", "deno"] as const) {
    test(`${kind} (child process)`, async () => {
      const child = await spawnChild(kind, ["echo"]);
      try {
        const port = Number(await child.line("PORT "));
        const r = await echoRoundTrip(port, MB50);
        expect(r.mismatchAt).toBeNull();
        expect(r.received).toBe(MB50);
        const stats = JSON.parse(await child.line("END ")) as EchoStats;
        expect(stats.bytes).toBe(MB50);
        expect(stats.pauses).toBeGreaterThan(0);
        // Both read into a buffer per connection (Node's through the onread fields of net.Socket)
        // and lend it; reading paused and resumed above, so lending survives pause().
        expect(stats.lent).toBeGreaterThan(0);
      } finally {
        await child.kill();
      }
    });
  }
});

/** One scenario that writes `bytes` of the pattern and closes: read whole, under Bun in process and Node and Deno in children. */
function patternScenario(title: string, bytes: number, listen: typeof listenReuse, childArg: string) {
  describe(title, () => {
    const expected = pattern(bytes);
    const check = (got: Uint8Array) => {
      expect(got.byteLength).toBe(bytes);
      expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
    };

    test("bun (in process)", async () => {
      const listener = await listen(bunRuntime);
      try {
        check(await readAll(listener.port));
      } finally {
        await listener.close();
      }
    });

    for (const kind of ["node", "deno"] as const) {
      test(`${kind} (child process)`, async () => {
        const child = await spawnChild(kind, [childArg]);
        try {
          check(await readAll(Number(await child.line("PORT "))));
        } finally {
          await child.kill();
        }
      });
    }
  });
}

patternScenario(
  "close() sends everything queued first (8 MiB written, then close at once)",
  CLOSE_BYTES,
  listenWriteThenClose,
  "close",
);
patternScenario(
  "write()'s sent callback: a buffer reused once sent never changes what goes out (24 MiB)",
  REUSE_BYTES,
  listenReuse,
  "reuse",
);

test("bun adapter: data chunks are not reused by Bun after the callback", async () => {
  const chunks: Uint8Array[] = [];
  const listener = await bunRuntime.listen({ host: "127.0.0.1", port: 0 }, (conn) => ({
    data(c) {
      chunks.push(c);
    },
    end() {
      conn.close();
    },
  }));
  try {
    const s = net.connect({ host: "127.0.0.1", port: listener.port });
    await new Promise((r) => s.on("connect", r));
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const b = new Uint8Array(1000 + i).fill(i);
      sent.push(b);
      s.write(b);
      if (i % 20 === 0) await Bun.sleep(2);
    }
    s.end();
    await new Promise((r) => s.on("close", r));
    await Bun.sleep(20);
    const all = Buffer.concat(chunks);
    expect(all.equals(Buffer.concat(sent))).toBe(true);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((c) => c.constructor === Uint8Array)).toBe(true);
  } finally {
    await listener.close();
  }
});

test("npm bin (bin/chronik.mjs) runs under node (the bundle), bun and deno (the adapters)", async () => {
  const { BUN, DENO, NODE, ROOT, ensureBuilt } = await import("../e2e/harness.ts");
  await ensureBuilt();
  for (const cmd of [[NODE], [BUN], [DENO, "run", "-A", "--quiet"]]) {
    const p = Bun.spawnSync([...cmd, `${ROOT}/bin/chronik.mjs`, "--version"]);
    expect({ cmd: cmd[0], code: p.exitCode, out: p.stdout.toString().trim() }).toEqual({
      cmd: cmd[0],
      code: 0,
      out: expect.stringMatching(/^chronik \d+\.\d+\.\d+/),
    });
  }
});
