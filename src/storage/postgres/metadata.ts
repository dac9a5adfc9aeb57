// Cluster metadata and the admin document on PostgreSQL: the cluster id and the admin document are
// rows of chronik_meta, topics rows of chronik_topics (their `seq` gives creation order, and moves a
// re-put topic to the end, as the file store's log replay does). Read once at start; each change is
// one statement, applied to the cached copy once committed. Changes are serialized, as in the file store.
// The admin document: postgresAdminStore below.
import type { AdminDocument, AdminStore } from "../admin.ts";
import type { MetadataStore, TopicMeta } from "../metadata.ts";
import type { PgPool } from "./client.ts";
import { OID } from "./wire.ts";

const { text, int4 } = OID;

export async function postgresMetadataStore(pool: PgPool): Promise<MetadataStore> {
  let clusterId: string | null = null;
  let topics = new Map<string, TopicMeta>();
  const load = async () => {
    const cid = await pool.query("SELECT value FROM chronik_meta WHERE key = 'cluster.id'");
    clusterId = (cid.rows[0]?.[0] as string | undefined) ?? null;
    const r = await pool.query("SELECT name, id, partitions, configs FROM chronik_topics ORDER BY seq");
    const next = new Map<string, TopicMeta>();
    for (const [name, id, partitions, configs] of r.rows as [string, string, number, string][]) {
      next.set(name, { name, id, partitions, configs: JSON.parse(configs) });
    }
    topics = next;
  };
  await load();
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn);
    queue = p.catch(() => {});
    return p;
  };
  return {
    get clusterId() {
      return clusterId;
    },
    topics: () => [...topics.values()].map((t) => structuredClone(t)),
    // The first broker of a cluster names it; one starting at the same moment adopts that name.
    setClusterId: (id) =>
      serial(async () => {
        const r = await pool.query(
          `WITH i AS (INSERT INTO chronik_meta (key, value) VALUES ('cluster.id', $1) ON CONFLICT (key) DO NOTHING RETURNING value)
           SELECT value FROM i UNION ALL SELECT value FROM chronik_meta WHERE key = 'cluster.id'`,
          [id],
          [text],
          0,
        );
        clusterId = r.rows[0][0] as string;
      }),
    putTopic: (t) =>
      serial(async () => {
        const copy = structuredClone(t);
        // A row of the same name under another id is another broker's topic: refused, not replaced.
        const r = await pool.query(
          `INSERT INTO chronik_topics (name, id, partitions, configs, seq)
           VALUES ($1, $2, $3, $4, nextval('chronik_topic_seq'))
           ON CONFLICT (name) DO UPDATE SET partitions = excluded.partitions,
             configs = excluded.configs, seq = excluded.seq
           WHERE chronik_topics.id = excluded.id
           RETURNING name`,
          [copy.name, copy.id, copy.partitions, JSON.stringify(copy.configs)],
          [text, text, int4, text],
          0,
        );
        if (r.rows.length === 0) {
          throw Object.assign(new Error(`Topic '${copy.name}' already exists.`), { code: "TOPIC_EXISTS" });
        }
        topics.delete(copy.name);
        topics.set(copy.name, copy);
      }),
    deleteTopic: (name) =>
      serial(async () => {
        await pool.query("DELETE FROM chronik_topics WHERE name = $1", [name], [text], 0);
        topics.delete(name);
      }),
    refresh: () => serial(load),
    async close() {
      await queue;
    },
  };
}

// The admin document is row 'admin'; row 'admin.revision' counts its saves. A save is one statement that
// bumps the revision only if it is still the one the document was built on, and writes the document only if it
// did (a data-modifying CTE: both rows or neither), so two brokers saving at once cannot revert each other.
const SAVE_ADMIN = `WITH bump AS (
  INSERT INTO chronik_meta (key, value) VALUES ('admin.revision', $2)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE chronik_meta.value = $1
  RETURNING 1)
INSERT INTO chronik_meta (key, value) SELECT 'admin', $3 FROM bump
ON CONFLICT (key) DO UPDATE SET value = excluded.value
RETURNING 1`;

export function postgresAdminStore(pool: PgPool): AdminStore {
  return {
    async load() {
      const r = await pool.query("SELECT key, value FROM chronik_meta WHERE key IN ('admin', 'admin.revision')");
      let doc: AdminDocument | null = null;
      let revision = 0;
      for (const [key, value] of r.rows as [string, string][]) {
        if (key === "admin") doc = JSON.parse(value) as AdminDocument;
        else revision = Number(value);
      }
      return { doc, revision };
    },
    async revision() {
      const r = await pool.query("SELECT value FROM chronik_meta WHERE key = 'admin.revision'");
      const v = r.rows[0]?.[0] as string | undefined;
      return v === undefined ? 0 : Number(v);
    },
    async save(doc, base) {
      const r = await pool.query(
        SAVE_ADMIN,
        [String(base), String(base + 1), JSON.stringify(doc)],
        [text, text, text],
        0,
      );
      return r.rows.length > 0;
    },
  };
}
