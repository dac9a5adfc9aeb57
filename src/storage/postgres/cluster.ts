// Cluster membership and partition leadership in PostgreSQL (docs/cluster.md).
// chronik_brokers: one row per node id with the incarnation that holds it and a lease (expires_at,
// PostgreSQL's clock, so brokers' clocks do not matter). chronik_partitions.leader / leader_epoch:
// who may append, changed only by compare-and-set on the epoch; every append checks both in the
// same statement that moves the log end (log.ts), so a stale leader's write never lands.
// The lease (register, heartbeat) goes down a connection of its own (`lease`, opened by open.ts with a
// request timeout well inside the lease), so a renewal never queues behind appends, reads or a takeover
// busy on the shared pool, and a hung lease connection is failed and reopened before the lease lapses.
import type { PgPool } from "./client.ts";
import { OID } from "./wire.ts";

const { text, int4, int8, textArray, int4Array } = OID;

export type BrokerRow = {
  nodeId: number;
  rack: string | null;
  /** Listener name → advertised address. */
  listeners: Record<string, { host: string; port: number }>;
};

/** A partition's leader and epoch; `ready` once the leader took it over at that epoch (markReady). */
export type LeaderRow = { topic: string; partition: number; leader: number; epoch: number; ready: boolean };

/** How many ElectLeaders requests are kept for brokers that have not seen them yet. */
const ELECTIONS_KEPT = 64;

export type Move = { topic: string; partition: number; fromEpoch: number; to: number };

export class PostgresCluster {
  readonly pool: PgPool;
  /** The lease's own connection (the shared pool when none is given). */
  readonly lease: PgPool;
  readonly incarnation = crypto.randomUUID();

  constructor(pool: PgPool, lease: PgPool = pool) {
    this.pool = pool;
    this.lease = lease;
  }

  /**
   * Takes the node id for this incarnation: free, expired, or already ours. False while another
   * live incarnation holds it.
   */
  async register(me: BrokerRow, leaseMs: number): Promise<boolean> {
    const r = await this.lease.query(
      `INSERT INTO chronik_brokers (node_id, incarnation, rack, listeners, expires_at)
       VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')
       ON CONFLICT (node_id) DO UPDATE SET incarnation = excluded.incarnation, rack = excluded.rack,
         listeners = excluded.listeners, expires_at = excluded.expires_at
       WHERE chronik_brokers.expires_at < now() OR chronik_brokers.incarnation = excluded.incarnation
       RETURNING node_id`,
      [me.nodeId, this.incarnation, me.rack, JSON.stringify(me.listeners), leaseMs],
      [int4, text, text, text, int8],
    );
    return r.rows.length === 1;
  }

  /** Renews the lease; false when another incarnation took the node id meanwhile. */
  async heartbeat(nodeId: number, leaseMs: number): Promise<boolean> {
    const r = await this.lease.query(
      `UPDATE chronik_brokers SET expires_at = now() + $3 * interval '1 millisecond'
       WHERE node_id = $1 AND incarnation = $2 RETURNING node_id`,
      [nodeId, this.incarnation, leaseMs],
      [int4, text, int8],
    );
    return r.rows.length === 1;
  }

  /**
   * Leaves: the lease ends now (the row stays, so the node id keeps its place among the brokers that preferred
   * leaders are spread over) and the partitions this node leads become free (epoch bumped).
   */
  async deregister(nodeId: number): Promise<void> {
    await this.pool.query(
      `WITH b AS (UPDATE chronik_brokers SET expires_at = now() - interval '1 millisecond'
                  WHERE node_id = $1 AND incarnation = $2 RETURNING node_id)
       UPDATE chronik_partitions SET leader = -1, leader_epoch = leader_epoch + 1
       WHERE leader = $1 AND EXISTS (SELECT 1 FROM b)`,
      [nodeId, this.incarnation],
      [int4, text],
    );
  }

  async live(): Promise<BrokerRow[]> {
    return (await this.members()).filter((b) => b.live);
  }

  /** Every node id that ever registered (those whose lease lapsed or who left too), with whether it is live. */
  async members(): Promise<(BrokerRow & { live: boolean })[]> {
    const r = await this.pool.query(
      "SELECT node_id, rack, listeners, expires_at > now() FROM chronik_brokers ORDER BY node_id",
    );
    return (r.rows as [number, string | null, string, boolean][]).map(([nodeId, rack, l, live]) => ({
      nodeId,
      rack,
      listeners: JSON.parse(l),
      live,
    }));
  }

  async leaders(): Promise<LeaderRow[]> {
    const r = await this.pool.query(
      "SELECT topic, partition, leader, leader_epoch, ready_epoch IS NOT DISTINCT FROM leader_epoch FROM chronik_partitions",
    );
    return (r.rows as [string, number, number, number, boolean][]).map(([topic, partition, leader, epoch, ready]) => ({
      topic,
      partition,
      leader,
      epoch,
      ready,
    }));
  }

  /** Marks partitions `nodeId` leads and has taken over at `epoch` ready (other brokers name it leader then). */
  async markReady(nodeId: number, rows: readonly { topic: string; partition: number; epoch: number }[]): Promise<void> {
    if (rows.length === 0) return;
    await this.pool.query(
      `UPDATE chronik_partitions p SET ready_epoch = m.epoch
       FROM unnest($2::text[], $3::int4[], $4::int4[]) AS m(topic, partition, epoch)
       WHERE p.topic = m.topic AND p.partition = m.partition AND p.leader = $1 AND p.leader_epoch = m.epoch`,
      [nodeId, rows.map((r) => r.topic), rows.map((r) => r.partition), rows.map((r) => r.epoch)],
      [int4, textArray, int4Array, int4Array],
    );
  }

  /**
   * Asks every broker for a preferred leader election (ElectLeaders PREFERRED) of `partitions` (null: all): the
   * request gets the next number and joins the last ELECTIONS_KEPT requests kept, and each broker hands the
   * partitions of every request it has not seen yet that it leads to their preferred leaders at its next beat (so two
   * requests within one beat both apply). The row lock of the update orders the requests. `partitions` repeats the
   * latest request's, as brokers of the version before `requests` read it.
   */
  async requestElection(partitions: readonly { topic: string; partition: number }[] | null): Promise<number> {
    const r = await this.pool.query(
      `INSERT INTO chronik_meta (key, value)
       VALUES ('leader.election',
         jsonb_build_object('n', 1, 'partitions', $1::jsonb, 'requests', jsonb_build_array(jsonb_build_array(1, $1::jsonb)))::text)
       ON CONFLICT (key) DO UPDATE SET value = (
         SELECT jsonb_build_object('n', m.n + 1, 'partitions', $1::jsonb, 'requests',
           coalesce((SELECT jsonb_agg(q) FROM jsonb_array_elements(m.requests) q WHERE (q->>0)::int8 > m.n + 1 - $2), '[]'::jsonb)
             || jsonb_build_array(jsonb_build_array(m.n + 1, $1::jsonb)))::text
         FROM (SELECT (chronik_meta.value::jsonb->>'n')::int8 AS n,
                      coalesce(chronik_meta.value::jsonb->'requests', '[]'::jsonb) AS requests) m)
       RETURNING (value::jsonb->>'n')::int8`,
      [partitions === null ? "null" : JSON.stringify(partitions.map((p) => [p.topic, p.partition])), ELECTIONS_KEPT],
      [text, int8],
    );
    return Number(r.rows[0][0]);
  }

  /**
   * The latest election request's number (0: none yet) and the requests kept, oldest first (partitions null: all).
   */
  async election(): Promise<{ n: number; requests: { n: number; partitions: [string, number][] | null }[] }> {
    const r = await this.pool.query("SELECT value FROM chronik_meta WHERE key = 'leader.election'");
    if (r.rows.length === 0) return { n: 0, requests: [] };
    const v = JSON.parse(r.rows[0][0] as string);
    // A row written before requests were kept: its last request alone.
    const requests: [number, [string, number][] | null][] = v.requests ?? [[Number(v.n), v.partitions ?? null]];
    return { n: Number(v.n), requests: requests.map(([n, partitions]) => ({ n: Number(n), partitions })) };
  }

  /** A fresh block number for producer ids (each broker takes blocks of its own). */
  async producerIdBlock(): Promise<bigint> {
    const r = await this.pool.query("SELECT nextval('chronik_producer_id_block')");
    return BigInt(r.rows[0][0] as number);
  }

  /** Topic rows' fingerprint: changes when a topic is created, changed or deleted. */
  async topicsVersion(): Promise<string> {
    const r = await this.pool.query("SELECT count(*)::int8, coalesce(max(seq), 0)::int8 FROM chronik_topics");
    return `${r.rows[0][0]}/${r.rows[0][1]}`;
  }

  /** Compare-and-set leadership moves (each applies only if the epoch is still fromEpoch); the rows that moved. */
  async move(moves: readonly Move[]): Promise<LeaderRow[]> {
    if (moves.length === 0) return [];
    const r = await this.pool.query(
      `UPDATE chronik_partitions p SET leader = m.to_leader, leader_epoch = p.leader_epoch + 1
       FROM unnest($1::text[], $2::int4[], $3::int4[], $4::int4[]) AS m(topic, partition, from_epoch, to_leader)
       WHERE p.topic = m.topic AND p.partition = m.partition AND p.leader_epoch = m.from_epoch
       RETURNING p.topic, p.partition, p.leader, p.leader_epoch`,
      [moves.map((m) => m.topic), moves.map((m) => m.partition), moves.map((m) => m.fromEpoch), moves.map((m) => m.to)],
      [textArray, int4Array, int4Array, int4Array],
    );
    // A move bumps the epoch: not ready until the new leader took it over.
    return (r.rows as [string, number, number, number][]).map(([topic, partition, leader, epoch]) => ({
      topic,
      partition,
      leader,
      epoch,
      ready: false,
    }));
  }
}
