// Start-up configuration from three places besides the defaults: a file in Kafka's
// server.properties format (--config-file), the environment (CHRONIK_…) and the command line.
// Precedence: flag > env > file > default. Every value is checked with the same types and ranges
// as AlterConfigs (broker/config/broker_configs.ts) and a bad one stops the start with the reason;
// an unknown name is kept (DescribeConfigs shows it, as Kafka keeps configs plugins read) with a
// warning, as Kafka's "was supplied but isn't a known config".
import { parseStorageUrl } from "../storage/url.ts";
import { BROKER_CONFIGS } from "../broker/config/broker_configs.ts";
import { validateConfigValue } from "../broker/topic_configs.ts";
import type { BrokerConfig } from "../config.ts";
import { CHRONIK_CONFIGS, configDef, resolveConfig, typedConfigValue } from "../config.ts";
import { isLogLevel, LOG_FORMATS, LOG_LEVELS } from "../log.ts";

/** A bad command line or start-up config; the message is meant for the user. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type SourceKind = "flag" | "env" | "file" | "default";
/** Where a value came from: its kind and the exact place (`--port`, `CHRONIK_PORT`, `server.properties:12`). */
export type ValueSource = { kind: SourceKind; origin: string };

type FieldKind = "string" | "port" | "port1" | "int" | "level" | "format" | "storage";

/** Start-up settings that are not Kafka-named configs: BrokerConfig's own fields, with their flag. */
export const FIELDS: Readonly<Record<string, { flag: string; kind: FieldKind; doc: string }>> = {
  host: { flag: "--host", kind: "string", doc: "interface to bind" },
  port: { flag: "--port", kind: "port", doc: "TCP port, 0 picks a free one" },
  advertisedHost: { flag: "--advertised-host", kind: "string", doc: "host name given to clients in Metadata" },
  advertisedPort: { flag: "--advertised-port", kind: "port1", doc: "port given to clients in Metadata" },
  dataDir: { flag: "--data-dir", kind: "string", doc: "directory of the embedded store" },
  storage: { flag: "--storage", kind: "storage", doc: "storage URL: file:<dir>, memory: or postgres://..." },
  logLevel: { flag: "--log-level", kind: "level", doc: "log level" },
  logFormat: { flag: "--log-format", kind: "format", doc: "log line format" },
  nodeId: { flag: "--node-id", kind: "int", doc: "broker id" },
  "chronik.http.port": { flag: "--http-port", kind: "port", doc: "port of the HTTP side" },
};

/** `chronik start`'s own options besides FIELDS' flags, with their short alias ("" when none). */
export const START_OPTIONS: Readonly<Record<string, string>> = {
  "--config": "-o",
  "--config-file": "",
  "--add-scram": "",
  "--help": "-h",
  "--version": "-V",
};

/** Every long option `chronik start` takes (shell completion lists these). */
export function startFlags(): string[] {
  return [...Object.values(FIELDS).map((f) => f.flag), ...Object.keys(START_OPTIONS)];
}

/** Kafka names that set one of our fields (so a Kafka server.properties mostly works as it is). */
const KAFKA_ALIASES: Readonly<Record<string, string>> = {
  "node.id": "nodeId",
  "broker.id": "nodeId",
  "log.dirs": "dataDir",
  "log.dir": "dataDir",
};

/**
 * Topic configs Kafka 4.0 removed that 3.x tools still set at start-up or on topics: accepted,
 * ignored, one log line (broker-level names; the topic-level ones are in topic_configs.ts).
 */
export const REMOVED_BROKER_CONFIGS: ReadonlySet<string> = new Set([
  "log.message.format.version",
  "log.message.downconversion.enable",
  "inter.broker.protocol.version",
]);

// Kafka config names: lower case words joined by dots (and the odd dash/underscore).
const KAFKA_NAME = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/;

function integer(label: string, raw: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${label} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return n;
}

function fieldValue(label: string, kind: FieldKind, raw: string): unknown {
  switch (kind) {
    case "string":
      if (raw === "") throw new UsageError(`${label} must not be empty`);
      return raw;
    case "level":
      if (!isLogLevel(raw)) throw new UsageError(`${label} must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
      return raw;
    case "format":
      if (!(LOG_FORMATS as readonly string[]).includes(raw)) {
        throw new UsageError(`${label} must be one of ${LOG_FORMATS.join(", ")}, got "${raw}"`);
      }
      return raw;
    case "storage":
      try {
        parseStorageUrl(raw);
      } catch (e) {
        throw new UsageError(`${label}: ${(e as Error).message}`);
      }
      return raw;
    case "port":
      return integer(label, raw, 0, 65535);
    case "port1":
      return integer(label, raw, 1, 65535);
    case "int":
      return integer(label, raw, 0, 2 ** 31 - 1);
  }
}

/** The closest known name, for "did you mean" (Levenshtein distance at most 2). */
export function closestConfigName(name: string): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const k of [...Object.keys(BROKER_CONFIGS), ...Object.keys(CHRONIK_CONFIGS)]) {
    if (Math.abs(k.length - name.length) >= bestD) continue;
    const d = distance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

export type Setting = { key: string; value: unknown; warning?: string; ignored?: boolean };

/**
 * Checks one `name=value` and types it as BrokerConfig holds it. `label` names the place for
 * messages (`-o num.partitions`, `CHRONIK_NUM_PARTITIONS`, `server.properties:3`). Throws UsageError.
 */
export function startSetting(name: string, raw: string, label: string): Setting {
  const key = Object.hasOwn(KAFKA_ALIASES, name) ? KAFKA_ALIASES[name] : name;
  if (Object.hasOwn(FIELDS, key)) {
    let v = raw;
    // log.dirs is a list; one directory here.
    if (key === "dataDir" && name !== "dataDir") {
      const dirs = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      if (dirs.length !== 1) throw new UsageError(`${label}: one log directory only, got "${raw}"`);
      v = dirs[0];
    }
    return { key, value: fieldValue(label, FIELDS[key].kind, v) };
  }
  if (REMOVED_BROKER_CONFIGS.has(name)) {
    return { key: name, value: raw, ignored: true, warning: `${label}: ${name} was removed in Kafka 4.0; ignored` };
  }
  // Per-listener configs (listener.name.<listener>.<config>, listener.name.<listener>.<mechanism>.sasl.jaas.config)
  // are Kafka's too: checked as the config they name when we know it, kept as given otherwise.
  const perListener = /^listener\.name\.[a-z0-9_-]+\.(.+)$/.exec(name);
  const def = configDef(perListener ? perListener[1] : name);
  if (def) {
    const bad = validateConfigValue(name, def, raw);
    if (bad) throw new UsageError(`${label}: ${bad}`);
    return { key: name, value: typedConfigValue(def.type, raw.trim()) };
  }
  if (perListener) return { key: name, value: raw };
  if (!KAFKA_NAME.test(name)) throw new UsageError(`unknown config "${name}" (Kafka names look like num.partitions)`);
  const near = closestConfigName(name);
  const value = raw === "true" || raw === "false" ? raw === "true" : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  return {
    key: name,
    value,
    warning: `${label}: the configuration '${name}' was supplied but isn't a known config${
      near ? ` (did you mean ${near}?)` : ""
    }; kept as given`,
  };
}

/** Java properties (Kafka's server.properties): `key=value` or `key: value`, `#`/`!` comments, `\` continuations. */
export function parseProperties(text: string): { key: string; value: string; line: number }[] {
  const out: { key: string; value: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i].replace(/^\s+/, "");
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    // An odd number of trailing backslashes continues the line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i].replace(/^\s+/, "");
    }
    const m = /^((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$/.exec(line) ?? /^((?:\\.|[^=:\s\\])+)$/.exec(line);
    if (!m) continue;
    out.push({ key: unescape(m[1]), value: unescape(m[2] ?? ""), line: start });
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c === "f" ? "\f" : c;
  });
}

/** Environment variables the broker reads that are not configs. */
const ENV_NOT_CONFIG = new Set(["CHRONIK_CONFIG_FILE", "CHRONIK_BROKERS", "CHRONIK_PROFILE"]);
const ENV_FIELDS: Readonly<Record<string, string>> = {
  CHRONIK_HOST: "host",
  CHRONIK_PORT: "port",
  CHRONIK_ADVERTISED_HOST: "advertisedHost",
  CHRONIK_ADVERTISED_PORT: "advertisedPort",
  CHRONIK_DATA_DIR: "dataDir",
  CHRONIK_STORAGE: "storage",
  CHRONIK_LOG_LEVEL: "logLevel",
  CHRONIK_LOG_FORMAT: "logFormat",
  CHRONIK_NODE_ID: "nodeId",
  CHRONIK_HTTP_PORT: "chronik.http.port",
};

/**
 * The config name of a CHRONIK_ environment variable, as Confluent's images map KAFKA_ ones:
 * after the prefix, `_` is `.`, `__` is `_` and `___` is `-`, all lower case
 * (CHRONIK_NUM_PARTITIONS → num.partitions). Our chronik.* configs may drop their own prefix
 * (CHRONIK_FSYNC_ACKS_ALL → chronik.fsync.acks.all). The flags' settings have short names
 * (CHRONIK_PORT, CHRONIK_DATA_DIR, …). Null for variables that are not configs.
 */
export function envConfigName(variable: string): string | null {
  if (!variable.startsWith("CHRONIK_") || ENV_NOT_CONFIG.has(variable)) return null;
  if (Object.hasOwn(ENV_FIELDS, variable)) return ENV_FIELDS[variable];
  const name = variable.slice("CHRONIK_".length).toLowerCase()
    .replace(/___/g, "\u0001").replace(/__/g, "\u0002").replace(/_/g, ".")
    .replace(/\u0001/g, "-").replace(/\u0002/g, "_");
  if (name === "") return null;
  if (!configDef(name) && configDef(`chronik.${name}`)) return `chronik.${name}`;
  return name;
}

export type StartConfig = {
  /** What to hand startBroker: every setting given (not the defaults). */
  config: Partial<BrokerConfig>;
  sources: Map<string, ValueSource>;
  /** Lines to log at start (unknown names, ignored removed configs). */
  warnings: string[];
};

/** One layer's settings, in the order given. */
export type Layer = { kind: SourceKind; entries: { name: string; raw: string; origin: string }[] };

/** Merges layers, lowest precedence first: each value is checked; a later layer overrides an earlier one. */
export function mergeLayers(layers: Layer[]): StartConfig {
  const config: Record<string, unknown> = {};
  const sources = new Map<string, ValueSource>();
  const warnings: string[] = [];
  for (const layer of layers) {
    for (const e of layer.entries) {
      const s = startSetting(e.name, e.raw, e.origin);
      if (s.warning) warnings.push(s.warning);
      if (s.ignored) continue;
      config[s.key] = s.value;
      sources.set(s.key, { kind: layer.kind, origin: e.origin });
    }
  }
  return { config: config as Partial<BrokerConfig>, sources, warnings };
}

/** The file layer; throws UsageError for a missing file. */
export function fileLayer(path: string, text: string | null): Layer {
  if (text === null) throw new UsageError(`--config-file ${path}: no such file`);
  const base = path.split("/").pop() ?? path;
  return {
    kind: "file",
    entries: parseProperties(text).map((p) => ({ name: p.key, raw: p.value, origin: `${base}:${p.line}` })),
  };
}

/** The environment layer. */
export function envLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  const entries: Layer["entries"] = [];
  for (const variable of Object.keys(env).sort()) {
    const name = envConfigName(variable);
    const raw = env[variable];
    if (name === null || raw === undefined) continue;
    entries.push({ name, raw, origin: variable });
  }
  return { kind: "env", entries };
}

export type EffectiveEntry = { name: string; value: string | null; source: SourceKind; origin: string };

/** Every config with its effective start-up value and where it came from (`chronik config print`). */
export function effectiveConfig(start: StartConfig, defaultDataDir: string): EffectiveEntry[] {
  const resolved = resolveConfig(start.config) as Record<string, unknown>;
  const names = new Set<string>([
    ...Object.keys(FIELDS),
    ...Object.keys(BROKER_CONFIGS),
    ...Object.keys(CHRONIK_CONFIGS),
    ...Object.keys(start.config),
  ]);
  const out: EffectiveEntry[] = [];
  const show = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
  for (const name of [...names].sort()) {
    const src = start.sources.get(name);
    if (src) {
      const def = configDef(name);
      const value = def?.type === "password" ? "[hidden]" : show(resolved[name]);
      out.push({ name, value, source: src.kind, origin: src.origin });
      continue;
    }
    let value: string | null;
    if (name === "dataDir") value = defaultDataDir;
    else if (name === "logFormat") value = "text";
    // resolveConfig already holds DEFAULT_CONFIG (the fields' defaults); the table gives the rest.
    else value = show(resolved[name] ?? configDef(name)?.default ?? null);
    out.push({ name, value, source: "default", origin: "" });
  }
  return out;
}
