// Broker configuration: Kafka's names where Kafka has one, its defaults where it has them.
import type { LogLevel } from "./runtime.ts";

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
  "auto.create.topics.enable": true,
  "num.partitions": 1,
  "default.replication.factor": 1,
  "socket.request.max.bytes": 104857600,
  "message.max.bytes": 1048588,
  "log.message.timestamp.type": "CreateTime",
  // Storage (file engine). Kafka's names and defaults; the topic configs fall back to these.
  "log.segment.bytes": 1073741824,
  "log.roll.hours": 168,
  "log.index.size.max.bytes": 10485760,
  "log.index.interval.bytes": 4096,
  "log.retention.hours": 168,
  "log.retention.bytes": -1,
  "log.retention.check.interval.ms": 300000,
  "log.segment.delete.delay.ms": 60000,
  "log.flush.interval.messages": 9223372036854775807,
  "log.flush.scheduler.interval.ms": 9223372036854775807,
  "log.cleanup.policy": "delete",
  "log.cleaner.enable": true,
  "log.cleaner.backoff.ms": 15000,
  "log.cleaner.delete.retention.ms": 86400000,
  "log.cleaner.min.cleanable.ratio": 0.5,
  "log.cleaner.min.compaction.lag.ms": 0,
  "compression.type": "producer",
  /**
   * Ours: acks=all (-1) is answered only once the batch is fsynced, in a group commit shared by all
   * producers and partitions. false: answered once the OS has the bytes (Kafka's default behaviour).
   */
  "chronik.fsync.acks.all": true,
  /** Ours: how long a group commit waits for more appends after the first; 0 = next round at once. */
  "chronik.fsync.group.commit.ms": 0,
  /** Ours: segment files the file engine keeps open at once; idle ones beyond are closed, reopened when needed. */
  "chronik.log.open.files.max": 1000,
  /** Ours: array entries (all arrays together) one request may hold; a request with more closes its connection. */
  "chronik.request.max.entries": 100000,
};

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
