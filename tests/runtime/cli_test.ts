import { describe, expect, test } from "bun:test";
import { parseArgs, runMain, USAGE, UsageError, withDataDir } from "../../src/cli.ts";
import { parseStorageUrl, storageOf } from "../../src/storage/url.ts";
import { memoryRuntime } from "../../src/runtime/memory.ts";

describe("parseArgs", () => {
  test("no arguments: empty config", () => {
    expect(parseArgs([]).config).toEqual({});
    expect(parseArgs([]).warnings).toEqual([]);
  });

  test("named flags, both --flag value and --flag=value", () => {
    expect(
      parseArgs([
        "--host",
        "0.0.0.0",
        "--port=19092",
        "--advertised-host",
        "kafka.local",
        "--advertised-port",
        "9093",
        "--data-dir",
        "/var/lib/chronik",
        "--log-level",
        "debug",
        "--node-id",
        "3",
      ]).config,
    ).toEqual({
      host: "0.0.0.0",
      port: 19092,
      advertisedHost: "kafka.local",
      advertisedPort: 9093,
      dataDir: "/var/lib/chronik",
      logLevel: "debug",
      nodeId: 3,
    });
  });

  test("help and version", () => {
    expect(parseArgs(["-h"]).help).toBe(true);
    expect(parseArgs(["--help"]).help).toBe(true);
    expect(parseArgs(["-V"]).version).toBe(true);
    expect(parseArgs(["--version"]).version).toBe(true);
  });

  test("-o / --config take Kafka-named configs, typed by the default", () => {
    const { config } = parseArgs([
      "-o",
      "num.partitions=3",
      "--config",
      "auto.create.topics.enable=false",
      "-o",
      "log.message.timestamp.type=LogAppendTime",
      "--config=message.max.bytes=2000000",
    ]);
    expect(config).toEqual({
      "num.partitions": 3,
      "auto.create.topics.enable": false,
      "log.message.timestamp.type": "LogAppendTime",
      "message.max.bytes": 2000000,
    });
  });

  test("-o with a config we do not know yet keeps it, typed loosely", () => {
    const { config } = parseArgs([
      "-o",
      "log.retention.ms=-1",
      "-o",
      "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
      "-o",
      "delete.topic.enable=true",
      "-o",
      "broker.rack=eu-1a",
    ]);
    expect(config).toEqual({
      "log.retention.ms": -1,
      "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
      "delete.topic.enable": true,
      "broker.rack": "eu-1a",
    });
  });

  test("-o with an unknown Kafka-style name warns as Kafka does, with the closest known name", () => {
    const r = parseArgs(["-o", "num.partition=3"]);
    expect(r.config).toEqual({ "num.partition": 3 });
    expect(r.warnings).toEqual([
      "-o num.partition: the configuration 'num.partition' was supplied but isn't a known config (did you mean num.partitions?); kept as given",
    ]);
  });

  test("Kafka names of our fields set them (node.id, log.dirs); removed 3.x configs are ignored with a warning", () => {
    const r = parseArgs(["-o", "node.id=4", "-o", "log.dirs=/var/kafka", "-o", "log.message.format.version=3.0"]);
    expect(r.config).toEqual({ nodeId: 4, dataDir: "/var/kafka" });
    expect(r.warnings).toEqual([
      "-o log.message.format.version: log.message.format.version was removed in Kafka 4.0; ignored",
    ]);
    expect(() => parseArgs(["-o", "log.dirs=/a,/b"])).toThrow(/one log directory only/);
  });

  test("per-listener configs are Kafka's: checked as the config they name, no unknown-name warning", () => {
    const r = parseArgs([
      "-o",
      "listener.name.sasl_plaintext.plain.sasl.jaas.config=x",
      "-o",
      "listener.name.external.max.connection.creation.rate=5",
    ]);
    expect(r.warnings).toEqual([]);
    expect(r.config).toEqual({
      "listener.name.sasl_plaintext.plain.sasl.jaas.config": "x",
      "listener.name.external.max.connection.creation.rate": 5,
    });
    expect(() => parseArgs(["-o", "listener.name.external.max.connection.creation.rate=-3"])).toThrow(
      /Value must be at least 0/,
    );
  });

  test("-o can also set a flag's key, validated like the flag", () => {
    expect(parseArgs(["-o", "port=1234"]).config).toEqual({ port: 1234 });
    expect(() => parseArgs(["-o", "port=x"])).toThrow(UsageError);
  });

  const bad: [string[], RegExp][] = [
    [["--port", "65536"], /--port must be an integer in \[0, 65535\]/],
    [["--port", "-1"], /--port/],
    [["--port", "12.5"], /--port/],
    [["--port", ""], /--port/],
    [["--port", "0x10"], /--port/],
    [["--advertised-port", "0"], /--advertised-port/],
    [["--node-id", "abc"], /--node-id/],
    [["--log-level", "verbose"], /--log-level must be one of debug, info, warn, error/],
    [["--port"], /--port needs a value/],
    [["--host", ""], /must not be empty/],
    [["--nope"], /unknown argument "--nope"/],
    [["stray"], /unknown argument "stray"/],
    [["-o", "num.partitions"], /expects key=value/],
    [["-o", "=3"], /expects key=value/],
    [["-o", "num.partitions=three"], /Invalid value three for configuration num.partitions: Not a number of type INT/],
    // #13.7: the same types and ranges as AlterConfigs.
    [
      ["-o", "num.partitions=-1"],
      /-o num.partitions: Invalid value -1 for configuration num.partitions: Value must be at least 1/,
    ],
    [["-o", "log.retention.ms=1h"], /Invalid value 1h for configuration log.retention.ms: Not a number of type LONG/],
    [["-o", "compression.type=brotli"], /String must be one of/],
    [["--log-format", "xml"], /--log-format must be one of text, json/],
    [["--config-file"], /--config-file needs a value/],
    [["-o", "auto.create.topics.enable=yes"], /true or false/],
    [["-o", "log.message.timestamp.type=Now"], /CreateTime, LogAppendTime/],
    [["-o", "NotKafka=1"], /unknown config "NotKafka"/],
    [["--storage", "s3://bucket"], /--storage: storage URL s3:\/\/bucket: unknown scheme/],
    [["--storage", "file:"], /names no directory/],
    [["--storage", "postgres://u:secret@h/db?sslmode=require"], /sslmode=require is not supported/],
    [["--storage", "memory:", "--data-dir", "./d"], /give --storage or --data-dir, not both/],
  ];
  for (const [argv, msg] of bad) {
    test(`rejects ${JSON.stringify(argv)}`, () => {
      expect(() => parseArgs(argv)).toThrow(msg);
      expect(() => parseArgs(argv)).toThrow(UsageError);
    });
  }
});

describe("--storage", () => {
  test("takes a storage URL; --data-dir stays the file: alias, ./data the default", () => {
    expect(parseArgs(["--storage", "postgres://u:p@127.0.0.1:5432/db"]).config.storage).toBe(
      "postgres://u:p@127.0.0.1:5432/db",
    );
    expect(withDataDir(parseArgs(["--storage", "memory:"]).config)).toMatchObject({
      storage: "memory:",
      dataDir: null,
    });
    expect(withDataDir(parseArgs(["--data-dir", "/x"]).config)).toMatchObject({ dataDir: "/x" });
    expect(withDataDir(parseArgs([]).config)).toMatchObject({ dataDir: "./data" });
    expect(USAGE).toContain("--storage <url>");
  });

  test("parseStorageUrl and storageOf: one place decides", () => {
    expect(parseStorageUrl("file:./data")).toEqual({ kind: "file", url: "file:./data", dir: "./data" });
    expect(parseStorageUrl("file:///var/lib/chronik")).toMatchObject({ kind: "file", dir: "/var/lib/chronik" });
    expect(parseStorageUrl("file://localhost/srv/c")).toMatchObject({ kind: "file", dir: "/srv/c" });
    expect(() => parseStorageUrl("file://elsewhere/srv")).toThrow(/names no host/);
    expect(parseStorageUrl("memory:")).toEqual({ kind: "memory", url: "memory:" });
    const pg = parseStorageUrl("postgresql://chronik:s3cret@db:6432/kafka?pool=8");
    expect(pg).toMatchObject({ kind: "postgres", url: "postgresql://chronik:***@db:6432/kafka?pool=8" });
    expect(pg.kind === "postgres" && pg.pg).toMatchObject({ host: "db", port: 6432, poolSize: 8, password: "s3cret" });
    expect(storageOf({ dataDir: null })).toEqual({ kind: "memory", url: "memory:" });
    expect(storageOf({ dataDir: "/d" })).toMatchObject({ kind: "file", dir: "/d" });
    expect(storageOf({ dataDir: "/d", storage: "memory:" })).toMatchObject({ kind: "memory" });
  });
});

describe("runMain", () => {
  function host() {
    const h = {
      exits: [] as number[],
      printed: "",
      signal: null as ((s: string) => void) | null,
      onSignal(fn: (s: string) => void) {
        h.signal = fn;
      },
      exit(code: number) {
        h.exits.push(code);
      },
      print(text: string) {
        h.printed += text;
      },
    };
    return h;
  }

  test("--help prints usage and exits 0", async () => {
    const h = host();
    expect(await runMain(memoryRuntime(), ["--help"], h)).toBe(0);
    expect(h.printed).toBe(USAGE);
    expect(h.exits).toEqual([0]);
  });

  test("bad arguments log an error and exit 2", async () => {
    const h = host();
    const rt = memoryRuntime();
    expect(await runMain(rt, ["--port", "x"], h)).toBe(2);
    expect(rt.logs.join("\n")).toContain("ERROR --port must be an integer");
  });

  test("starts, closes once on the first signal, exits 0; a second signal exits 1 at once", async () => {
    const h = host();
    const rt = memoryRuntime();
    const done = runMain(rt, ["--port", "0", "--log-level", "warn"], h);
    for (let i = 0; i < 200 && !rt.logs.length && h.signal === null; i++) await new Promise((r) => setTimeout(r, 5));
    h.signal!("SIGTERM");
    h.signal!("SIGINT");
    expect(await done).toBe(0);
    expect(h.exits).toEqual([1, 0]); // the second signal's immediate exit, then the orderly one (a real exit never returns)
    expect(rt.logs.some((l) => l.includes("INFO"))).toBe(false); // filtered by --log-level warn
    expect(rt.logs.some((l) => l.includes("WARN SIGINT again"))).toBe(true);
  });

  test("the broker's listening line goes through runtime.log; a taken port exits 1", async () => {
    const rt = memoryRuntime();
    const h = host();
    const done = runMain(rt, ["--port", "9092"], h);
    for (let i = 0; i < 200 && !rt.logs.some((l) => /listening on/.test(l)); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(rt.logs.some((l) => / INFO chronik listening on 127\.0\.0\.1:9092 \(memory\)/.test(l))).toBe(true);
    const h2 = host();
    expect(await runMain(rt, ["--port", "9092"], h2)).toBe(1);
    expect(rt.logs.some((l) => l.includes("ERROR failed to start"))).toBe(true);
    h.signal!("SIGTERM");
    expect(await done).toBe(0);
  });
});
