// Command line: argument parsing and the main flow shared by every entry point.
// Pure TS; an adapter supplies the Runtime plus signals, exit and stdout (MainHost).
import { parseAddScram } from "./broker/auth/auth.ts";
import { startBroker } from "./broker/broker.ts";
import { BROKER_CONFIGS } from "./broker/config/broker_configs.ts";
import type { Broker } from "./broker/broker.ts";
import type { BrokerConfig } from "./config.ts";
import { DEFAULT_CONFIG } from "./config.ts";
import { isLogLevel, LOG_LEVELS, withLogLevel } from "./log.ts";
import type { Runtime } from "./runtime.ts";
import { parseStorageUrl } from "./storage/url.ts";
import { VERSION_STRING } from "./version.ts";

export const VERSION: string = VERSION_STRING;

/** Where the command line keeps data unless --data-dir says otherwise (startBroker alone uses memory). */
export const DEFAULT_DATA_DIR = "./data";

/**
 * The command line's storage: --storage when given, else the data dir (./data by default; null,
 * i.e. memory, for `--data-dir :memory:`).
 */
export function withDataDir(config: Partial<BrokerConfig>): Partial<BrokerConfig> {
  if (typeof config.storage === "string") return { ...config, dataDir: null };
  const dir = config.dataDir === undefined ? DEFAULT_DATA_DIR : config.dataDir;
  return { ...config, dataDir: dir === ":memory:" ? null : dir };
}

export const USAGE = `chronik ${VERSION} — a Kafka-compatible broker

Usage: chronik [options]

  --host <addr>             interface to bind (default ${DEFAULT_CONFIG.host})
  --port <n>                TCP port, 0 picks a free one (default ${DEFAULT_CONFIG.port})
  --advertised-host <name>  host name given to clients in Metadata
  --advertised-port <n>     port given to clients in Metadata
  --storage <url>           where everything is kept (default file:${DEFAULT_DATA_DIR}):
                            file:<dir>    the embedded file engine in <dir>
                            memory:       in memory, gone at exit
                            postgres://user:pass@host:port/db[?pool=N]   in PostgreSQL
  --data-dir <dir>          same as --storage file:<dir>; :memory: same as --storage memory:
  --log-level <level>       ${LOG_LEVELS.join(" | ")} (default ${DEFAULT_CONFIG.logLevel})
  --node-id <n>             broker id (default ${DEFAULT_CONFIG.nodeId})
  --http-port <n>           serve /health, /ready, /metrics and /v1/... on this port (off by default;
                            on 127.0.0.1 unless -o chronik.http.host=<addr>)
  -o, --config <key=value>  any broker config by its Kafka name, e.g. -o num.partitions=3
  --add-scram <credential>  a SCRAM user, kafka-storage's form, repeatable:
                            'SCRAM-SHA-256=[name=alice,password=alice-secret]'
                            (created when the user has none for that mechanism)
  -h, --help                show this text
  -V, --version             print the version
`;

/** A bad command line; the message is meant for the user. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type ParsedArgs = { config: Partial<BrokerConfig>; help?: boolean; version?: boolean };

type FlagKind = "string" | "port" | "port1" | "int" | "level" | "storage";
const FLAGS: Record<string, { key: string; kind: FlagKind }> = {
  "--host": { key: "host", kind: "string" },
  "--port": { key: "port", kind: "port" },
  "--advertised-host": { key: "advertisedHost", kind: "string" },
  "--advertised-port": { key: "advertisedPort", kind: "port1" },
  "--data-dir": { key: "dataDir", kind: "string" },
  "--storage": { key: "storage", kind: "storage" },
  "--log-level": { key: "logLevel", kind: "level" },
  "--node-id": { key: "nodeId", kind: "int" },
  "--http-port": { key: "chronik.http.port", kind: "port" },
};

/** Known configs whose values come from a fixed set. */
const CHOICES: Record<string, readonly string[]> = {
  "log.message.timestamp.type": ["CreateTime", "LogAppendTime"],
  logLevel: LOG_LEVELS,
};

// Kafka config names: lower case words joined by dots (and the odd dash/underscore).
const KAFKA_NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/;

export function parseArgs(argv: string[]): ParsedArgs {
  const config: Record<string, unknown> = {};
  const out: ParsedArgs = { config: config as Partial<BrokerConfig> };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    if (arg.startsWith("--") && arg.includes("=")) {
      const eq = arg.indexOf("=");
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === "-h" || arg === "--help") {
      out.help = true;
    } else if (arg === "-V" || arg === "--version") {
      out.version = true;
    } else if (arg === "-o" || arg === "--config") {
      const kv = value();
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new UsageError(`${arg} expects key=value, got "${kv}"`);
      const key = kv.slice(0, eq);
      config[key] = configValue(key, kv.slice(eq + 1));
    } else if (arg === "--add-scram") {
      const spec = value();
      try {
        parseAddScram(spec);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      ((config["chronik.add.scram"] ??= []) as string[]).push(spec);
    } else if (Object.hasOwn(FLAGS, arg)) {
      const { key, kind } = FLAGS[arg];
      config[key] = flagValue(arg, kind, value());
    } else {
      throw new UsageError(`unknown argument "${argv[i]}" (try --help)`);
    }
  }
  if (config.storage !== undefined && config.dataDir !== undefined) {
    throw new UsageError("give --storage or --data-dir, not both (--data-dir <dir> is --storage file:<dir>)");
  }
  return out;
}

function flagValue(flag: string, kind: FlagKind, raw: string): unknown {
  switch (kind) {
    case "string":
      if (raw === "") throw new UsageError(`${flag} must not be empty`);
      return raw;
    case "storage":
      try {
        parseStorageUrl(raw);
      } catch (e) {
        throw new UsageError(`${flag}: ${(e as Error).message}`);
      }
      return raw;
    case "level":
      if (!isLogLevel(raw)) throw new UsageError(`${flag} must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
      return raw;
    case "port":
      return integer(flag, raw, 0, 65535);
    case "port1":
      return integer(flag, raw, 1, 65535);
    case "int":
      return integer(flag, raw, 0, 2 ** 31 - 1);
  }
}

function integer(name: string, raw: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return n;
}

function number(name: string, raw: string): number {
  const n = raw.trim() === "" ? NaN : Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`${name} must be a number, got "${raw}"`);
  return n;
}

/** Types a `-o key=value` by the key's default when we know it; unknown Kafka names keep their text unless it reads as a number or boolean. */
function configValue(key: string, raw: string): unknown {
  const flag = Object.entries(FLAGS).find(([, f]) => f.key === key);
  if (flag) return flagValue(`-o ${key}`, flag[1].kind, raw);
  if (Object.hasOwn(CHOICES, key)) {
    if (!CHOICES[key].includes(raw)) {
      throw new UsageError(`${key} must be one of ${CHOICES[key].join(", ")}, got "${raw}"`);
    }
    return raw;
  }
  if (Object.hasOwn(DEFAULT_CONFIG, key)) {
    const def = DEFAULT_CONFIG[key];
    if (typeof def === "boolean") {
      if (raw !== "true" && raw !== "false") throw new UsageError(`${key} must be true or false, got "${raw}"`);
      return raw === "true";
    }
    if (typeof def === "number") {
      return Number.isInteger(def)
        ? integer(key, raw, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
        : number(key, raw);
    }
    return raw;
  }
  if (!KAFKA_NAME.test(key) && !Object.hasOwn(BROKER_CONFIGS, key)) {
    throw new UsageError(`unknown config "${key}" (Kafka names look like num.partitions)`);
  }
  if (raw === "true" || raw === "false") return raw === "true";
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

/** What an entry point lends runMain besides the Runtime. */
export interface MainHost {
  /** Registers `fn` for SIGINT and SIGTERM (and whatever else means "stop"). */
  onSignal(fn: (signal: string) => void): void;
  /** Ends the program with this exit code. */
  exit(code: number): void;
  /** Writes to stdout (help, version). */
  print(text: string): void;
}

/**
 * Parses argv, starts the broker and waits for a signal: the first closes the
 * broker once and exits 0 (1 if closing failed), a second exits 1 at once.
 * Bad arguments exit 2, a failed start 1. Resolves with the exit code it passed to host.exit.
 */
export async function runMain(runtime: Runtime, argv: string[], host: MainHost): Promise<number> {
  const done = (code: number): number => {
    host.exit(code);
    return code;
  };
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    runtime.log("error", e.message);
    return done(2);
  }
  if (args.help) {
    host.print(USAGE);
    return done(0);
  }
  if (args.version) {
    host.print(`chronik ${VERSION}\n`);
    return done(0);
  }
  const rt = withLogLevel(runtime, args.config.logLevel ?? DEFAULT_CONFIG.logLevel);
  let closing = false;
  let stop: ((signal: string) => void) | null = null;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  // Registered before the (possibly slow) start so an early Ctrl-C is not lost.
  host.onSignal((signal) => {
    if (closing) {
      rt.log("warn", `${signal} again, exiting without waiting`);
      host.exit(1);
      return;
    }
    closing = true;
    stop?.(signal);
  });
  let broker: Broker;
  try {
    broker = await startBroker(rt, withDataDir(args.config));
  } catch (e) {
    rt.log("error", `failed to start: ${e instanceof Error ? e.message : String(e)}`);
    return done(1);
  }
  const signal = await stopped;
  rt.log("info", `${signal} received, shutting down`);
  try {
    await broker.close();
  } catch (e) {
    rt.log("error", `shutdown failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return done(1);
  }
  rt.log("info", "chronik stopped");
  return done(0);
}
