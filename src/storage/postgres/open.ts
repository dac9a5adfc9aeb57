// Opens the PostgreSQL engine for setup.ts: the pool, the tables, and every store on them (logs,
// metadata, admin document, cluster rows), plus retention on a timer.
import type { LogLevel, Runtime } from "../../runtime.ts";
import type { Storage } from "../setup.ts";
import type { StorageUrl } from "../url.ts";
import { PgPool } from "./client.ts";
import { PostgresCluster } from "./cluster.ts";
import { postgresLogStore } from "./log.ts";
import { postgresAdminStore, postgresMetadataStore } from "./metadata.ts";
import { ensureSchema } from "./schema.ts";

export async function openPostgres(
  runtime: Runtime,
  where: StorageUrl & { kind: "postgres" },
  log: (level: LogLevel, message: string) => void,
  topicConfig: (topic: string, name: string) => string,
  retentionCheckMs: number,
): Promise<Storage> {
  const pool = new PgPool(runtime, where.pg, log);
  try {
    await ensureSchema(pool);
    const metadata = await postgresMetadataStore(pool);
    const store = postgresLogStore(pool);
    log("info", `storage: PostgreSQL at ${where.url} (${where.pg.poolSize} connections; acks answered once committed)`);
    // Retention (log.retention.check.interval.ms), on the partitions this broker leads.
    let retention: Promise<unknown> = Promise.resolve();
    const retentionTimer = setInterval(() => {
      retention = store.applyRetention(topicConfig, runtime.now()).catch((e) =>
        log("warn", `retention on PostgreSQL failed: ${e instanceof Error ? e.message : String(e)}`)
      );
    }, Math.max(1000, retentionCheckMs));
    return {
      url: where.url,
      kind: where.kind,
      store,
      metadata,
      admin: postgresAdminStore(pool),
      file: null,
      cluster: new PostgresCluster(pool),
      async removeUnknown() {
        // Rows of partitions whose topic is gone (a DeleteTopics interrupted between its two steps).
        // Asked of the database, not of this broker's view: topics are stored before their partitions.
        const r = await pool.query(
          "SELECT DISTINCT topic FROM chronik_partitions WHERE topic NOT IN (SELECT name FROM chronik_topics)",
        );
        for (const [t] of r.rows as [string][]) {
          log("info", `storage: removing the rows of ${t}, a topic that no longer exists`);
          await store.remove(t, 2 ** 31 - 1);
        }
      },
      async close() {
        clearInterval(retentionTimer);
        await retention;
        await store.close();
        await metadata.close();
        pool.close();
      },
    };
  } catch (e) {
    pool.close();
    throw e;
  }
}
