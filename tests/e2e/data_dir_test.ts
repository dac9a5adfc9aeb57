// The data dir over real processes and a real client (kcat): Chronik refuses a directory it did not
// initialise and leaves it untouched; a directory no topic claims is renamed aside, never deleted; a
// damaged, emptied or deleted metadata store loses no topic data (topics come back from their
// partition directories); the lock holds across PID namespaces (`unshare`), and a refused broker
// leaves the holder's lock alone; a port in use names the address and reason on every runtime and
// leaves the data dir closed cleanly.
import { afterAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import type { RuntimeKind } from "./harness.ts";
import { commandFor, ROOT, startBrokerProcess } from "./harness.ts";

const tmp = mkdtempSync(`${tmpdir()}/chronik-datadir-`);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => `${tmp}/${n++}`;

async function kcat(args: string[], input?: string): Promise<string> {
  const p = Bun.spawn(["kcat", ...args], {
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`kcat ${args.join(" ")} exited ${code}: ${err}`);
  return out;
}

/** Starts a broker expected to refuse: its error text. */
async function refusal(kind: RuntimeKind, args: string[]): Promise<string> {
  return startBrokerProcess(kind, args).then(async (b) => {
    await b.stop();
    return "started";
  }, (e: Error) => e.message);
}

function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe("a directory Chronik did not initialise is refused and left as it was", () => {
  test("a user's non-empty directory", async () => {
    const dir = fresh();
    mkdirSync(`${dir}/photos-2024`, { recursive: true });
    writeFileSync(`${dir}/photos-2024/a.jpg`, "not a segment");
    writeFileSync(`${dir}/notes.txt`, "mine");
    const before = listing(dir);
    const why = await refusal("bun", ["--data-dir", dir]);
    expect(why).toContain("has no meta.properties, so Chronik did not initialise it; refusing to touch it");
    expect(listing(dir)).toEqual(before);
  }, 30_000);

  test("an Apache Kafka log dir (meta.properties without chronik.format)", async () => {
    const dir = fresh();
    mkdirSync(`${dir}/orders-0`, { recursive: true });
    writeFileSync(`${dir}/orders-0/00000000000000000000.log`, "");
    writeFileSync(`${dir}/meta.properties`, "version=1\ncluster.id=abc\nnode.id=1\n");
    const before = listing(dir);
    const why = await refusal("bun", ["--data-dir", dir]);
    expect(why).toContain("it is an Apache Kafka log dir");
    expect(listing(dir)).toEqual(before);
  }, 30_000);
});

describe("Chronik's own data dir", () => {
  test(
    "an empty dir gets meta.properties; a pre-marker dir is adopted; an unclaimed dir is renamed aside",
    async () => {
      const dir = fresh();
      let b = await startBrokerProcess("bun", ["--data-dir", dir]);
      const addr = `${b.host}:${b.port}`;
      await kcat(["-b", addr, "-P", "-t", "kept", "-p", "0"], "a\nb\n");
      expect(await b.stop()).toBe(0);
      const marker = readFileSync(`${dir}/meta.properties`, "utf8");
      expect(marker).toMatch(/^version=1$/m);
      expect(marker).toMatch(/^cluster\.id=\S+$/m);
      expect(marker).toMatch(/^chronik\.format=1$/m);
      // As a data dir from before the marker; plus a partition-like dir no topic claims.
      rmSync(`${dir}/meta.properties`);
      mkdirSync(`${dir}/ghost-0`);
      writeFileSync(`${dir}/ghost-0/00000000000000000000.log`, "precious");
      b = await startBrokerProcess("bun", ["--data-dir", dir]);
      expect(b.logs()).toContain("adopted a Chronik data dir from before meta.properties");
      expect(b.logs()).toMatch(/renamed \S+ghost-0 to ghost-0\.[0-9a-f]{32}-stray/);
      const out = await kcat(["-b", `${b.host}:${b.port}`, "-C", "-t", "kept", "-p", "0", "-e", "-f", "%s\n"]);
      expect(out).toBe("a\nb\n");
      expect(await b.stop()).toBe(0);
      expect(existsSync(`${dir}/meta.properties`)).toBe(true);
      const stray = readdirSync(dir).filter((e) => e.endsWith("-stray"));
      expect(stray).toHaveLength(1);
      expect(readFileSync(`${dir}/${stray[0]}/00000000000000000000.log`, "utf8")).toBe("precious");
    },
    60_000,
  );

  const damages: [string, (meta: string) => void][] = [
    ["metadata log truncated to 0 bytes", (m) => truncateSync(`${m}/log`, 0)],
    ["metadata log corrupted in its first record", (m) => {
      const b = readFileSync(`${m}/log`);
      b[12] ^= 0xff;
      writeFileSync(`${m}/log`, b);
    }],
    ["metadata directory deleted", (m) => rmSync(m, { recursive: true })],
  ];
  for (const [what, damage] of damages) {
    test(`${what}: topics come back from their partition directories and kcat reads every record`, async () => {
      const dir = fresh();
      let b = await startBrokerProcess("bun", ["--data-dir", dir, "-o", "num.partitions=3"]);
      let addr = `${b.host}:${b.port}`;
      for (const p of [0, 1, 2]) await kcat(["-b", addr, "-P", "-t", "orders", "-p", String(p)], `p${p}-1\np${p}-2\n`);
      await kcat(["-b", addr, "-P", "-t", "audit", "-p", "0"], "x\n");
      expect(await b.stop()).toBe(0);
      damage(`${dir}/__chronik_metadata`);
      b = await startBrokerProcess("bun", ["--data-dir", dir]);
      addr = `${b.host}:${b.port}`;
      expect(b.logs()).toContain("recovered topic orders (3 partition(s)) from its partition directories");
      expect(b.logs()).toContain("configs and topic id were lost");
      const meta = await kcat(["-b", addr, "-L", "-t", "orders"]);
      expect(meta).toContain("with 3 partitions");
      for (const p of [0, 1, 2]) {
        const out = await kcat(["-b", addr, "-C", "-t", "orders", "-p", String(p), "-e", "-f", "%s\n"]);
        expect(out).toBe(`p${p}-1\np${p}-2\n`);
      }
      expect(await kcat(["-b", addr, "-C", "-t", "audit", "-p", "0", "-e", "-f", "%s\n"])).toBe("x\n");
      expect(await b.stop()).toBe(0);
      // Recovered for good: the next start finds them in the metadata.
      b = await startBrokerProcess("bun", ["--data-dir", dir]);
      expect(b.logs()).not.toContain("recovered topic");
      expect(await kcat(["-b", `${b.host}:${b.port}`, "-C", "-t", "audit", "-p", "0", "-e", "-f", "%s\n"])).toBe("x\n");
      expect(await b.stop()).toBe(0);
    }, 60_000);
  }
});

const canUnshare = Bun.spawnSync(["unshare", "-p", "-f", "--mount-proc", "true"]).exitCode === 0;

/** A broker in a PID namespace of its own: it cannot see the other broker's process. */
function inNewPidNamespace(kind: RuntimeKind, dir: string) {
  const p = Bun.spawn(
    [
      "unshare",
      "-p",
      "-f",
      "--kill-child",
      "--mount-proc",
      ...commandFor(kind),
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--data-dir",
      dir,
    ],
    { cwd: ROOT, stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  let text = "";
  const pump = (async () => {
    for await (const c of p.stderr) text += new TextDecoder().decode(c);
  })();
  return {
    proc: p,
    text: () => text,
    /** Resolves with the address once it listens, or rejects with its logs when it exits first. */
    async listening(): Promise<string> {
      for (;;) {
        const m = /listening on (\S+):(\d+)/.exec(text);
        if (m) return `${m[1]}:${m[2]}`;
        if (p.exitCode !== null) {
          await pump;
          throw new Error(text);
        }
        await Bun.sleep(50);
      }
    },
  };
}

// Bun (and Node) rely on the lease; Deno also holds flock(2), so its lock is known free at once after a kill.
for (const kind of ["bun", "deno"] as RuntimeKind[]) {
  test.skipIf(!canUnshare)(
    `${kind}: a second broker in another PID namespace is refused while the first holds the lock; after SIGKILL it is taken over`,
    async () => {
      const dir = fresh();
      const first = await startBrokerProcess(kind, ["--data-dir", dir]);
      const lockBefore = readFileSync(`${dir}/.lock`, "utf8");
      const second = inNewPidNamespace(kind, dir);
      const why = await second.listening().then(() => "started", (e: Error) => e.message);
      expect(why).toContain("is in use by another broker");
      expect(why).toContain(`process ${first.proc.pid}`);
      // The refused broker left the holder's lock alone, and the holder keeps serving.
      expect(JSON.parse(readFileSync(`${dir}/.lock`, "utf8")).instance).toBe(JSON.parse(lockBefore).instance);
      expect(await kcat(["-b", `${first.host}:${first.port}`, "-L"])).toContain("broker");
      first.proc.kill("SIGKILL");
      await first.stop();
      const third = inNewPidNamespace(kind, dir);
      try {
        const addr = await third.listening();
        expect(third.text()).toContain("taking over the lock");
        expect(await kcat(["-b", addr, "-L"])).toContain("broker");
      } finally {
        third.proc.kill("SIGKILL"); // --kill-child takes the broker with it
        await third.proc.exited;
      }
    },
    60_000,
  );
}

test(
  "a failed start after an unclean stop: its partitions were recovered before the listener failed, so it closes clean; nothing lost",
  async () => {
    const dir = fresh();
    const b = await startBrokerProcess("bun", ["--data-dir", dir]);
    await kcat(["-b", `${b.host}:${b.port}`, "-P", "-t", "t", "-p", "0"], "a\n");
    b.proc.kill("SIGKILL");
    await b.stop();
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      expect(await refusal("bun", ["--data-dir", dir, "--port", String(holder.port)])).toContain("EADDRINUSE");
    } finally {
      holder.stop(true);
    }
    expect(JSON.parse(readFileSync(`${dir}/chronik.state`, "utf8"))).toEqual({ clean: true });
    const c = await startBrokerProcess("bun", ["--data-dir", dir]);
    expect(c.logs()).not.toContain("the last shutdown was not clean");
    expect(await kcat(["-b", `${c.host}:${c.port}`, "-C", "-t", "t", "-p", "0", "-e", "-f", "%s\n"])).toBe("a\n");
    expect(await c.stop()).toBe(0);
  },
  60_000,
);

describe("a port in use names the address and the reason; the data dir stays clean", () => {
  for (const kind of ["bun", "deno", "node", "binary"] as RuntimeKind[]) {
    test(kind, async () => {
      const dir = fresh();
      const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
      try {
        const why = await refusal(kind, ["--data-dir", dir, "--port", String(holder.port)]);
        expect(why).toContain(`cannot listen on 127.0.0.1:${holder.port}`);
        expect(why).toContain("the address is already in use");
        expect(why).toContain("(EADDRINUSE)");
        expect(JSON.parse(readFileSync(`${dir}/chronik.state`, "utf8"))).toEqual({ clean: true });
        expect(existsSync(`${dir}/.lock`)).toBe(false);
      } finally {
        holder.stop(true);
      }
    }, 120_000);
  }
});
