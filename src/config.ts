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
  /** Directory of the embedded store; null keeps everything in memory. */
  dataDir: string | null;
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
  logLevel: "info",
  nodeId: 0,
  clusterId: null,
  "auto.create.topics.enable": true,
  "num.partitions": 1,
  "default.replication.factor": 1,
  "socket.request.max.bytes": 104857600,
  "message.max.bytes": 1048588,
  "log.message.timestamp.type": "CreateTime",
};

export function resolveConfig(partial: Partial<BrokerConfig> = {}): BrokerConfig {
  const c = { ...DEFAULT_CONFIG, ...partial } as BrokerConfig;
  return c;
}
