// Opens the PostgreSQL engine for setup.ts: the pool, the tables, and every store on them (logs,
// metadata, admin document, cluster rows), plus retention on a timer. With chronik.object.store set,
// record data goes to the object store instead of chronik_batches: the object data path (writer, reader,
// gc, compaction) over the PostgreSQL object index (objects.ts), whose commits the cluster fences.
import type { LogLevel, Runtime } from "../../runtime.ts";
import type { MetadataStore } from "../metadata.ts";
import type { ObjectStoreConfig } from "../objects/config.ts";
import { OID } from "./wire.ts";
import type { Storage } from "../setup.ts";
import type { StorageUrl } from "../url.ts";
import { PgPool } from "./client.ts";
import type { PgConfig } from "./client.ts";
import { configNumber } from "../../config.ts";
import { PostgresCluster } from "./cluster.ts";
import { postgresLogStore } from "./log.ts";
import { postgresAdminStore, postgresMetadataStore } from "./metadata.ts";
import { ensureSchema } from "./schema.ts";
import { objectStoreConfig } from "../objects/config.ts";
import { objectDataPath } from "../objects/data_path.ts";
import { objectLogStore } from "../objects/log_store.ts";
import { postgresObjectIndex } from "./objects.ts";

export async function openPostgres(
  runtime: Runtime,
  where: StorageUrl & { kind: "postgres" },
  log: (level: LogLevel, message: string) => void,
  topicConfig: (topic: string, name: string) => string,
  options: {
    retentionCheckMs: number;
    /** log.cleaner.backoff.ms; null when log.cleaner.enable is false. */
    cleanerBackoffMs: number | null;
    /** chronik.postgres.request.timeout.ms (client.ts). */
    requestTimeoutMs: number;
    /** The broker config (chronik.object.* and chronik.s3.* settings). */
    config: Record<string, unknown>;
    nodeId: number;
    env: Readonly<Record<string, string | undefined>>;
  },
): Promise<Storage> {
  const { retentionCheckMs } = options;
  // Checked before anything opens: a malformed object-store setting fails the start with its name.
  const objects = objectStoreConfig(options.config, options.env as Record<string, string | undefined>);
  const pool = new PgPool(runtime, { ...where.pg, timeoutMs: options.requestTimeoutMs }, log);
  const lease = leasePool(runtime, where.pg, options.requestTimeoutMs, options.config, log);
  const cluster = new PostgresCluster(pool, lease);
  try {
    await ensureSchema(pool);
    const metadata = await postgresMetadataStore(pool);
    if (objects) {
      return openWithObjects(pool, cluster, where, log, objects, options.nodeId, metadata, topicConfig, {
        retentionCheckMs,
        cleanerBackoffMs: options.cleanerBackoffMs,
        now: () => runtime.now(),
      });
    }
    const store = postgresLogStore(pool);
    log("info", `storage: PostgreSQL at ${where.url} (${where.pg.poolSize} connections; acks answered once committed)`);
    // Retention (log.retention.check.interval.ms), on the partitions this broker leads.
    const retention = every(
      retentionCheckMs,
      () => store.applyRetention(topicConfig, runtime.now()),
      (e) => log("warn", `retention on PostgreSQL failed: ${e instanceof Error ? e.message : String(e)}`),
    );
    // Compaction (cleanup.policy=compact) every log.cleaner.backoff.ms, on the partitions this broker leads.
    const cleaner = options.cleanerBackoffMs === null ? null : every(
      options.cleanerBackoffMs,
      () => store.applyCompaction(topicConfig, runtime.now(), log),
      (e) => log("warn", `compaction on PostgreSQL failed: ${e instanceof Error ? e.message : String(e)}`),
    );
    return {
      url: where.url,
      kind: where.kind,
      store,
      metadata,
      admin: postgresAdminStore(pool),
      file: null,
      cluster,
      async removeUnknown() {
        for (const t of await orphanTopics(pool)) {
          log("info", `storage: removing the rows of ${t}, a topic that no longer exists`);
          await store.remove(t, 2 ** 31 - 1);
        }
      },
      async close() {
        await retention.stop();
        await cleaner?.stop();
        await store.close();
        await metadata.close();
        pool.close();
        lease.close();
      },
    };
  } catch (e) {
    pool.close();
    lease.close();
    throw e;
  }
}

/**
 * The lease's own connection: renewals never wait behind the shared pool's work, and a connection that gives no
 * answer is failed (and reopened at the next renewal) within half of broker.session.timeout.ms, so a broker
 * renews over a fresh connection before its lease lapses (chronik.postgres.request.timeout.ms when that is shorter).
 * Not less: on a loaded machine a slow answer that still renews in time is better than a reconnection.
 */
function leasePool(
  runtime: Runtime,
  pg: PgConfig,
  requestTimeoutMs: number,
  config: Record<string, unknown>,
  log: (level: LogLevel, message: string) => void,
): PgPool {
  const half = Math.max(100, Math.floor(configNumber(config, "broker.session.timeout.ms") / 2));
  const timeoutMs = requestTimeoutMs > 0 ? Math.min(requestTimeoutMs, half) : half;
  return new PgPool(runtime, { ...pg, poolSize: 1, timeoutMs }, (level, message) => log(level, `lease: ${message}`));
}

/** postgres:// with chronik.object.store: metadata, offsets and cluster in PostgreSQL, record data in objects. */
function openWithObjects(
  pool: PgPool,
  cluster: PostgresCluster,
  where: StorageUrl & { kind: "postgres" },
  log: (level: LogLevel, message: string) => void,
  config: ObjectStoreConfig,
  nodeId: number,
  metadata: MetadataStore,
  topicConfig: (topic: string, name: string) => string,
  retention: { retentionCheckMs: number; cleanerBackoffMs: number | null; now: () => number },
): Storage {
  const index = postgresObjectIndex(pool);
  const path = objectDataPath({ config, index, nodeId });
  const store = objectLogStore({ path, index, prefix: config.prefix, nodeId });
  const bucket = `s3://${config.s3.bucket}${config.prefix === "" ? "" : "/" + config.prefix}`;
  log(
    "info",
    `storage: PostgreSQL at ${where.url} (index, offsets, metadata) with record data in ${bucket}` +
      ` (${config.s3.endpoint ?? "AWS"}); acks answered once an object is stored and its offsets committed`,
  );
  // Garbage collection and small-object compaction rounds; store.close() stops them (and flushes the writer).
  path.start((level, message) => log(level, message));
  // Retention (log.retention.check.interval.ms) on the partitions this broker leads.
  const leads = (t: string, p: number) => index.fencing === null || index.fencing.epochOf(t, p) !== undefined;
  const retaining = every(
    retention.retentionCheckMs,
    () => store.applyRetention(topicConfig, retention.now(), leads),
    (e) => log("warn", `retention on the object store failed: ${e instanceof Error ? e.message : String(e)}`),
  );
  // Compaction (cleanup.policy=compact) every log.cleaner.backoff.ms, on the partitions this broker leads.
  const cleaner = retention.cleanerBackoffMs === null ? null : every(
    retention.cleanerBackoffMs,
    () => store.applyCompaction(topicConfig, retention.now(), log, leads),
    (e) => log("warn", `compaction on the object store failed: ${e instanceof Error ? e.message : String(e)}`),
  );
  return {
    url: where.url,
    kind: where.kind,
    store,
    metadata,
    admin: postgresAdminStore(pool),
    file: null,
    cluster,
    fenced: index,
    async removeUnknown() {
      for (const t of await orphanTopics(pool)) {
        log("info", `storage: removing the index rows of ${t}, a topic that no longer exists`);
        const n = await pool.query("SELECT max(partition) + 1 FROM chronik_partitions WHERE topic = $1", [t], [
          OID.text,
        ]);
        await store.remove(t, Number(n.rows[0][0] ?? 0));
      }
    },
    async close() {
      await retaining.stop();
      await cleaner?.stop();
      await store.close();
      await metadata.close();
      pool.close();
      cluster.lease.close();
    },
  };
}

/**
 * Topics with partition rows but no topic row (a DeleteTopics interrupted between its two steps). Asked of
 * the database, not of this broker's view: topics are stored before their partitions.
 */
async function orphanTopics(pool: PgPool): Promise<string[]> {
  const r = await pool.query(
    "SELECT DISTINCT topic FROM chronik_partitions WHERE topic NOT IN (SELECT name FROM chronik_topics)",
  );
  return (r.rows as [string][]).map(([t]) => t);
}

/** Runs `round` every `ms` (at least 1 s), its failures to `failed`; stop() also waits for a round under way. */
function every(ms: number, round: () => Promise<unknown>, failed: (e: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = round().catch(failed);
  }, Math.max(1000, ms));
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
