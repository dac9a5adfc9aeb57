// The admin CLI against another Kafka implementation: librdkafka's mock cluster (three brokers),
// started inside kcat with test.mock.num.brokers. kcat consumes what the CLI produces.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BUN, ROOT } from "./harness.ts";

let kcat: Bun.Subprocess<"ignore", "pipe", "pipe">;
let addr = "";
let consumed = "";

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([BUN, `${ROOT}/adapters/bun.ts`, "-b", addr, "--timeout", "10000", ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, HOME: "/nonexistent" },
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

describe("chronik admin CLI against librdkafka's mock cluster", () => {
  beforeAll(async () => {
    kcat = Bun.spawn(
      ["kcat", "-X", "test.mock.num.brokers=3", "-b", "unused:9092", "-C", "-t", "mock-t", "-f", "%p:%k=%s\\n", "-u"],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    let err = "";
    (async () => {
      const d = new TextDecoder();
      for await (const c of kcat.stdout) consumed += d.decode(c, { stream: true });
    })();
    const reader = kcat.stderr.getReader();
    for (let i = 0; i < 100 && !/replaced with (127\.0\.0\.1:\d+)/.test(err); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      err += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    addr = /replaced with (127\.0\.0\.1:\d+)/.exec(err)![1];
  }, 30_000);
  afterAll(() => {
    kcat?.kill("SIGKILL");
  });

  test("cluster info lists the mock's three brokers", async () => {
    const r = await cli(["cluster", "info", "--format", "json"]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out);
    expect(info.brokers.map((b: { id: number }) => b.id)).toEqual([1, 2, 3]);
    expect(info.clusterId).toMatch(/^mockCluster/);
  }, 30_000);

  test("produce to a partition led by any broker; kcat consumes it; the CLI reads it back", async () => {
    const list = JSON.parse((await cli(["topic", "list", "--format", "json"])).out);
    expect(list.find((t: { name: string }) => t.name === "mock-t")).toBeDefined();
    const p = await cli(["produce", "mock-t", "-p", "2", "-k", "key", "--value", "from-chronik"]);
    expect(p.code).toBe(0);
    for (let i = 0; i < 100 && !consumed.includes("from-chronik"); i++) await Bun.sleep(100);
    expect(consumed).toContain("2:key=from-chronik");
    const c = await cli(["consume", "mock-t", "-p", "2", "-f", "%k=%v@%o\\n"]);
    expect(c.out).toBe("key=from-chronik@0\n");
  }, 30_000);

  test("group seek and describe work with what the mock offers; a missing API is a clear error", async () => {
    const seek = await cli(["group", "seek", "mock-g", "--topic", "mock-t:2", "--to", "earliest"]);
    expect(seek.err).toBe("");
    const described = await cli(["group", "describe", "mock-g", "--format", "json"]);
    expect(described.err).toBe("");
    const d = JSON.parse(described.out);
    expect(d.offsets).toContainEqual(
      expect.objectContaining({ topic: "mock-t", partition: 2, currentOffset: 0, lag: 1 }),
    );
    const create = await cli(["topic", "create", "x"]);
    expect(create.code).toBe(1);
    expect(create.err).toBe(
      "chronik topic create: UNSUPPORTED_VERSION: the broker does not support CreateTopics (the broker is too old for this command)\n",
    );
  }, 30_000);
});
