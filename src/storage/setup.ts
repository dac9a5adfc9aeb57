// The one entry point to storage: opens what the storage URL names (url.ts) and hands back every
// persistent piece the broker has — partition logs (which also hold group offsets and state in
// __consumer_offsets, transactions in __transaction_state and producer-state snapshots), cluster
// metadata (cluster id, topics, topic configs) and the admin document (dynamic configs, quotas,
// features, SCRAM credentials, ACLs). Engines: file (default; a data dir), memory, postgres.
// An object store for record data plugs in here (the s3 work) beside the PostgreSQL sequencer.
import type { BrokerConfig } from "../config.ts";
import type { FileLock, LogLevel, Runtime } from "../runtime.ts";
import type { AdminStore } from "./admin.ts";
import { fileAdminStore, memoryAdminStore } from "./admin.ts";
import type { FileLogStore } from "./file.ts";
import { openFileLogStore } from "./file.ts";
import { memoryLogStore } from "./memory.ts";
import type { MetadataStore } from "./metadata.ts";
import { memoryMetadataStore, openMetadataStore } from "./metadata.ts";
import type { PostgresCluster } from "./postgres/cluster.ts";
import { openPostgres } from "./postgres/open.ts";
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
  /** Call once topics are loaded: removes partition directories of topics that no longer exist. */
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
): Promise<Storage> {
  const where = storageOf(config);
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
    return await openPostgres(runtime, where, log, topicConfig, num(config["log.retention.check.interval.ms"], 300000));
  }
  const dir = where.dir;
  const started = runtime.now();
  // One broker per data dir: a second one would corrupt the first one's logs (Kafka's .lock).
  await runtime.fs.mkdir(dir);
  let lock: FileLock;
  try {
    lock = await runtime.fs.lock(`${dir.replace(/\/+$/, "")}/.lock`);
  } catch (e) {
    if ((e as { code?: string }).code !== "ELOCKED") throw e;
    const pid = (e as { pid?: number }).pid;
    throw new Error(
      `data dir ${dir} is in use by another broker${
        pid && pid > 0 ? ` (process ${pid})` : ""
      }; stop it first, or remove ${dir}/.lock if no broker runs`,
    );
  }
  let metadata: MetadataStore;
  let file: FileLogStore;
  try {
    metadata = await openMetadataStore(runtime.fs, dir, log);
    file = await openFileLogStore(runtime.fs, dir, {
      now: () => runtime.now(),
      log,
      topicConfig,
      groupCommitMs: num(config["chronik.fsync.group.commit.ms"], 0),
      retentionCheckIntervalMs: num(config["log.retention.check.interval.ms"], 300000),
      cleanerBackoffMs: num(config["log.cleaner.backoff.ms"], 15000),
      cleanerEnabled: config["log.cleaner.enable"] !== false,
      maxOpenFiles: num(config["chronik.log.open.files.max"], 1000),
    });
  } catch (e) {
    await lock.release();
    throw e;
  }
  const mode = config["chronik.fsync.acks.all"] === false
    ? "acks=all answered when the OS has the data"
    : "acks=all answered after a group-commit fsync";
  log("info", `storage: file engine in ${dir} (${mode})`);
  return {
    url: where.url,
    kind: where.kind,
    store: file,
    metadata,
    admin: fileAdminStore(runtime.fs, dir),
    file,
    cluster: null,
    async removeUnknown(keep) {
      await file.removeUnknown(keep);
      const s = file.stats;
      log(
        "info",
        `storage: opened in ${runtime.now() - started} ms (${
          s.cleanStart ? "clean" : "unclean"
        } start, ${s.recoveredPartitions} partition(s) scanned, ${s.truncations} torn tail(s) truncated, ${s.indexRebuilds} index rebuild(s))`,
      );
    },
    async close() {
      await file.close();
      await metadata.close();
      await lock.release();
    },
  };
}
