// The cluster as handlers see it: live brokers, each partition's leader and leader epoch, and the
// coordinator of groups and transactions. One broker alone (file or memory storage) is a cluster
// of one: it leads everything at epoch 0. On PostgreSQL storage every broker is a member
// (storage/postgres/cluster.ts holds the rows): it registers with a lease, renews it every
// broker.heartbeat.interval.ms, and on each beat reads who is live and who leads what, moves
// leadership by compare-and-set (partitions of dead or absent leaders to their place in the spread,
// its own partitions that belong elsewhere to their place), picks up topics other brokers created
// or deleted, and takes over what it gained (re-reads the log end and producer state) before it
// accepts writes there. Appends carry the leader epoch into PostgreSQL, so a stale leader is fenced.
// The internal topics are placed like any other: the coordinator of a group is the leader of its
// __consumer_offsets partition, that of a transactional id the leader of its __transaction_state
// partition (keyPartition); a broker loads a partition's groups or transactions when it gains the
// partition and unloads them when it loses it (MemberDeps.coordinating).
import { ErrorCode } from "../protocol/errors.ts";
import type { LogLevel } from "../runtime.ts";
import { partitionKey as key } from "./fetch_sessions.ts";
import type { PostgresCluster } from "../storage/postgres/cluster.ts";
import type { LeaderRow, Move } from "../storage/postgres/cluster.ts";
import type { Fencing } from "../storage/postgres/log.ts";
import type { Topics } from "./topics.ts";

export type BrokerNode = { nodeId: number; host: string; port: number; rack: string | null };
/** The listener a request came in on: its name and the address it advertises. */
export type ListenerView = { name: string; advertised: { host: string; port: number } };

export interface Cluster {
  readonly nodeId: number;
  /** Live brokers (this one first), at their addresses for `listener`. */
  brokers(listener: ListenerView): BrokerNode[];
  /** The partition's leader (-1: none live) and leader epoch. */
  leader(topic: string, partition: number): { leader: number; epoch: number };
  /** Whether this broker leads the partition now. */
  leads(topic: string, partition: number): boolean;
  /** Node id shown as the controller. */
  controllerId(): number;
  /** Call after topics were created or grew: places their partitions now rather than at the next beat. */
  topicsChanged(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A partition as Metadata and DescribeTopicPartitions list it: its leader and epoch, the leader alone
 * as replicas and ISR (none, and LEADER_NOT_AVAILABLE, when no leader is live).
 */
export function partitionLeadership(cluster: Cluster, topic: string, partition: number) {
  const { leader, epoch } = cluster.leader(topic, partition);
  return {
    errorCode: leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
    partitionIndex: partition,
    leaderId: leader,
    leaderEpoch: epoch,
    replicaNodes: leader < 0 ? [] : [leader],
    isrNodes: leader < 0 ? [] : [leader],
    offlineReplicas: [],
  };
}

/** One broker alone. */
export function singleNode(nodeId: number): Cluster {
  return {
    nodeId,
    brokers: (l) => [{ nodeId, host: l.advertised.host, port: l.advertised.port, rack: null }],
    leader: () => ({ leader: nodeId, epoch: 0 }),
    leads: () => true,
    controllerId: () => nodeId,
    topicsChanged: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

export type MemberDeps = {
  nodeId: number;
  rack: string | null;
  /** Listener name → advertised address (known once listening). */
  listeners: () => Record<string, { host: string; port: number }>;
  pg: PostgresCluster;
  /** What appends or object commits check leadership with (the engine's log store, or the object index). */
  store: { fencing: Fencing | null };
  topics: Topics;
  heartbeatMs: number;
  leaseMs: number;
  now(): number;
  log(level: LogLevel, message: string): void;
  /** Takes over a partition this broker just came to lead (log end, producer state). */
  takeOver(topic: string, partition: number): Promise<void>;
  /**
   * This broker gained (on, once taken over) or lost a partition of an internal topic: loads or unloads
   * the groups or transactions it holds. Resolves false when loading failed (retried at the next beat).
   */
  coordinating(topic: string, partition: number, on: boolean): Promise<boolean>;
};

/** Whether a topic's partitions hold coordinator state (__consumer_offsets, __transaction_state). */
export function isCoordinatorTopic(topic: string): boolean {
  return topic === "__consumer_offsets" || topic === "__transaction_state";
}

/**
 * The internal-topic partition a group id or transactional id belongs to: its Java String.hashCode,
 * made non-negative, modulo the partition count. Kafka takes Utils.abs of the hash; masking the sign
 * bit (what this broker always did) differs for negative hashes only, and stored groups must stay
 * where they were written.
 */
export function keyPartition(id: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) | 0;
  return (h & 0x7fffffff) % partitions;
}

/** Where a partition belongs among the live brokers (sorted by node id). */
export function placement(topic: string, partition: number, live: readonly number[]): number {
  let h = 0;
  for (let i = 0; i < topic.length; i++) h = (Math.imul(h, 31) + topic.charCodeAt(i)) | 0;
  return live[((h & 0x7fffffff) + partition) % live.length];
}

/** A member of a cluster on PostgreSQL. start() registers (waiting out a previous incarnation's lease). */
export class Member implements Cluster {
  readonly nodeId: number;
  #d: MemberDeps;
  #live: { nodeId: number; rack: string | null; listeners: Record<string, { host: string; port: number }> }[] = [];
  #leaders = new Map<string, { leader: number; epoch: number }>();
  /** Epochs this broker holds and has taken over (what appends are fenced with). */
  #mine = new Map<string, number>();
  /** Internal partitions this broker coordinates (loaded or loading), at the epoch it gained them. */
  #coordinated = new Map<string, { topic: string; partition: number; epoch: number }>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #renewTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the last successful renewal was sent (this broker's clock). */
  #renewedAt = 0;
  #beat: Promise<void> | null = null;
  #again = false;
  #topicsVersion = "";
  #closed = false;

  constructor(deps: MemberDeps) {
    this.#d = deps;
    this.nodeId = deps.nodeId;
    deps.store.fencing = { nodeId: deps.nodeId, epochOf: (t, p) => this.#mine.get(key(t, p)) };
  }

  async start(): Promise<void> {
    const d = this.#d;
    const me = { nodeId: d.nodeId, rack: d.rack, listeners: d.listeners() };
    const until = d.now() + d.leaseMs + d.heartbeatMs;
    let told = false;
    while (!(await d.pg.register(me, d.leaseMs))) {
      if (d.now() > until) {
        throw new Error(
          `node.id ${d.nodeId} is held by another live broker on this PostgreSQL; give each broker its own --node-id`,
        );
      }
      if (!told) {
        d.log("warn", `node.id ${d.nodeId} is still leased by an earlier incarnation; waiting for its lease to lapse`);
        told = true;
      }
      await new Promise((r) => setTimeout(r, Math.min(500, d.heartbeatMs)));
    }
    this.#renewedAt = d.now();
    this.#scheduleRenewal();
    this.#topicsVersion = await d.pg.topicsVersion();
    await this.tick();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.tick().catch((e) =>
        this.#d.log("warn", `cluster heartbeat failed: ${e instanceof Error ? e.message : String(e)}`)
      )
        .finally(() => this.#schedule());
    }, this.#d.heartbeatMs);
  }

  /** One beat; concurrent callers share it (and ask for one more if it already started). */
  tick(): Promise<void> {
    if (this.#beat) {
      this.#again = true;
      return this.#beat;
    }
    this.#beat = (async () => {
      try {
        do {
          this.#again = false;
          await this.#tick();
        } while (this.#again && !this.#closed);
      } finally {
        this.#beat = null;
      }
    })();
    return this.#beat;
  }

  /**
   * Renews the lease every broker.heartbeat.interval.ms on its own timer and connection (PostgresCluster.lease),
   * so neither a slow beat (a takeover, a busy pool) nor appends queued on the shared pool delay it.
   */
  #scheduleRenewal(): void {
    if (this.#closed) return;
    this.#renewTimer = setTimeout(() => {
      this.#renew().catch((e) => {
        const d = this.#d;
        // Unanswered for a whole lease: other brokers may take this one's partitions now. Appends stay fenced in
        // PostgreSQL either way; dropping them here also stops reads and coordination until a beat takes them back.
        if (d.now() - this.#renewedAt >= d.leaseMs && this.#mine.size > 0) {
          d.log("error", `lease not renewed for ${d.now() - this.#renewedAt} ms; leading nothing until it is`);
          this.#mine.clear();
        }
        d.log("warn", `renewing the lease failed: ${e instanceof Error ? e.message : String(e)}`);
      }).finally(() => this.#scheduleRenewal());
    }, this.#d.heartbeatMs);
  }

  async #renew(): Promise<void> {
    const d = this.#d;
    const sent = d.now();
    if (await d.pg.heartbeat(d.nodeId, d.leaseMs)) {
      this.#renewedAt = sent;
      return;
    }
    // Another incarnation took our node id (we were gone longer than the lease): stop leading.
    d.log("error", `node.id ${d.nodeId} was taken over by another broker; this one leads nothing now`);
    this.#mine.clear();
    if (await d.pg.register({ nodeId: d.nodeId, rack: d.rack, listeners: d.listeners() }, d.leaseMs)) {
      this.#renewedAt = sent;
    }
  }

  async #tick(): Promise<void> {
    const d = this.#d;
    if (this.#closed) return;
    this.#live = await d.pg.live();
    const version = await d.pg.topicsVersion();
    if (version !== this.#topicsVersion) {
      await d.topics.sync();
      this.#topicsVersion = version;
    }
    let rows = await d.pg.leaders();
    const moved = await d.pg.move(this.#plan(rows));
    if (moved.length > 0) {
      const byKey = new Map(moved.map((r) => [key(r.topic, r.partition), r]));
      rows = rows.map((r) => byKey.get(key(r.topic, r.partition)) ?? r);
    }
    await this.#apply(rows);
  }

  /**
   * The leadership moves this broker asks for. A partition whose leader is dead or absent goes to its place
   * (placement over the live brokers). A live leader keeps its partitions (sticky: a broker's death moves
   * its partitions only, so only its groups and transactions change coordinator) unless the topic is
   * uneven: it hands a partition to that partition's place while it leads at least two more of the
   * topic's partitions than the place does (a broker that joined gets its share this way).
   */
  #plan(rows: readonly LeaderRow[]): Move[] {
    const live = this.#live.map((b) => b.nodeId);
    if (live.length === 0) return [];
    const isLive = new Set(live);
    const moves: Move[] = [];
    // Partitions of each topic per live broker, as they will be after the moves planned so far.
    const count = new Map<string, number>();
    const add = (topic: string, node: number, by: number) =>
      count.set(key(topic, node), (count.get(key(topic, node)) ?? 0) + by);
    const of = (topic: string, node: number) => count.get(key(topic, node)) ?? 0;
    const known = rows.filter((r) => {
      const t = this.#d.topics.get(r.topic);
      return t !== undefined && r.partition < t.partitions.length;
    });
    for (const r of known) if (isLive.has(r.leader)) add(r.topic, r.leader, 1);
    for (const r of known) {
      if (isLive.has(r.leader)) continue;
      const want = placement(r.topic, r.partition, live);
      moves.push({ topic: r.topic, partition: r.partition, fromEpoch: r.epoch, to: want });
      add(r.topic, want, 1);
    }
    for (const r of known) {
      if (r.leader !== this.nodeId) continue;
      const want = placement(r.topic, r.partition, live);
      if (want === this.nodeId || of(r.topic, this.nodeId) < of(r.topic, want) + 2) continue;
      moves.push({ topic: r.topic, partition: r.partition, fromEpoch: r.epoch, to: want });
      add(r.topic, this.nodeId, -1);
      add(r.topic, want, 1);
    }
    return moves;
  }

  async #apply(rows: readonly LeaderRow[]): Promise<void> {
    const d = this.#d;
    const isLive = new Set(this.#live.map((b) => b.nodeId));
    const leaders = new Map<string, { leader: number; epoch: number }>();
    for (const r of rows) {
      leaders.set(key(r.topic, r.partition), { leader: isLive.has(r.leader) ? r.leader : -1, epoch: r.epoch });
    }
    this.#leaders = leaders;
    // Lost first (appends stop at once), then gained (taken over before appends are let in).
    for (const [k, epoch] of this.#mine) {
      const now = leaders.get(k);
      if (!now || now.leader !== this.nodeId || now.epoch !== epoch) this.#mine.delete(k);
    }
    const gained: string[] = [];
    for (const r of rows) {
      const k = key(r.topic, r.partition);
      if (r.leader !== this.nodeId || this.#mine.get(k) === r.epoch) continue;
      if (!d.topics.get(r.topic)) continue;
      try {
        await d.takeOver(r.topic, r.partition);
        this.#mine.set(k, r.epoch);
        gained.push(`${r.topic}-${r.partition}@${r.epoch}`);
      } catch (e) {
        d.log("warn", `taking over ${r.topic}-${r.partition} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (gained.length > 0) {
      const shown = gained.length > 10
        ? `${gained.slice(0, 10).join(", ")} and ${gained.length - 10} more`
        : gained.join(", ");
      d.log("info", `now leading ${gained.length} partition(s) (topic-partition@epoch): ${shown}`);
    }
    await this.#coordinate();
  }

  /** Unloads the internal partitions lost, then loads those gained (taken over at their epoch). */
  async #coordinate(): Promise<void> {
    const d = this.#d;
    const lost: string[] = [];
    const gained: string[] = [];
    for (const [k, c] of this.#coordinated) {
      if (this.#mine.get(k) === c.epoch) continue;
      this.#coordinated.delete(k);
      lost.push(`${c.topic}-${c.partition}`);
      await d.coordinating(c.topic, c.partition, false);
    }
    for (const [k, epoch] of this.#mine) {
      if (this.#coordinated.has(k)) continue;
      const i = k.lastIndexOf("\u0000");
      const topic = k.slice(0, i);
      if (!isCoordinatorTopic(topic)) continue;
      const c = { topic, partition: Number(k.slice(i + 1)), epoch };
      this.#coordinated.set(k, c);
      gained.push(`${c.topic}-${c.partition}`);
      // Loading runs beside the beat (requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS); a failed
      // load gives the partition up here, so the next beat takes it over and loads it again.
      void d.coordinating(c.topic, c.partition, true).then((ok) => {
        if (ok || this.#coordinated.get(k) !== c) return;
        this.#coordinated.delete(k);
        if (this.#mine.get(k) === epoch) this.#mine.delete(k);
        return d.coordinating(c.topic, c.partition, false);
      });
    }
    const shown = (l: string[]) =>
      l.length > 10 ? `${l.slice(0, 10).join(", ")} and ${l.length - 10} more` : l.join(", ");
    if (lost.length > 0) d.log("info", `no longer coordinating ${lost.length} internal partition(s): ${shown(lost)}`);
    if (gained.length > 0) {
      d.log("info", `coordinating groups and transactions of ${gained.length} internal partition(s): ${shown(gained)}`);
    }
  }

  brokers(listener: ListenerView): BrokerNode[] {
    const out: BrokerNode[] = [{
      nodeId: this.nodeId,
      host: listener.advertised.host,
      port: listener.advertised.port,
      rack: this.#d.rack,
    }];
    for (const b of this.#live) {
      if (b.nodeId === this.nodeId) continue;
      const a = b.listeners[listener.name] ?? Object.values(b.listeners)[0];
      if (a) out.push({ nodeId: b.nodeId, host: a.host, port: a.port, rack: b.rack });
    }
    return out;
  }

  leader(topic: string, partition: number): { leader: number; epoch: number } {
    return this.#leaders.get(key(topic, partition)) ?? { leader: -1, epoch: 0 };
  }

  leads(topic: string, partition: number): boolean {
    return this.#mine.has(key(topic, partition));
  }

  /**
   * Where another live broker takes inter-broker requests: the advertised address of its listener
   * named `listener` (inter.broker.listener.name), else of its first listener.
   */
  addressOf(nodeId: number, listener?: string): { host: string; port: number } | null {
    const b = this.#live.find((x) => x.nodeId === nodeId);
    if (!b) return null;
    return (listener !== undefined ? b.listeners[listener] : undefined) ?? Object.values(b.listeners)[0] ?? null;
  }

  controllerId(): number {
    return this.#live[0]?.nodeId ?? this.nodeId;
  }

  topicsChanged(): Promise<void> {
    return this.tick();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#renewTimer !== null) clearTimeout(this.#renewTimer);
    await this.#beat?.catch(() => {});
    this.#mine.clear();
    for (const c of this.#coordinated.values()) await this.#d.coordinating(c.topic, c.partition, false);
    this.#coordinated.clear();
    await this.#d.pg.deregister(this.nodeId).catch((e) =>
      this.#d.log("warn", `leaving the cluster: ${e instanceof Error ? e.message : String(e)}`)
    );
  }
}
