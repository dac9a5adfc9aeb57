// Broker configuration: Kafka's names where Kafka has one, its defaults where it has them.
import { BROKER_CONFIGS } from "./broker/config/broker_configs.ts";
import type { ConfigDef } from "./broker/topic_configs.ts";
import type { LogLevel } from "./runtime.ts";
import { OBJECT_CONFIG_DEFAULTS } from "./storage/objects/config.ts";
import { PG_REQUEST_TIMEOUT_MS } from "./storage/postgres/client.ts";

export type BrokerConfig = {
  /** Interface to bind. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Host name clients are told to connect to (Metadata); defaults to `host`, or 127.0.0.1 when binding 0.0.0.0. */
  advertisedHost: string | null;
  /** Port clients are told; defaults to the bound port. */
  advertisedPort: number | null;
  /** Directory of the embedded store; null keeps everything in memory. Same as storage file:<dir>. */
  dataDir: string | null;
  /**
   * Storage URL (src/storage/url.ts): file:<dir>, memory:, postgres://user:pass@host:port/db.
   * When null, dataDir decides (file:<dataDir>, or memory: without one).
   */
  storage: string | null;
  logLevel: LogLevel;
  nodeId: number;
  /** Kafka's cluster id form (22-char base64url uuid); generated and persisted when null. */
  clusterId: string | null;
  "auto.create.topics.enable": boolean;
  "num.partitions": number;
  "default.replication.factor": number;
  "socket.request.max.bytes": number;
  "message.max.bytes": number;
  "log.message.timestamp.type": "CreateTime" | "LogAppendTime";
  /** Kafka's group.initial.rebalance.delay.ms etc. join later; unknown keys are kept for DescribeConfigs. */
  [key: string]: unknown;
};

/**
 * Our own configs (Kafka has no such names): type, default and doc, validated like Kafka's.
 * Kafka's configs are defined once, in broker/config/broker_configs.ts.
 */
export const CHRONIK_CONFIGS: Readonly<Record<string, ConfigDef>> = {
  "chronik.fsync.acks.all": {
    type: "boolean",
    default: "true",
    doc: "acks=all is answered only once the batch is fsynced, in a group commit shared by all producers and " +
      "partitions; false: once the OS has the bytes (Kafka's behaviour).",
  },
  "chronik.fsync.group.commit.ms": {
    type: "long",
    default: "0",
    min: 0,
    doc: "How long a group commit waits for more appends after the first; 0 = next round at once.",
  },
  "chronik.http.port": {
    type: "int",
    default: null,
    min: 0,
    max: 65535,
    doc: "Port of the HTTP side (/health, /ready, /metrics, /v1/...); off when unset.",
  },
  "chronik.http.host": { type: "string", default: "127.0.0.1", doc: "Interface of the HTTP side." },
  "chronik.producer.snapshot.interval.ms": {
    type: "long",
    default: "30000",
    min: 1,
    doc: "How often producer states are snapshotted (bounds the replay after an unclean stop).",
  },
  "chronik.log.open.files.max": {
    type: "int",
    default: "1000",
    min: 1,
    doc: "Segment files the file engine keeps open at once; idle ones beyond are closed and reopened when needed.",
  },
  "chronik.request.max.entries": {
    type: "int",
    default: "100000",
    min: 1,
    doc: "Array entries (all arrays together) one request may hold; a request with more closes its connection.",
  },
  "chronik.http.allowed.hosts": {
    type: "list",
    default: "",
    doc: "Host names the HTTP side answers besides IP addresses, localhost and the advertised host (* for any).",
  },
  "chronik.postgres.request.timeout.ms": {
    type: "long",
    default: String(PG_REQUEST_TIMEOUT_MS),
    min: 0,
    doc: "postgres:// storage: a PostgreSQL connection with no reply for this long (or not started in this time) " +
      "is closed and its statements fail (produce answers the retriable KAFKA_STORAGE_ERROR); also the server's " +
      "statement_timeout. 0: wait forever.",
  },
  // Record data in an object store (postgres:// storage only; src/storage/objects/config.ts reads them).
  "chronik.object.store": {
    type: "string",
    default: null,
    doc: "s3://bucket/prefix: record data in objects, PostgreSQL (the storage URL) as index and sequencer.",
  },
  "chronik.s3.endpoint": {
    type: "string",
    default: null,
    doc: "S3 endpoint URL (MinIO, versitygw, ...); else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then AWS.",
  },
  "chronik.s3.region": {
    type: "string",
    default: null,
    doc: "S3 region; else AWS_REGION, AWS_DEFAULT_REGION, us-east-1.",
  },
  "chronik.s3.access.key.id": { type: "string", default: null, doc: "S3 access key id; else AWS_ACCESS_KEY_ID." },
  "chronik.s3.secret.access.key": {
    type: "password",
    default: null,
    doc: "S3 secret access key; else AWS_SECRET_ACCESS_KEY.",
  },
  "chronik.s3.path.style": {
    type: "boolean",
    default: null,
    doc: "Path-style bucket addressing; default true with an explicit endpoint, false for AWS.",
  },
  "chronik.object.flush.ms": {
    type: "long",
    default: String(OBJECT_CONFIG_DEFAULTS["chronik.object.flush.ms"]),
    min: 0,
    doc: "An object is cut this long after the first waiting append.",
  },
  "chronik.object.flush.bytes": {
    type: "long",
    default: String(OBJECT_CONFIG_DEFAULTS["chronik.object.flush.bytes"]),
    min: 1,
    doc: "... or as soon as this many bytes wait.",
  },
  "chronik.object.cache.bytes": {
    type: "long",
    default: String(OBJECT_CONFIG_DEFAULTS["chronik.object.cache.bytes"]),
    min: 0,
    doc: "Bound of the object read cache.",
  },
  "chronik.object.cache.block.bytes": {
    type: "long",
    default: String(OBJECT_CONFIG_DEFAULTS["chronik.object.cache.block.bytes"]),
    min: 1,
    doc: "Block of the read cache (one ranged GET fetches whole blocks).",
  },
  "chronik.object.gc.interval.ms": {
    type: "long",
    default: String(OBJECT_CONFIG_DEFAULTS["chronik.object.gc.interval.ms"]),
    min: 0,
    doc: "How often unreferenced objects are deleted (0: never in the background).",
  },
  "chronik.object.orphan.grace.ms": {
    type: "long",
    default: String(OBJECT_CONFIG_DEFAULTS["chronik.object.orphan.grace.ms"]),
    min: 60000,
    doc: "Objects never committed are deleted once this old.",
  },
  "chronik.object.compact.interval.ms": {
    type: "long",
    default: String(OBJECT_CONFIG_DEFAULTS["chronik.object.compact.interval.ms"]),
    min: 0,
    doc: "How often small objects are compacted into larger ones (0: off).",
  },
  "chronik.add.scram": { type: "list", default: null, doc: "SCRAM users created at start (--add-scram)." },
  "chronik.test.drop.produce.response.every": {
    type: "int",
    default: "0",
    min: 0,
    doc: "Test hook: drop every Nth produce response (0: never).",
  },
};

/** Kafka-named configs that BrokerConfig always carries (the storage layer and handlers read them as typed values). */
const TYPED_AT_START = [
  "auto.create.topics.enable",
  "num.partitions",
  "default.replication.factor",
  "socket.request.max.bytes",
  "message.max.bytes",
  "log.message.timestamp.type",
  "log.segment.bytes",
  "log.roll.hours",
  "log.index.size.max.bytes",
  "log.index.interval.bytes",
  "log.retention.hours",
  "log.retention.bytes",
  "log.retention.check.interval.ms",
  "log.segment.delete.delay.ms",
  "log.flush.interval.messages",
  "log.flush.scheduler.interval.ms",
  "log.cleanup.policy",
  "log.cleaner.enable",
  "log.cleaner.backoff.ms",
  "log.cleaner.delete.retention.ms",
  "log.cleaner.min.cleanable.ratio",
  "log.cleaner.min.compaction.lag.ms",
  "compression.type",
  "chronik.fsync.acks.all",
  "chronik.fsync.group.commit.ms",
];

/** The definition of a config by name: Kafka's broker configs, then ours; undefined when unknown. */
export function configDef(name: string): ConfigDef | undefined {
  if (Object.hasOwn(BROKER_CONFIGS, name)) return BROKER_CONFIGS[name];
  if (Object.hasOwn(CHRONIK_CONFIGS, name)) return CHRONIK_CONFIGS[name];
  return undefined;
}

/**
 * A config's text (as the protocol and config files carry it) typed the way BrokerConfig holds it
 * (start-up values and live dynamic ones alike). A long is Kafka's signed 64-bit LONG: a number while
 * exact (|v| <= 2^53 - 1), else kept as its decimal text, so `9223372036854775807` reads back as given
 * (DescribeConfigs, config print) instead of as the nearest double; configNumber reads either.
 */
export function typedConfigValue(type: ConfigDef["type"] | undefined, v: string): unknown {
  switch (type) {
    case "boolean":
      return v.trim().toLowerCase() === "true";
    case "int":
    case "short":
    case "double":
      return Number(v.trim());
    case "long": {
      const t = v.trim();
      const n = Number(t);
      return Number.isSafeInteger(n) || !/^-?\d+$/.test(t) ? n : t;
    }
    default:
      return v;
  }
}

function tableDefault(name: string): unknown {
  const def = configDef(name);
  if (!def || def.default === null) throw new Error(`no default for ${name}`);
  return typedConfigValue(def.type, def.default);
}

export const DEFAULT_CONFIG: BrokerConfig = {
  host: "127.0.0.1",
  port: 9092,
  advertisedHost: null,
  advertisedPort: null,
  dataDir: null,
  storage: null,
  logLevel: "info",
  nodeId: 0,
  clusterId: null,
  ...Object.fromEntries(TYPED_AT_START.map((n) => [n, tableDefault(n)])),
} as BrokerConfig;

/** A config's value as a number: the live value when set, else its default from the one table (NaN when neither). */
export function configNumber(config: Readonly<Record<string, unknown>>, name: string): number {
  const v = config[name];
  if (v !== undefined && v !== null && v !== "") return Number(v);
  const d = configDef(name)?.default;
  return d === undefined || d === null ? NaN : Number(d);
}

/** A config's value as a string (live value, else the table's default, else null). */
export function configString(config: Readonly<Record<string, unknown>>, name: string): string | null {
  const v = config[name];
  if (v !== undefined && v !== null) return String(v);
  return configDef(name)?.default ?? null;
}

/** A config's value as a boolean (live value, else the table's default, else false). */
export function configBoolean(config: Readonly<Record<string, unknown>>, name: string): boolean {
  const v = config[name];
  if (typeof v === "boolean") return v;
  return (v !== undefined && v !== null ? String(v) : configDef(name)?.default ?? "false").trim().toLowerCase() ===
    "true";
}

/** Kafka's hours/minutes/ms triples: the most precise one set wins, as in KafkaConfig. */
function derive(c: Record<string, unknown>, ms: string, minutes: string | null, hours: string): void {
  if (c[ms] !== undefined && c[ms] !== null) return;
  if (minutes !== null && c[minutes] !== undefined && c[minutes] !== null) c[ms] = Number(c[minutes]) * 60000;
  else if (c[hours] !== undefined && c[hours] !== null) c[ms] = Number(c[hours]) * 3600000;
}

export function resolveConfig(partial: Partial<BrokerConfig> = {}): BrokerConfig {
  const c = { ...DEFAULT_CONFIG, ...partial } as BrokerConfig;
  derive(c, "log.retention.ms", "log.retention.minutes", "log.retention.hours");
  derive(c, "log.roll.ms", null, "log.roll.hours");
  // log.flush.interval.ms defaults to log.flush.scheduler.interval.ms in Kafka.
  if (c["log.flush.interval.ms"] === undefined) c["log.flush.interval.ms"] = c["log.flush.scheduler.interval.ms"];
  return c;
}
