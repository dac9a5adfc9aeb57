// `chronik` / `chronik start`: run the broker. Flags, --config-file and CHRONIK_… settings are
// merged (flag > env > file > default, start_config.ts) and checked before anything opens.
import { parseAddScram } from "../broker/auth/auth.ts";
import type { Broker } from "../broker/broker.ts";
import { startBroker } from "../broker/broker.ts";
import type { BrokerConfig } from "../config.ts";
import { DEFAULT_CONFIG } from "../config.ts";
import type { LogFormat } from "../log.ts";
import { LOG_FORMATS, LOG_LEVELS, logSettings, withLogLevel } from "../log.ts";
import type { LogLevel, Runtime } from "../runtime.ts";
import { VERSION_STRING } from "../version.ts";
import { keyValue } from "./admin/context.ts";
import type { MainHost } from "./host.ts";
import type { Layer, StartConfig } from "./start_config.ts";
import {
  effectiveConfig,
  envLayer,
  FIELDS,
  fileLayer,
  mergeLayers,
  START_OPTIONS,
  UsageError,
} from "./start_config.ts";

export const VERSION: string = VERSION_STRING;

/** Where the command line keeps data unless --data-dir says otherwise (startBroker alone uses memory). */
export const DEFAULT_DATA_DIR = "./data";

/**
 * The command line's storage: --storage when given (then no data dir), else the data dir (./data by
 * default; null, i.e. memory, for `--data-dir :memory:`).
 */
export function withDataDir(config: Partial<BrokerConfig>): Partial<BrokerConfig> {
  if (typeof config.storage === "string") {
    if (config.dataDir !== undefined && config.dataDir !== null && config.dataDir !== DEFAULT_DATA_DIR) {
      throw new UsageError("give --storage or --data-dir, not both (--data-dir <dir> is --storage file:<dir>)");
    }
    return { ...config, dataDir: null };
  }
  const dir = config.dataDir === undefined ? DEFAULT_DATA_DIR : config.dataDir;
  return { ...config, dataDir: dir === ":memory:" ? null : dir };
}

export const USAGE = `chronik ${VERSION} — a Kafka-compatible broker

Usage: chronik [start] [options]          run the broker
       chronik <command> [options]        administer a running broker (chronik help)

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
  --log-format <format>     ${LOG_FORMATS.join(" | ")} (default text; json: one object per line)
  --node-id <n>             broker id (default ${DEFAULT_CONFIG.nodeId})
  --http-port <n>           serve /health, /ready, /metrics and /v1/... on this port (off by default;
                            on 127.0.0.1 unless -o chronik.http.host=<addr>)
  -o, --config <key=value>  any broker config by its Kafka name, e.g. -o num.partitions=3
  --config-file <path>      configs in Kafka's server.properties format (env CHRONIK_CONFIG_FILE)
  --add-scram <credential>  a SCRAM user, kafka-storage's form, repeatable:
                            'SCRAM-SHA-256=[name=alice,password=alice-secret]'
                            (created when the user has none for that mechanism)
  -h, --help                show this text
  -V, --version             print the version

Environment: CHRONIK_<NAME> sets a config (CHRONIK_NUM_PARTITIONS=3: '_' is '.', '__' is '_',
'___' is '-'), plus CHRONIK_HOST, CHRONIK_PORT, CHRONIK_DATA_DIR, CHRONIK_LOG_LEVEL, CHRONIK_NODE_ID...
Precedence: flag > environment > config file > default. See the effective config with
'chronik config print' (same options).
`;

export type ParsedArgs = {
  /** The command line's own settings (flags and -o), checked and typed. */
  config: Partial<BrokerConfig>;
  help?: boolean;
  version?: boolean;
  configFile?: string;
  /** The command line as a layer (merged over env and file by loadStartConfig). */
  layer: Layer;
  /** Unknown or ignored names given on the command line. */
  warnings: string[];
};

const FLAG_FIELD: Record<string, string> = Object.fromEntries(
  Object.entries(FIELDS).map(([key, f]) => [f.flag, key]),
);
const SHORT: Record<string, string> = Object.fromEntries(
  Object.entries(START_OPTIONS).filter(([, short]) => short !== "").map(([long, short]) => [short, long]),
);

export function parseArgs(argv: string[]): ParsedArgs {
  const layer: Layer = { kind: "flag", entries: [] };
  const scram: string[] = [];
  const out: Omit<ParsedArgs, "config" | "warnings"> = { layer };
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
    const name = SHORT[arg] ?? arg;
    if (name === "--help") {
      out.help = true;
    } else if (name === "--version") {
      out.version = true;
    } else if (name === "--config") {
      const [key, raw] = keyValue(value(), arg);
      layer.entries.push({ name: key, raw, origin: `-o ${key}` });
    } else if (name === "--config-file") {
      out.configFile = value();
      if (out.configFile === "") throw new UsageError("--config-file must not be empty");
    } else if (name === "--add-scram") {
      const spec = value();
      try {
        parseAddScram(spec);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      scram.push(spec);
    } else if (Object.hasOwn(FLAG_FIELD, arg)) {
      layer.entries.push({ name: FLAG_FIELD[arg], raw: value(), origin: arg });
    } else {
      throw new UsageError(`unknown argument "${argv[i]}" (try --help)`);
    }
  }
  const named = new Set(layer.entries.map((e) => e.name));
  if (named.has("storage") && named.has("dataDir")) {
    throw new UsageError("give --storage or --data-dir, not both (--data-dir <dir> is --storage file:<dir>)");
  }
  const merged = mergeLayers([layer]);
  const config = merged.config as Record<string, unknown>;
  if (scram.length > 0) config["chronik.add.scram"] = scram;
  return { ...out, config: config as Partial<BrokerConfig>, warnings: merged.warnings };
}

/** Flags over CHRONIK_… over the config file (--config-file or CHRONIK_CONFIG_FILE). */
export async function loadStartConfig(
  runtime: Runtime,
  args: ParsedArgs,
  env: Readonly<Record<string, string | undefined>>,
): Promise<StartConfig> {
  const layers: Layer[] = [];
  const path = args.configFile ?? env.CHRONIK_CONFIG_FILE;
  if (path !== undefined && path !== "") {
    const bytes = await runtime.fs.readFile(path);
    layers.push(fileLayer(path, bytes === null ? null : new TextDecoder().decode(bytes)));
  }
  layers.push(envLayer(env), args.layer);
  const start = mergeLayers(layers);
  const scram = (args.config as Record<string, unknown>)["chronik.add.scram"];
  if (scram !== undefined) (start.config as Record<string, unknown>)["chronik.add.scram"] = scram;
  return start;
}

/** `chronik config print`: the effective start-up config and where each value came from. */
export async function printConfig(
  runtime: Runtime,
  argv: string[],
  host: MainHost,
  json: boolean,
): Promise<number> {
  const args = parseArgs(argv);
  const start = await loadStartConfig(runtime, args, host.env ?? {});
  const rows = effectiveConfig(start, DEFAULT_DATA_DIR);
  if (json) {
    host.print(JSON.stringify({ configs: rows, warnings: start.warnings }, null, 2) + "\n");
    return 0;
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  const vw = Math.min(40, Math.max(...rows.map((r) => (r.value ?? "").length)));
  let text = "";
  for (const r of rows) {
    const src = r.source === "default" ? "default" : `${r.source} (${r.origin})`;
    text += `${r.name.padEnd(w)}  ${(r.value ?? "(unset)").padEnd(vw)}  ${src}\n`;
  }
  for (const warning of start.warnings) text += `warning: ${warning}\n`;
  host.print(text);
  return 0;
}

/**
 * Starts the broker and waits for a signal: the first closes the broker once and exits 0 (1 if
 * closing failed), a second exits 1 at once. Bad arguments or configs exit 2, a failed start 1.
 */
export async function runBroker(runtime: Runtime, argv: string[], host: MainHost): Promise<number> {
  const done = (code: number): number => {
    host.exit(code);
    return code;
  };
  let args: ParsedArgs;
  let start: StartConfig;
  try {
    args = parseArgs(argv);
    if (args.help) {
      host.print(USAGE);
      return done(0);
    }
    if (args.version) {
      host.print(`chronik ${VERSION}\n`);
      return done(0);
    }
    start = await loadStartConfig(runtime, args, host.env ?? {});
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    runtime.log("error", e.message);
    return done(2);
  }
  const config = start.config as Record<string, unknown>;
  const level = (config.logLevel as LogLevel | undefined) ?? DEFAULT_CONFIG.logLevel;
  logSettings.threshold = level;
  logSettings.format = (config.logFormat as LogFormat | undefined) ?? "text";
  delete config.logFormat;
  // The broker's live config: IncrementalAlterConfigs on BROKER_LOGGER (root=DEBUG) changes its
  // logLevel at run time; the filter and the adapters' own lines follow it.
  let live: { logLevel: LogLevel } | null = null;
  const rt = withLogLevel(runtime, () => {
    const now = live?.logLevel ?? level;
    logSettings.threshold = now;
    return now;
  });
  for (const w of start.warnings) rt.log("warn", w);
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
    broker = await startBroker(rt, withDataDir(start.config), { env: host.env ?? {} });
    live = broker.services.config;
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
