// Pieces of the admin CLI that need no broker: option parsing, formats, offsets and durations,
// completion scripts, `chronik health`.
import { describe, expect, test } from "bun:test";
import { ADMIN_COMMANDS, parseArgs, runMain } from "../../src/cli.ts";
import { completionSource } from "../../src/cli/admin/main.ts";
import { formatRecord, parseOffsetSpec, recordJson } from "../../src/cli/admin/consume.ts";
import { formatTable, parseOptions } from "../../src/cli/admin/context.ts";
import { durationMs, parseSeek } from "../../src/cli/admin/group.ts";
import { splitStream, unescapeDelimiter } from "../../src/cli/admin/produce.ts";
import { parseBrokers } from "../../src/client/client.ts";
import { startBroker } from "../../src/broker/broker.ts";
import { memoryRuntime } from "../../src/runtime/memory.ts";
import { recordingHost } from "./recording_host.ts";

const enc = new TextEncoder();
const rec = {
  offset: 7n,
  timestamp: 1700000000000n,
  key: enc.encode("k"),
  value: enc.encode("v"),
  headers: [{ key: "h", value: enc.encode("x") }],
  attributes: 0,
};

describe("formats", () => {
  test("kcat's tokens and escapes", () => {
    expect(formatRecord("%t/%p@%o %k=%v %T [%h] %K %S %%\\n", "t", 2, rec)).toBe(
      "t/2@7 k=v 1700000000000 [h=x] 1 1 %\n",
    );
    expect(formatRecord("%k|%v\\n", "t", 0, { ...rec, key: null, value: null })).toBe("|\n");
  });

  test("JSON lines", () => {
    expect(JSON.parse(recordJson("t", 1, rec))).toEqual({
      topic: "t",
      partition: 1,
      offset: 7,
      timestamp: 1700000000000,
      key: "k",
      value: "v",
      headers: { h: "x" },
    });
  });

  test("tables: headers from column names, aligned", () => {
    expect(formatTable([{ name: "a", startOffset: 10n }, { name: "bbb", startOffset: null }], ["name", "startOffset"]))
      .toBe("NAME  START_OFFSET\na     10\nbbb   -\n");
  });
});

describe("offsets and durations", () => {
  test("consume --offset", () => {
    expect(parseOffsetSpec("beginning")).toEqual({ kind: "earliest" });
    expect(parseOffsetSpec("end")).toEqual({ kind: "latest" });
    expect(parseOffsetSpec("42")).toEqual({ kind: "offset", offset: 42n });
    expect(parseOffsetSpec("-5")).toEqual({ kind: "fromEnd", count: 5n });
    expect(parseOffsetSpec("@1700000000000")).toEqual({ kind: "timestamp", ms: 1700000000000n });
    expect(parseOffsetSpec("@2023-11-14T22:13:20Z")).toEqual({ kind: "timestamp", ms: 1700000000000n });
    expect(() => parseOffsetSpec("soon")).toThrow(/beginning, end, N, -N or @time/);
  });

  test("group seek --to and durations", () => {
    expect(parseSeek("earliest")).toEqual({ kind: "earliest" });
    expect(parseSeek("offset:9")).toEqual({ kind: "offset", offset: 9n });
    expect(parseSeek("timestamp:1700000000000")).toEqual({ kind: "time", ms: 1700000000000n });
    expect(durationMs("PT1H30M")).toBe(5_400_000);
    expect(durationMs("P1DT2S")).toBe(86_402_000);
    expect(durationMs("15m")).toBe(900_000);
    expect(durationMs("2h")).toBe(7_200_000);
    expect(() => durationMs("P")).toThrow();
    expect(() => parseSeek("yesterday")).toThrow(/--to must be/);
  });
});

describe("input and options", () => {
  test("records split at a delimiter across chunk boundaries", async () => {
    async function* chunks() {
      yield enc.encode("a\nb");
      yield enc.encode("c\n\nd");
    }
    const out: string[] = [];
    for await (const r of splitStream(chunks(), unescapeDelimiter("\\n"))) out.push(new TextDecoder().decode(r));
    expect(out).toEqual(["a", "bc", "", "d"]);
  });

  test("options: long, short aliases, inline values, repeats, positionals", () => {
    const p = parseOptions(["t1", "-p", "3", "--config=a=b", "-c", "x=y", "--dry-run"], {
      "--partitions": "value",
      "--config": "multi",
      "--dry-run": "flag",
    }, { "-p": "--partitions", "-c": "--config" });
    expect(p.positional).toEqual(["t1"]);
    expect(p.values.get("--partitions")).toEqual(["3"]);
    expect(p.values.get("--config")).toEqual(["a=b", "x=y"]);
    expect(p.values.get("--dry-run")).toEqual(["true"]);
    expect(() => parseOptions(["--nope"], {})).toThrow(/unknown option "--nope"/);
  });

  test("broker lists", () => {
    expect(parseBrokers("a:1, b ,[::1]:9")).toEqual([
      { host: "a", port: 1 },
      { host: "b", port: 9092 },
      { host: "::1", port: 9 },
    ]);
  });
});

const host = recordingHost;

describe("commands without a broker", () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    test(`completion ${shell}: a script the shell accepts, listing every option the parsers take`, async () => {
      const h = host();
      expect(await runMain(memoryRuntime(), ["completion", shell], h)).toBe(0);
      // The lists come from the option tables (completionSource), so a new option cannot be left out.
      const src = completionSource();
      const words = new Set(h.printed.split(/[\s"()=]+/));
      const has = (opt: string) => shell === "fish" ? h.printed.includes(`-l ${opt.slice(2)}\n`) : words.has(opt);
      for (const o of [...src.global, ...src.start, ...Object.values(src.commands).flat()]) {
        expect({ shell, option: o, listed: has(o) }).toEqual({ shell, option: o, listed: true });
      }
      for (const o of ["--tls-server-name", "--client-id", "--storage", "--compression"]) expect(has(o)).toBe(true);
      for (const top of ADMIN_COMMANDS) expect(words.has(top)).toBe(true);
      // And every start option listed is one parseArgs takes (no stale entries).
      for (const o of src.start) expect(() => parseArgs([o])).not.toThrow(/unknown argument/);
      const exe = Bun.which(shell);
      if (exe === null) {
        // .ci/run installs bash, zsh and fish: in CI a missing shell is a failure, not a skip.
        expect(process.env.CI === "true" ? `${shell} missing` : "ok").toBe("ok");
        console.log(`SKIPPED: ${shell} is not installed; only the content was checked`);
        return;
      }
      const p = Bun.spawnSync(shell === "fish" ? [exe, "--no-execute"] : [exe, "-n"], {
        stdin: enc.encode(h.printed),
        stderr: "pipe",
      });
      expect(new TextDecoder().decode(p.stderr)).toBe("");
      expect(p.exitCode).toBe(0);
    });
  }

  test("bash completion completes commands, sub-commands and each command's options", async () => {
    const h = host();
    await runMain(memoryRuntime(), ["completion", "bash"], h);
    const bash = Bun.which("bash");
    if (bash === null) return;
    const complete = (words: string[]) => {
      const script = `${h.printed}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${
        words.length - 1
      }; _chronik; echo "\${COMPREPLY[@]}"`;
      return new TextDecoder().decode(Bun.spawnSync([bash, "-c", script]).stdout).trim();
    };
    expect(complete(["chronik", "gr"])).toBe("group");
    expect(complete(["chronik", "group", "s"])).toBe("seek");
    expect(complete(["chronik", "topic", "create", "--pa"])).toBe("--password --partitions");
    expect(complete(["chronik", "consume", "--fo"])).toBe("--format --follow");
    expect(complete(["chronik", "topic", "list", "--tls-s"])).toBe("--tls-server-name");
    expect(complete(["chronik", "produce", "--cl"])).toBe("--client-id");
    expect(complete(["chronik", "start", "--sto"])).toBe("--storage");
    expect(complete(["chronik", "config", "print", "--sto"])).toBe("--storage");
    expect(complete(["chronik", "--sto"])).toBe("--storage");
  });

  test("help lists the commands; an unknown one is a usage error (2)", async () => {
    const h = host();
    expect(await runMain(memoryRuntime(), ["help"], h)).toBe(0);
    expect(h.printed).toContain("chronik group seek");
    const u = host();
    expect(await runMain(memoryRuntime(), ["topic", "frobnicate"], u)).toBe(2);
    expect(u.errors).toBe('chronik: unknown command "topic frobnicate" (try chronik help)\n');
  });

  test("nothing listening: NETWORK_EXCEPTION, exit 3", async () => {
    const h = host();
    expect(await runMain(memoryRuntime(), ["topic", "list", "-b", "127.0.0.1:1"], h)).toBe(3);
    expect(h.errors).toMatch(
      /^chronik topic list: NETWORK_EXCEPTION: cannot connect to 127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
  });

  test("in-process: the admin client over the memory runtime's connect", async () => {
    const rt = memoryRuntime();
    const broker = await startBroker(rt, { port: 0 });
    try {
      const b = `127.0.0.1:${broker.port}`;
      const h = host();
      expect(await runMain(rt, ["topic", "create", "mem", "-p", "2", "-b", b], h)).toBe(0);
      expect(await runMain(rt, ["produce", "mem", "-p", "1", "--value", "x", "--value", "y", "-b", b], h)).toBe(0);
      const c = host();
      expect(await runMain(rt, ["consume", "mem", "-f", "%p:%o:%v\\n", "-b", b], c)).toBe(0);
      expect(c.printed).toBe("1:0:x\n1:1:y\n");
    } finally {
      await broker.close();
    }
  });

  test("in-process: consume -F follows until -n records arrived; produce --file reports offsets, no progress line when piped", async () => {
    const rt = memoryRuntime();
    const broker = await startBroker(rt, { port: 0 });
    try {
      const b = `127.0.0.1:${broker.port}`;
      expect(await runMain(rt, ["topic", "create", "f", "-b", b], host())).toBe(0);
      const c = host();
      const following = runMain(rt, ["consume", "f", "-F", "-o", "end", "-n", "2", "-f", "%v\\n", "-b", b], c);
      await new Promise((r) => setTimeout(r, 100));
      await rt.fs.writeFileAtomic("/in.txt", enc.encode("one\ntwo\nthree\n"));
      const tty = Object.assign(host(), { stderrIsTTY: true });
      expect(await runMain(rt, ["produce", "f", "--file", "/in.txt", "-b", b], tty)).toBe(0);
      expect(await following).toBe(0);
      expect(c.printed).toBe("one\ntwo\n");
      expect(tty.errors).toContain("3 record(s) to f: 0@0..2");
      const piped = host();
      expect(await runMain(rt, ["produce", "f", "--file", "/in.txt", "-b", b], piped)).toBe(0);
      expect(piped.errors).not.toContain("MB/s");
    } finally {
      await broker.close();
    }
  });

  test("in-process: consume --format json piped into produce -J copies records (key, value, headers, partition, time)", async () => {
    const rt = memoryRuntime();
    const broker = await startBroker(rt, { port: 0 });
    try {
      const b = `127.0.0.1:${broker.port}`;
      expect(await runMain(rt, ["topic", "create", "src", "-p", "2", "-b", b], host())).toBe(0);
      expect(await runMain(rt, ["topic", "create", "dst", "-p", "2", "-b", b], host())).toBe(0);
      await runMain(rt, ["produce", "src", "-p", "1", "-k", "k", "-H", "h=1", "--value", "v", "-b", b], host());
      const out = host();
      expect(await runMain(rt, ["consume", "src", "--format", "json", "-b", b], out)).toBe(0);
      await rt.fs.writeFileAtomic("/records.jsonl", enc.encode(out.printed));
      expect(await runMain(rt, ["produce", "dst", "-J", "-f", "/records.jsonl", "-b", b], host())).toBe(0);
      const copy = host();
      expect(await runMain(rt, ["consume", "dst", "--format", "json", "-b", b], copy)).toBe(0);
      const a = JSON.parse(out.printed), c = JSON.parse(copy.printed);
      expect({ ...c, topic: "src" }).toEqual(a);
      const bad = host();
      await rt.fs.writeFileAtomic("/bad.jsonl", enc.encode('{"value":"x"}\nnot json\n'));
      expect(await runMain(rt, ["produce", "dst", "-J", "-f", "/bad.jsonl", "-b", b], bad)).toBe(2);
      expect(bad.errors).toMatch(/^chronik produce: line 2: not JSON/);
    } finally {
      await broker.close();
    }
  });

  test("in-process: consume -G reads as a group member, commits, and resumes where it stopped", async () => {
    const rt = memoryRuntime();
    const broker = await startBroker(rt, { port: 0, "group.initial.rebalance.delay.ms": 0 });
    try {
      const b = `127.0.0.1:${broker.port}`;
      expect(await runMain(rt, ["topic", "create", "gt", "-p", "2", "-b", b], host())).toBe(0);
      const values = ["a", "b", "c", "d"].flatMap((v) => ["--value", v]);
      expect(await runMain(rt, ["produce", "gt", ...values, "-b", b], host())).toBe(0);
      const first = host();
      expect(await runMain(rt, ["consume", "gt", "-G", "g", "-f", "%v\\n", "-b", b], first)).toBe(0);
      expect(first.printed.split("\n").filter(Boolean).sort()).toEqual(["a", "b", "c", "d"]);
      const d = host();
      expect(await runMain(rt, ["group", "describe", "g", "--format", "json", "-b", b], d)).toBe(0);
      expect(JSON.parse(d.printed).totalLag).toBe(0);
      expect(await runMain(rt, ["produce", "gt", "--value", "e", "-b", b], host())).toBe(0);
      const second = host();
      expect(await runMain(rt, ["consume", "gt", "-G", "g", "-f", "%v\\n", "-b", b], second)).toBe(0);
      expect(second.printed).toBe("e\n");
    } finally {
      await broker.close();
    }
  });

  test("health: exit 3 when nothing answers", async () => {
    const h = host();
    expect(await runMain(memoryRuntime(), ["health", "--url", "http://127.0.0.1:1/health"], h)).toBe(3);
    expect(h.errors).toMatch(/^chronik health: http:\/\/127\.0\.0\.1:1\/health: /);
  });
});
