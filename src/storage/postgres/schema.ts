// The tables of the PostgreSQL engine (docs/cluster.md explains them). Created when missing, under an
// advisory lock so brokers starting together do not race; `chronik_meta.schema.version` says which
// layout a database holds, and a broker refuses a database from a newer one.
import type { PgPool } from "./client.ts";

export const SCHEMA_VERSION = 1;

const DDL = `
SELECT pg_advisory_xact_lock(7370546561);
CREATE TABLE IF NOT EXISTS chronik_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS chronik_topic_seq;
CREATE SEQUENCE IF NOT EXISTS chronik_producer_id_block;
CREATE TABLE IF NOT EXISTS chronik_topics (
  name text PRIMARY KEY,
  id text NOT NULL,
  partitions int NOT NULL,
  configs text NOT NULL,
  seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS chronik_partitions (
  topic text NOT NULL,
  partition int NOT NULL,
  log_start bigint NOT NULL DEFAULT 0,
  log_end bigint NOT NULL DEFAULT 0,
  size_bytes bigint NOT NULL DEFAULT 0,
  leader int NOT NULL DEFAULT -1,
  leader_epoch int NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, partition)
);
-- The leader epoch whose takeover finished (the leader marks it): other brokers name a leader once it is ready. Added
-- to databases laid out before it with every partition ready at its current epoch.
ALTER TABLE chronik_partitions ADD COLUMN IF NOT EXISTS ready_epoch int;
UPDATE chronik_partitions SET ready_epoch = leader_epoch WHERE ready_epoch IS NULL;
ALTER TABLE chronik_partitions ALTER COLUMN ready_epoch SET DEFAULT -1;
CREATE TABLE IF NOT EXISTS chronik_brokers (
  node_id int PRIMARY KEY,
  incarnation text NOT NULL,
  rack text,
  listeners text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS chronik_batches (
  topic text NOT NULL,
  partition int NOT NULL,
  last_offset bigint NOT NULL,
  base_offset bigint NOT NULL,
  max_timestamp bigint NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (topic, partition, last_offset)
);
ALTER TABLE chronik_batches ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS chronik_partition_state (
  topic text NOT NULL,
  partition int NOT NULL,
  name text NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (topic, partition, name)
);
CREATE TABLE IF NOT EXISTS chronik_objects (
  key text PRIMARY KEY,
  size bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS chronik_extents (
  topic text NOT NULL,
  partition int NOT NULL,
  last_offset bigint NOT NULL,
  base_offset bigint NOT NULL,
  object_key text NOT NULL,
  position bigint NOT NULL,
  size bigint NOT NULL,
  max_timestamp bigint NOT NULL,
  PRIMARY KEY (topic, partition, last_offset)
);
CREATE INDEX IF NOT EXISTS chronik_extents_object ON chronik_extents (object_key);
INSERT INTO chronik_meta (key, value) VALUES ('schema.version', '${SCHEMA_VERSION}') ON CONFLICT (key) DO NOTHING;
`;

/** Creates the tables if needed; rejects a database laid out by a newer version. */
export async function ensureSchema(pool: PgPool): Promise<void> {
  // One simple-protocol message: its statements run as one transaction, so the lock covers them all.
  await pool.simple(DDL);
  const r = await pool.query("SELECT value FROM chronik_meta WHERE key = 'schema.version'");
  const v = Number(r.rows[0]?.[0]);
  if (v > SCHEMA_VERSION) {
    throw new Error(
      `the PostgreSQL database holds chronik schema version ${v}; this broker knows up to ${SCHEMA_VERSION}`,
    );
  }
}
