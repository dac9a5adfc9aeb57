// The one entry point to storage: opens what the storage URL names (url.ts) and hands back every
// persistent piece the broker has — partition logs (which also hold group offsets and state in
// __consumer_offsets, transactions in __transaction_state and producer-state snapshots), cluster
// metadata (cluster id, topics, topic configs) and the admin document (dynamic configs, quotas,
// features, SCRAM credentials, ACLs). Engines: file (default; a data dir), memory, postgres.
// With postgres:// and chronik.object.store=s3://…, record data goes to the object store and PostgreSQL
// indexes and sequences it (postgres/open.ts).
import type { BrokerConfig } from "../config.ts";
import type { LogLevel, Runtime } from "../runtime.ts";
import type { AdminStore } from "./admin.ts";
import { memoryAdminStore } from "./admin.ts";
import { openFileStorage } from "./file_setup.ts";
import type { FileLogStore } from "./file.ts";
import { memoryLogStore } from "./memory.ts";
import type { MetadataStore } from "./metadata.ts";
import { memoryMetadataStore } from "./metadata.ts";
import type { PostgresCluster } from "./postgres/cluster.ts";
import type { Fencing } from "./postgres/log.ts";
import { openPostgres } from "./postgres/open.ts";
import { PG_REQUEST_TIMEOUT_MS } from "./postgres/client.ts";
import type { LogStore } from "./store.ts";
import type { StorageUrl } from "./url.ts";
import { storageOf } from "./url.ts";

export type Storage = {
  /** What runs: the URL with any password hidden. */
  url: string;
  kind: StorageUrl["kind"];
  store: LogStore;
  metadata: MetadataStore;
  admin: AdminStore;
  /** The file engine, when there is a data dir (stats, retention and compaction hooks). */
  file: FileLogStore | null;
  /** Membership and leadership rows, when several brokers can share the storage (PostgreSQL). */
  cluster: PostgresCluster | null;
  /**
   * With `cluster`: what checks leadership on every write, for the cluster service to set its fencing on
   * (the PostgreSQL log store, or the object index when record data lives in an object store).
   */
  fenced?: { fencing: Fencing | null };
  /** The cluster id in the data dir's meta.properties (null or absent without a data dir). */
  clusterId?: string | null;
  /** Call once topics are loaded: renames aside (never deletes) partition directories no topic claims. */
  removeUnknown(keep: (topic: string, partition: number) => boolean): Promise<void>;
  close(): Promise<void>;
};

function num(v: unknown, fallback: number): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

export async function openStorage(
  runtime: Runtime,
  config: BrokerConfig,
  log: (level: LogLevel, message: string) => void,
  topicConfig: (topic: string, name: string) => string,
  /** The process environment (AWS_* for the object store); src/ reads none itself. */
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<Storage> {
  const where = storageOf(config);
  const objectStore = config["chronik.object.store"];
  if (where.kind !== "postgres" && typeof objectStore === "string" && objectStore !== "") {
    throw new Error(
      `chronik.object.store needs a postgres:// storage URL (its index and sequencer), not ${where.url}`,
    );
  }
  if (where.kind === "memory") {
    const store = memoryLogStore();
    return {
      url: where.url,
      kind: where.kind,
      store,
      metadata: memoryMetadataStore(),
      admin: memoryAdminStore(),
      file: null,
      cluster: null,
      removeUnknown: async () => {},
      close: () => store.close(),
    };
  }
  if (where.kind === "postgres") {
    return await openPostgres(runtime, where, log, topicConfig, {
      retentionCheckMs: num(config["log.retention.check.interval.ms"], 300000),
      cleanerBackoffMs: config["log.cleaner.enable"] === false ? null : num(config["log.cleaner.backoff.ms"], 15000),
      requestTimeoutMs: num(config["chronik.postgres.request.timeout.ms"], PG_REQUEST_TIMEOUT_MS),
      config: config as unknown as Record<string, unknown>,
      nodeId: config.nodeId,
      env,
    });
  }
  // The data dir's marker, lock, metadata recovery and stray directories: file_setup.ts.
  return await openFileStorage(runtime, config, where.dir, log, topicConfig, where.url);
}
