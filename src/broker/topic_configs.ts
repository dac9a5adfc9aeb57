// Topic-level configs: Kafka's names, defaults and the broker config each one falls back to.
// Values are kept as strings (as the protocol carries them) and parsed where used.

export type ConfigType = "boolean" | "int" | "long" | "double" | "string" | "list" | "class" | "password";

export type TopicConfigDef = {
  type: ConfigType;
  default: string;
  /** Broker config whose value is the topic default (Kafka's synonym). */
  brokerSynonym?: string;
  /** Allowed values, for enumerations. */
  oneOf?: readonly string[];
  /** Smallest allowed number. */
  min?: number;
};

const LONG_MAX = "9223372036854775807";

export const TOPIC_CONFIGS: Readonly<Record<string, TopicConfigDef>> = {
  "cleanup.policy": { type: "list", default: "delete", brokerSynonym: "log.cleanup.policy", oneOf: ["delete", "compact"] },
  "compression.type": {
    type: "string",
    default: "producer",
    brokerSynonym: "compression.type",
    oneOf: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
  },
  "delete.retention.ms": { type: "long", default: "86400000", brokerSynonym: "log.cleaner.delete.retention.ms", min: 0 },
  "file.delete.delay.ms": { type: "long", default: "60000", brokerSynonym: "log.segment.delete.delay.ms", min: 0 },
  "flush.messages": { type: "long", default: LONG_MAX, brokerSynonym: "log.flush.interval.messages", min: 1 },
  "flush.ms": { type: "long", default: LONG_MAX, brokerSynonym: "log.flush.interval.ms", min: 0 },
  "index.interval.bytes": { type: "int", default: "4096", brokerSynonym: "log.index.interval.bytes", min: 0 },
  "max.compaction.lag.ms": { type: "long", default: LONG_MAX, brokerSynonym: "log.cleaner.max.compaction.lag.ms", min: 1 },
  "max.message.bytes": { type: "int", default: "1048588", brokerSynonym: "message.max.bytes", min: 0 },
  "message.timestamp.after.max.ms": { type: "long", default: LONG_MAX, brokerSynonym: "log.message.timestamp.after.max.ms", min: 0 },
  "message.timestamp.before.max.ms": { type: "long", default: LONG_MAX, brokerSynonym: "log.message.timestamp.before.max.ms", min: 0 },
  "message.timestamp.difference.max.ms": { type: "long", default: LONG_MAX, brokerSynonym: "log.message.timestamp.difference.max.ms", min: 0 },
  "message.timestamp.type": {
    type: "string",
    default: "CreateTime",
    brokerSynonym: "log.message.timestamp.type",
    oneOf: ["CreateTime", "LogAppendTime"],
  },
  "min.cleanable.dirty.ratio": { type: "double", default: "0.5", brokerSynonym: "log.cleaner.min.cleanable.ratio", min: 0 },
  "min.compaction.lag.ms": { type: "long", default: "0", brokerSynonym: "log.cleaner.min.compaction.lag.ms", min: 0 },
  "min.insync.replicas": { type: "int", default: "1", brokerSynonym: "min.insync.replicas", min: 1 },
  "preallocate": { type: "boolean", default: "false", brokerSynonym: "log.preallocate" },
  "retention.bytes": { type: "long", default: "-1", brokerSynonym: "log.retention.bytes" },
  "retention.ms": { type: "long", default: "604800000", brokerSynonym: "log.retention.ms", min: -1 },
  "segment.bytes": { type: "int", default: "1073741824", brokerSynonym: "log.segment.bytes", min: 14 },
  "segment.index.bytes": { type: "int", default: "10485760", brokerSynonym: "log.index.size.max.bytes", min: 4 },
  "segment.jitter.ms": { type: "long", default: "0", brokerSynonym: "log.roll.jitter.ms", min: 0 },
  "segment.ms": { type: "long", default: "604800000", brokerSynonym: "log.roll.ms", min: 1 },
  "unclean.leader.election.enable": { type: "boolean", default: "false", brokerSynonym: "unclean.leader.election.enable" },
  "message.downconversion.enable": { type: "boolean", default: "true", brokerSynonym: "log.message.downconversion.enable" },
  "local.retention.bytes": { type: "long", default: "-2", brokerSynonym: "log.local.retention.bytes" },
  "local.retention.ms": { type: "long", default: "-2", brokerSynonym: "log.local.retention.ms" },
  "remote.storage.enable": { type: "boolean", default: "false" },
  "follower.replication.throttled.replicas": { type: "list", default: "" },
  "leader.replication.throttled.replicas": { type: "list", default: "" },
};

/** Checks one topic config value; returns an error message, or null when valid. */
export function validateTopicConfig(name: string, value: string | null): string | null {
  const def = TOPIC_CONFIGS[name];
  if (!def) return `Unknown topic config name: ${name}`;
  if (value === null) return `Null value not supported for topic configs: ${name}`;
  const bad = `Invalid value ${value} for configuration ${name}`;
  switch (def.type) {
    case "boolean":
      if (value.trim().toLowerCase() !== "true" && value.trim().toLowerCase() !== "false") return `${bad}: Expected value to be either true or false`;
      break;
    case "int":
    case "long": {
      const t = value.trim();
      if (!/^-?\d+$/.test(t)) return `${bad}: Not a number of type ${def.type.toUpperCase()}`;
      const n = BigInt(t);
      const [lo, hi] = def.type === "int" ? [-(2n ** 31n), 2n ** 31n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
      if (n < lo || n > hi) return `${bad}: Not a number of type ${def.type.toUpperCase()}`;
      if (def.min !== undefined && n < BigInt(def.min)) return `${bad}: Value must be at least ${def.min}`;
      break;
    }
    case "double": {
      const n = Number(value.trim());
      if (value.trim() === "" || !Number.isFinite(n)) return `${bad}: Not a number of type DOUBLE`;
      if (def.min !== undefined && n < def.min) return `${bad}: Value must be at least ${def.min}`;
      break;
    }
    case "list":
      if (def.oneOf) {
        for (const item of value.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
          if (!def.oneOf.includes(item)) return `${bad}: String must be one of: ${def.oneOf.join(", ")}`;
        }
      }
      break;
    default:
      if (def.oneOf && !def.oneOf.includes(value)) return `${bad}: String must be one of: ${def.oneOf.join(", ")}`;
  }
  return null;
}

/** A topic config's effective value: set on the topic, else the broker's synonym, else Kafka's default. */
export function effectiveTopicConfig(set: ReadonlyMap<string, string | null>, name: string, broker: Record<string, unknown>): string {
  const v = set.get(name);
  if (v !== undefined && v !== null) return v;
  const def = TOPIC_CONFIGS[name];
  if (def?.brokerSynonym !== undefined && broker[def.brokerSynonym] !== undefined) return String(broker[def.brokerSynonym]);
  return def?.default ?? "";
}
