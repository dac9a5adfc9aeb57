// Topic-level configs: Kafka's names, types, defaults, short docs and the broker config each one
// falls back to (Kafka's synonym). Values are kept as strings (as the protocol carries them) and
// parsed where used. Broker configs live in config/broker_configs.ts and share the validator here.

export type ConfigType = "boolean" | "int" | "short" | "long" | "double" | "string" | "list" | "class" | "password";

export type ConfigDef = {
  type: ConfigType;
  /** Kafka's default, as a string; null when Kafka has none (derived from another config). */
  default: string | null;
  /** Our own one-line documentation (DescribeConfigs v3+ include_documentation). */
  doc: string;
  /** Allowed values, for enumerations (each item of a list). */
  oneOf?: readonly string[];
  /** Smallest allowed number. */
  min?: number;
  /** Largest allowed number. */
  max?: number;
};

export type TopicConfigDef = ConfigDef & {
  default: string;
  /** Broker config whose value is the topic default (Kafka's synonym). */
  brokerSynonym?: string;
  /** Kafka's internal configs: accepted when set, never listed by DescribeConfigs. */
  internal?: boolean;
};

const LONG_MAX = "9223372036854775807";

const t = (def: TopicConfigDef): TopicConfigDef => def;

export const TOPIC_CONFIGS: Readonly<Record<string, TopicConfigDef>> = {
  "cleanup.policy": t({
    type: "list",
    default: "delete",
    brokerSynonym: "log.cleanup.policy",
    oneOf: ["delete", "compact"],
    doc: "What to do with old segments: delete them (retention), compact them (keep the last value per key), or both.",
  }),
  "compression.type": t({
    type: "string",
    default: "producer",
    brokerSynonym: "compression.type",
    oneOf: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
    doc: "Codec the stored batches use; 'producer' keeps what the producer sent.",
  }),
  "compression.gzip.level": t({
    type: "int",
    default: "-1",
    brokerSynonym: "compression.gzip.level",
    min: -1,
    max: 9,
    doc: "gzip level when compression.type is gzip (-1: the codec's default).",
  }),
  "compression.lz4.level": t({
    type: "int",
    default: "9",
    brokerSynonym: "compression.lz4.level",
    min: 1,
    max: 17,
    doc: "lz4 level when compression.type is lz4.",
  }),
  "compression.zstd.level": t({
    type: "int",
    default: "3",
    brokerSynonym: "compression.zstd.level",
    min: -131072,
    max: 22,
    doc: "zstd level when compression.type is zstd.",
  }),
  "delete.retention.ms": t({
    type: "long",
    default: "86400000",
    brokerSynonym: "log.cleaner.delete.retention.ms",
    min: 0,
    doc: "How long delete markers (tombstones) stay in a compacted topic.",
  }),
  "file.delete.delay.ms": t({
    type: "long",
    default: "60000",
    brokerSynonym: "log.segment.delete.delay.ms",
    min: 0,
    doc: "Delay before a deleted segment's file is removed.",
  }),
  "flush.messages": t({
    type: "long",
    default: LONG_MAX,
    brokerSynonym: "log.flush.interval.messages",
    min: 1,
    doc: "Force an fsync after this many messages.",
  }),
  "flush.ms": t({
    type: "long",
    default: LONG_MAX,
    brokerSynonym: "log.flush.interval.ms",
    min: 0,
    doc: "Force an fsync after this many milliseconds.",
  }),
  "follower.replication.throttled.replicas": t({
    type: "list",
    default: "",
    doc: "Replicas whose follower replication is throttled (no followers on one node).",
  }),
  "index.interval.bytes": t({
    type: "int",
    default: "4096",
    brokerSynonym: "log.index.interval.bytes",
    min: 0,
    doc: "Bytes between entries of the sparse offset index.",
  }),
  "leader.replication.throttled.replicas": t({
    type: "list",
    default: "",
    doc: "Replicas whose leader-side replication is throttled (no followers on one node).",
  }),
  "local.retention.bytes": t({
    type: "long",
    default: "-2",
    brokerSynonym: "log.local.retention.bytes",
    min: -2,
    doc: "Local bytes kept when tiered storage is on (-2: retention.bytes).",
  }),
  "local.retention.ms": t({
    type: "long",
    default: "-2",
    brokerSynonym: "log.local.retention.ms",
    min: -2,
    doc: "Local time kept when tiered storage is on (-2: retention.ms).",
  }),
  "max.compaction.lag.ms": t({
    type: "long",
    default: LONG_MAX,
    brokerSynonym: "log.cleaner.max.compaction.lag.ms",
    min: 1,
    doc: "Longest a message may stay uncompacted.",
  }),
  "max.message.bytes": t({
    type: "int",
    default: "1048588",
    brokerSynonym: "message.max.bytes",
    min: 0,
    doc: "Largest record batch the topic accepts, in bytes.",
  }),
  "message.timestamp.after.max.ms": t({
    type: "long",
    default: "3600000", // Kafka 4.0 (KIP-1030): one hour
    brokerSynonym: "log.message.timestamp.after.max.ms",
    min: 0,
    doc: "How far in the future a CreateTime timestamp may be.",
  }),
  "message.timestamp.before.max.ms": t({
    type: "long",
    default: LONG_MAX,
    brokerSynonym: "log.message.timestamp.before.max.ms",
    min: 0,
    doc: "How far in the past a CreateTime timestamp may be.",
  }),
  "message.timestamp.difference.max.ms": t({
    type: "long",
    default: LONG_MAX,
    brokerSynonym: "log.message.timestamp.difference.max.ms",
    min: 0,
    doc: "Deprecated: largest allowed difference between a record's timestamp and the broker's clock.",
  }),
  "message.timestamp.type": t({
    type: "string",
    default: "CreateTime",
    brokerSynonym: "log.message.timestamp.type",
    oneOf: ["CreateTime", "LogAppendTime"],
    doc: "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock.",
  }),
  "min.cleanable.dirty.ratio": t({
    type: "double",
    default: "0.5",
    brokerSynonym: "log.cleaner.min.cleanable.ratio",
    min: 0,
    max: 1,
    doc: "Share of uncompacted log that triggers compaction.",
  }),
  "min.compaction.lag.ms": t({
    type: "long",
    default: "0",
    brokerSynonym: "log.cleaner.min.compaction.lag.ms",
    min: 0,
    doc: "Shortest time a message stays uncompacted.",
  }),
  "min.insync.replicas": t({
    type: "int",
    default: "1",
    brokerSynonym: "min.insync.replicas",
    min: 1,
    doc:
      "Replicas that must have a write for acks=all to succeed; above 1 on one node, acks=all fails with NOT_ENOUGH_REPLICAS.",
  }),
  "preallocate": t({
    type: "boolean",
    default: "false",
    brokerSynonym: "log.preallocate",
    doc: "Preallocate segment files.",
  }),
  "remote.log.copy.disable": t({
    type: "boolean",
    default: "false",
    doc: "Stop copying segments to tiered storage (no tiered storage here).",
  }),
  "remote.log.delete.on.disable": t({
    type: "boolean",
    default: "false",
    doc: "Delete tiered data when tiering is turned off (no tiered storage here).",
  }),
  "remote.storage.enable": t({
    type: "boolean",
    default: "false",
    doc: "Tiered storage for the topic (not supported here).",
  }),
  "retention.bytes": t({
    type: "long",
    default: "-1",
    brokerSynonym: "log.retention.bytes",
    doc: "Largest size of a partition before old segments are deleted (-1: no limit).",
  }),
  "retention.ms": t({
    type: "long",
    default: "604800000",
    brokerSynonym: "log.retention.ms",
    min: -1,
    doc: "How long to keep data before deleting old segments (-1: forever).",
  }),
  "segment.bytes": t({
    type: "int",
    default: "1073741824",
    brokerSynonym: "log.segment.bytes",
    // Kafka 4.0 (KIP-1030): at least 1 MiB, so that tiny segments cannot take a descriptor per record.
    min: 1048576,
    doc: "Size at which a new segment is started.",
  }),
  "internal.segment.bytes": t({
    type: "int",
    default: "",
    internal: true,
    min: 14,
    doc: "Kafka 4.0's internal override of segment.bytes without its minimum, for tests; unset by default.",
  }),
  "segment.index.bytes": t({
    type: "int",
    default: "10485760",
    brokerSynonym: "log.index.size.max.bytes",
    min: 4,
    doc: "Largest size of a segment's offset index.",
  }),
  "segment.jitter.ms": t({
    type: "long",
    default: "0",
    brokerSynonym: "log.roll.jitter.ms",
    min: 0,
    doc: "Random jitter subtracted from segment.ms.",
  }),
  "segment.ms": t({
    type: "long",
    default: "604800000",
    brokerSynonym: "log.roll.ms",
    min: 1,
    doc: "Age at which a new segment is started.",
  }),
  "unclean.leader.election.enable": t({
    type: "boolean",
    default: "false",
    brokerSynonym: "unclean.leader.election.enable",
    doc: "Allow out-of-sync replicas to become leader (one node: no effect).",
  }),
  // Confluent Server's (and Redpanda's) broker-side schema validation: see registry/validation.ts.
  "confluent.key.schema.validation": t({
    type: "boolean",
    default: "false",
    doc: "Refuse records whose key does not start with a schema id the schema registry knows.",
  }),
  "confluent.value.schema.validation": t({
    type: "boolean",
    default: "false",
    doc: "Refuse records whose value does not start with a schema id the schema registry knows.",
  }),
};

/** Checks a value against a config definition; returns Kafka's error message, or null when valid. */
export function validateConfigValue(name: string, def: ConfigDef, value: string): string | null {
  const bad = `Invalid value ${value} for configuration ${name}`;
  const range = (n: number | bigint): string | null => {
    if (def.min !== undefined && n < def.min) {
      return def.max !== undefined
        ? `${bad}: Value must be in [${def.min},...,${def.max}]`
        : `${bad}: Value must be at least ${def.min}`;
    }
    if (def.max !== undefined && n > def.max) {
      return def.min !== undefined
        ? `${bad}: Value must be in [${def.min},...,${def.max}]`
        : `${bad}: Value must be no more than ${def.max}`;
    }
    return null;
  };
  switch (def.type) {
    case "boolean": {
      const b = value.trim().toLowerCase();
      if (b !== "true" && b !== "false") return `${bad}: Expected value to be either true or false`;
      break;
    }
    case "short":
    case "int":
    case "long": {
      const s = value.trim();
      const bits = def.type === "short" ? 15n : def.type === "int" ? 31n : 63n;
      if (!/^[-+]?\d+$/.test(s)) return `${bad}: Not a number of type ${def.type.toUpperCase()}`;
      const n = BigInt(s);
      if (n < -(2n ** bits) || n > 2n ** bits - 1n) return `${bad}: Not a number of type ${def.type.toUpperCase()}`;
      return range(n);
    }
    case "double": {
      const n = Number(value.trim());
      if (value.trim() === "" || !Number.isFinite(n)) return `${bad}: Not a number of type DOUBLE`;
      return range(n);
    }
    case "list":
      if (def.oneOf) {
        for (const item of splitList(value)) {
          if (!def.oneOf.includes(item)) return `${bad}: String must be one of: ${def.oneOf.join(", ")}`;
        }
      }
      break;
    default:
      if (def.oneOf && !def.oneOf.includes(value.trim())) {
        return `${bad}: String must be one of: ${def.oneOf.join(", ")}`;
      }
  }
  return null;
}

/** Kafka's list format: comma separated, items trimmed, empty items dropped. */
export function splitList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * Topic configs Kafka 4.0 removed (KIP-724) that 3.x clients and tools still send (librdkafka's
 * tests set message.format.version): accepted and ignored with a log line, not INVALID_CONFIG.
 */
export const REMOVED_TOPIC_CONFIGS: ReadonlySet<string> = new Set([
  "message.format.version",
  "message.downconversion.enable",
]);

/** Removes the configs Kafka 4.0 no longer has from `set`; returns their names (to log). */
export function dropRemovedTopicConfigs(set: Map<string, string>): string[] {
  const dropped = [...set.keys()].filter((k) => REMOVED_TOPIC_CONFIGS.has(k));
  for (const k of dropped) set.delete(k);
  return dropped;
}

/** Checks one topic config value; returns an error message, or null when valid. */
export function validateTopicConfig(name: string, value: string | null): string | null {
  const def = Object.hasOwn(TOPIC_CONFIGS, name) ? TOPIC_CONFIGS[name] : undefined;
  if (!def) return `Unknown topic config name: ${name}`;
  if (value === null) return `Null value not supported for topic configs: ${name}`;
  return validateConfigValue(name, def, value);
}

/** Checks a whole set of topic configs, including rules across configs (Kafka's LogConfig.validate). */
export function validateTopicConfigs(set: ReadonlyMap<string, string>, broker: BrokerValues): string | null {
  for (const [name, value] of set) {
    const err = validateTopicConfig(name, value);
    if (err) return err;
  }
  const min = BigInt(effectiveTopicConfig(set, "min.compaction.lag.ms", broker).trim());
  const max = BigInt(effectiveTopicConfig(set, "max.compaction.lag.ms", broker).trim());
  if (min > max) {
    return `conflict topic config setting min.compaction.lag.ms (${min}) > max.compaction.lag.ms (${max})`;
  }
  return null;
}

/**
 * Where a topic's defaults come from: the broker config object (static values), or a lookup that
 * also sees dynamic broker configs (config/configs.ts), returning null when a config has no value.
 */
export type BrokerValues = Record<string, unknown> | ((name: string) => string | null | undefined);

/** A topic config's effective value: set on the topic, else the broker's synonym, else Kafka's default. */
export function effectiveTopicConfig(
  set: ReadonlyMap<string, string | null>,
  name: string,
  broker: BrokerValues,
): string {
  const v = set.get(name);
  if (v !== undefined && v !== null) return v;
  const def = Object.hasOwn(TOPIC_CONFIGS, name) ? TOPIC_CONFIGS[name] : undefined;
  if (def?.brokerSynonym !== undefined) {
    const b = typeof broker === "function" ? broker(def.brokerSynonym) : broker[def.brokerSynonym];
    if (b !== undefined && b !== null) return String(b);
  }
  return def?.default ?? "";
}
