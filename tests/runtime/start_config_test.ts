// Start-up config from flags, CHRONIK_… variables and a server.properties file (#18, #13.7).
import { describe, expect, test } from "bun:test";
import { runMain } from "../../src/cli.ts";
import { loadStartConfig, parseArgs } from "../../src/cli/broker_main.ts";
import { effectiveConfig, envConfigName, parseProperties } from "../../src/cli/start_config.ts";
import { memoryRuntime } from "../../src/runtime/memory.ts";
import { startBroker } from "../../src/broker/broker.ts";
import { configNumber, typedConfigValue } from "../../src/config.ts";
import { recordingHost } from "./recording_host.ts";

describe("server.properties", () => {
  test("Java properties syntax: = : or space, comments, continuations, escapes", () => {
    const text = [
      "# comment",
      "! also a comment",
      "num.partitions=3",
      "  log.retention.ms : 1000",
      "broker.rack eu\\u002d1",
      "sasl.enabled.mechanisms=PLAIN,\\",
      "    SCRAM-SHA-256",
      "empty=",
      "",
    ].join("\n");
    expect(parseProperties(text)).toEqual([
      { key: "num.partitions", value: "3", line: 3 },
      { key: "log.retention.ms", value: "1000", line: 4 },
      { key: "broker.rack", value: "eu-1", line: 5 },
      { key: "sasl.enabled.mechanisms", value: "PLAIN,SCRAM-SHA-256", line: 6 },
      { key: "empty", value: "", line: 8 },
    ]);
  });
});

describe("environment", () => {
  test("CHRONIK_ names map as Confluent's KAFKA_ ones: _ is ., __ is _, ___ is -", () => {
    expect(envConfigName("CHRONIK_NUM_PARTITIONS")).toBe("num.partitions");
    expect(envConfigName("CHRONIK_LOG_RETENTION_MS")).toBe("log.retention.ms");
    expect(envConfigName("CHRONIK_A__B___C")).toBe("a_b-c");
    expect(envConfigName("CHRONIK_PORT")).toBe("port");
    expect(envConfigName("CHRONIK_DATA_DIR")).toBe("dataDir");
    expect(envConfigName("CHRONIK_FSYNC_ACKS_ALL")).toBe("chronik.fsync.acks.all");
    expect(envConfigName("CHRONIK_BROKERS")).toBe(null);
    expect(envConfigName("HOME")).toBe(null);
  });
});

describe("precedence flag > env > file > default", () => {
  test("each value comes from the highest layer that sets it, with its place", async () => {
    const rt = memoryRuntime();
    await rt.fs.mkdir("/etc/chronik");
    await rt.fs.writeFileAtomic(
      "/etc/chronik/server.properties",
      new TextEncoder().encode("num.partitions=2\nlog.retention.ms=1000\nport=9000\nlog.dirs=/var/lib/kafka\n"),
    );
    const args = parseArgs(["--config-file", "/etc/chronik/server.properties", "--port", "9100"]);
    const start = await loadStartConfig(rt, args, { CHRONIK_NUM_PARTITIONS: "4", CHRONIK_PORT: "9050" });
    expect(start.config).toEqual({
      "num.partitions": 4,
      "log.retention.ms": 1000,
      port: 9100,
      dataDir: "/var/lib/kafka",
    });
    expect(start.sources.get("num.partitions")).toEqual({ kind: "env", origin: "CHRONIK_NUM_PARTITIONS" });
    expect(start.sources.get("log.retention.ms")).toEqual({ kind: "file", origin: "server.properties:2" });
    expect(start.sources.get("port")).toEqual({ kind: "flag", origin: "--port" });
    const rows = effectiveConfig(start, "./data");
    expect(rows.find((r) => r.name === "num.partitions")).toEqual({
      name: "num.partitions",
      value: "4",
      source: "env",
      origin: "CHRONIK_NUM_PARTITIONS",
    });
    expect(rows.find((r) => r.name === "log.segment.bytes")).toEqual({
      name: "log.segment.bytes",
      value: "1073741824",
      source: "default",
      origin: "",
    });
  });

  test("a bad value in the file or the environment stops the start with its place and Kafka's reason", async () => {
    const rt = memoryRuntime();
    await rt.fs.writeFileAtomic("/s.properties", new TextEncoder().encode("\nnum.partitions=-1\n"));
    await expect(loadStartConfig(rt, parseArgs(["--config-file", "/s.properties"]), {})).rejects.toThrow(
      "s.properties:2: Invalid value -1 for configuration num.partitions: Value must be at least 1",
    );
    await expect(loadStartConfig(rt, parseArgs([]), { CHRONIK_LOG_RETENTION_MS: "1h" })).rejects.toThrow(
      "CHRONIK_LOG_RETENTION_MS: Invalid value 1h for configuration log.retention.ms: Not a number of type LONG",
    );
    await expect(loadStartConfig(rt, parseArgs(["--config-file", "/missing"]), {})).rejects.toThrow("no such file");
  });
});

const host = recordingHost;

describe("chronik config print / refusing to start", () => {
  test("config print shows the effective value and where it came from; --format json too", async () => {
    const h = host({ CHRONIK_NUM_PARTITIONS: "5" });
    expect(await runMain(memoryRuntime(), ["config", "print", "-o", "log.retention.ms=60000"], h)).toBe(0);
    expect(h.printed).toMatch(/^num\.partitions +5 +env \(CHRONIK_NUM_PARTITIONS\)$/m);
    expect(h.printed).toMatch(/^log\.retention\.ms +60000 +flag \(-o log\.retention\.ms\)$/m);
    expect(h.printed).toMatch(/^port +9092 +default$/m);
    const j = host();
    expect(await runMain(memoryRuntime(), ["config", "print", "--format", "json", "--port", "1"], j)).toBe(0);
    const parsed = JSON.parse(j.printed);
    expect(parsed.configs.find((c: { name: string }) => c.name === "port")).toEqual({
      name: "port",
      value: "1",
      source: "flag",
      origin: "--port",
    });
  });

  test("-o num.partitions=-1 refuses to start (exit 2) with the reason; a typo only warns", async () => {
    const rt = memoryRuntime();
    const h = host();
    expect(await runMain(rt, ["-o", "num.partitions=-1"], h)).toBe(2);
    expect(rt.logs.join("\n")).toContain(
      "ERROR -o num.partitions: Invalid value -1 for configuration num.partitions: Value must be at least 1",
    );
    const rt2 = memoryRuntime();
    const h2 = host();
    let stop: ((s: string) => void) | null = null;
    h2.onSignal = (fn) => (stop = fn);
    const done = runMain(rt2, ["--port", "0", "-o", "num.partition=3"], h2);
    for (let i = 0; i < 200 && !rt2.logs.some((l) => /listening on/.test(l)); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(rt2.logs.some((l) => l.includes("WARN -o num.partition: the configuration 'num.partition' was supplied")))
      .toBe(
        true,
      );
    stop!("SIGTERM");
    expect(await done).toBe(0);
  });
});

describe("advertised address", () => {
  test("binding 0.0.0.0 without an advertised host warns; with one it does not", async () => {
    const { startBroker } = await import("../../src/broker/broker.ts");
    const rt = memoryRuntime();
    const b = await startBroker(rt, { host: "0.0.0.0", port: 0 });
    await b.close();
    expect(
      rt.logs.some((l) =>
        /WARN listener PLAINTEXT binds every interface \(0\.0\.0\.0\) but advertises 127\.0\.0\.1/.test(l)
      ),
    )
      .toBe(true);
    const rt2 = memoryRuntime();
    const b2 = await startBroker(rt2, { host: "0.0.0.0", port: 0, advertisedHost: "kafka.example" });
    await b2.close();
    expect(rt2.logs.some((l) => l.includes("binds every interface"))).toBe(false);
  });
});

describe("log level at run time", () => {
  test("root=DEBUG on BROKER_LOGGER (IncrementalAlterConfigs) shows debug lines of a broker started at info", async () => {
    const { KafkaClient } = await import("../../src/client/client.ts");
    const { IncrementalAlterConfigs } = await import("../../src/protocol/messages/44_incremental_alter_configs.ts");
    const rt = memoryRuntime();
    let stop: ((s: string) => void) | null = null;
    const h = { ...host(), onSignal: (fn: (s: string) => void) => (stop = fn) };
    const done = runMain(rt, ["--port", "0", "--data-dir", ":memory:"], h);
    let port = 0;
    for (let i = 0; i < 200 && port === 0; i++) {
      const m = rt.logs.map((l) => /listening on \S+:(\d+)/.exec(l)).find((x) => x);
      if (m) port = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 5));
    }
    const client = new KafkaClient(rt, [{ host: "127.0.0.1", port }]);
    try {
      await client.metadata([]);
      expect(rt.logs.some((l) => l.includes(" DEBUG "))).toBe(false);
      const c = await client.any();
      const r = await c.request(IncrementalAlterConfigs, {
        resources: [{
          resourceType: 8,
          resourceName: "0",
          configs: [{ name: "root", configOperation: 0, value: "DEBUG" }],
        }],
        validateOnly: false,
      });
      expect(r.responses?.[0]?.errorCode).toBe(0);
      await client.metadata([]);
      expect(rt.logs.some((l) => / DEBUG \S+ Metadata v\d+ \(correlation \d+\)$/.test(l))).toBe(true);
    } finally {
      await client.close();
      stop!("SIGTERM");
      expect(await done).toBe(0);
    }
  });
});

describe("Dockerfile", () => {
  test("its CHRONIK_ environment is a valid start-up config; the health check and entry point are chronik's", async () => {
    const text = await Bun.file(new URL("../../Dockerfile", import.meta.url)).text();
    const envBlock = /^ENV ((?:.*\\\n)*.*)$/m.exec(text)![1];
    const env = Object.fromEntries(
      envBlock.split(/\\\n/).map((s) => s.trim()).filter((s) => s !== "").map((s) => s.split("=") as [string, string]),
    );
    expect(Object.keys(env).every((k) => k.startsWith("CHRONIK_"))).toBe(true);
    const start = await loadStartConfig(memoryRuntime(), parseArgs([]), env);
    expect(start.warnings).toEqual([]);
    expect(start.config).toMatchObject({
      host: "0.0.0.0",
      port: 9092,
      dataDir: "/var/lib/chronik",
      "chronik.http.port": 8080,
      "chronik.http.host": "0.0.0.0",
    });
    expect(text).toMatch(/^HEALTHCHECK .*CMD \["\/usr\/local\/bin\/chronik", "health"\]$/m);
    expect(text).toMatch(/^USER 65532:65532$/m);
    expect(text).toMatch(/^VOLUME \/var\/lib\/chronik$/m);
    expect(text).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/chronik"\]$/m);
    // The build step is the one scripts/build.ts uses for dist/chronik (which the e2e tests run).
    const build = await Bun.file(new URL("../../scripts/build.ts", import.meta.url)).text();
    expect(build).toContain('"build", "--compile", "--bytecode", "--format=esm", "adapters/bun.ts"');
    expect(text).toContain("bun build --compile --bytecode --format=esm adapters/bun.ts");
  });
});

describe("LONG configs beyond 2^53", () => {
  // Kafka's LONG is 64-bit: 9223372036854775807 (Long.MAX_VALUE, the default of several configs) must read back as
  // given, from the command line as from AlterConfigs — one typing function for both (typedConfigValue).
  const MAX = "9223372036854775807";
  test("typedConfigValue keeps an unsafe long exact; safe ones are numbers", () => {
    expect(typedConfigValue("long", MAX)).toBe(MAX);
    expect(typedConfigValue("long", "-9007199254740993")).toBe("-9007199254740993");
    expect(typedConfigValue("long", "9007199254740991")).toBe(9007199254740991);
    expect(typedConfigValue("long", " 42 ")).toBe(42);
    expect(configNumber({ "log.flush.interval.messages": MAX }, "log.flush.interval.messages")).toBe(2 ** 63);
  });

  test("start-up and dynamic values alike: DescribeConfigs answers the exact text", async () => {
    const rt = memoryRuntime();
    const args = parseArgs([
      "-o",
      `log.flush.interval.messages=${MAX}`,
      "-o",
      "log.cleaner.max.compaction.lag.ms=9007199254740993",
    ]);
    expect(args.config["log.flush.interval.messages"]).toBe(MAX);
    const broker = await startBroker(rt, { ...args.config, port: 0 });
    try {
      const b = ["-b", `127.0.0.1:${broker.port}`, "--format", "json"];
      const get = async (name: string) => {
        const h = recordingHost();
        expect(await runMain(rt, ["cluster", "config", "get", name, ...b], h)).toBe(0);
        return JSON.stringify(JSON.parse(h.printed));
      };
      expect(await get("log.flush.interval.messages")).toContain(`"${MAX}"`);
      expect(await get("log.cleaner.max.compaction.lag.ms")).toContain(`"9007199254740993"`);
      const set = recordingHost();
      expect(await runMain(rt, ["cluster", "config", "set", "log.flush.interval.messages=9007199254740995", ...b], set))
        .toBe(0);
      expect(await get("log.flush.interval.messages")).toContain(`"9007199254740995"`);
    } finally {
      await broker.close();
    }
  });
});
