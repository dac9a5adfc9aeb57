// What handlers reach: config, topics, the clock, logging. Handlers hold no state of their own.
import type { BrokerConfig } from "../config.ts";
import type { LogLevel, Runtime } from "../runtime.ts";
import type { BufferPool } from "../storage/buffer_pool.ts";
import type { LogStore } from "../storage/store.ts";
import type { Authorizer } from "./auth/acl.ts";
import type { Authentication } from "./auth/auth.ts";
import type { Configs } from "./config/configs.ts";
import type { Metrics } from "./metrics.ts";
import type { Features } from "./config/features.ts";
import type { ClientQuotas } from "./config/quotas.ts";
import type { FetchSessions } from "./fetch_sessions.ts";
import type { Cluster } from "./cluster.ts";
import type { GroupCoordinator } from "./groups/coordinator.ts";
import type { ShareCoordinator } from "./share/coordinator.ts";
import type { SchemaRegistry } from "./registry/registry.ts";
import type { ClientMetrics } from "./telemetry/client_metrics.ts";
import type { Topics } from "./topics.ts";
import type { TransactionCoordinator } from "./txn/coordinator.ts";

export type Services = {
  readonly config: BrokerConfig;
  readonly runtime: Runtime;
  readonly store: LogStore;
  readonly topics: Topics;
  readonly clusterId: string;
  /** Host and port the broker advertises in Metadata and FindCoordinator. */
  readonly advertised: { host: string; port: number };
  now(): number;
  log(level: LogLevel, message: string): void;
  /** Calls `listener` when shutdown starts (long polls return early) until the returned function is called. */
  onClosing(listener: () => void): () => void;
  readonly fetchSessions: FetchSessions;
  /** Fetch's read buffers; the server returns them once a response is sent. */
  readonly readBuffers: BufferPool;
  /** Buffers for request frames that arrive over several reads; see RequestContext.frameReusable. */
  readonly frameBuffers: BufferPool;
  /** Broker-wide counters (per broker, not per module, so brokers in one process stay apart). */
  readonly counters: { produceRequests: number };
  /** Requests per API, bytes, connections (the HTTP side's /metrics). */
  readonly metrics: Metrics;
  /** Consumer groups (classic and KIP-848) and committed offsets. */
  groups: GroupCoordinator;
  txns: TransactionCoordinator;
  /**
   * Cluster: adds a partition to a transaction another broker coordinates, or with `verifyOnly` asks whether it
   * was added (AddPartitionsToTxn v5 to the coordinator: transactions v2's implicit add from the partition leader
   * or group coordinator, KIP-890 part 1's verification); an error code.
   */
  txnRemoteAdd?: (
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    topic: string,
    partition: number,
    verifyOnly?: boolean,
  ) => Promise<number>;
  /** Live brokers, partition leaders and epochs, the coordinator (cluster.ts). */
  readonly cluster: Cluster;
  /** The Confluent-compatible schema registry (its state in the `_schemas` topic). */
  readonly registry: SchemaRegistry;
  /** Share groups (KIP-932): members, sessions, share-partition states. */
  readonly share: ShareCoordinator;
  /** Broker, topic and broker-logger configs: describe, alter, dynamic values. */
  readonly configs: Configs;
  /** Client quotas: stored, validated and enforced (`active` is the hot paths' one check). */
  readonly quotas: ClientQuotas;
  /** Supported and finalized feature levels. */
  readonly features: Features;
  /** The listener's security protocol, SASL mechanisms, PLAIN users and SCRAM credentials. */
  readonly auth: Authentication;
  /** ACLs and the authorizer (authorizer.class.name); allows everything when off. */
  readonly acls: Authorizer;
  /** KIP-714: client-metrics subscriptions and the metrics clients push. */
  readonly clientMetrics: ClientMetrics;
  /** ApiVersions' list, computed from the handler table. */
  readonly apiVersions: { apiKey: number; minVersion: number; maxVersion: number }[];
};
