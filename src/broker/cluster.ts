// The cluster as handlers see it: live brokers, each partition's leader and leader epoch, and the
// coordinator of groups and transactions. One broker alone (file or memory storage) is a cluster
// of one: it leads everything at epoch 0. On PostgreSQL storage every broker is a member
// (storage/postgres/cluster.ts holds the rows): it registers with a lease, renews it every
// broker.heartbeat.interval.ms on a timer and a connection of its own, and on each beat reads who is
// live and who leads what, moves leadership by compare-and-set (leaderless partitions to their
// preferred leader or place; at the periodic rebalance, partitions it leads back to their preferred
// leader, as Kafka's auto.leader.rebalance), picks up topics other brokers created or deleted, and
// takes over what it gained (re-reads the log end and producer state) before it accepts writes there
// or names itself leader, then marks it ready in PostgreSQL (the other brokers name it leader only
// then). Appends carry the leader epoch their Produce was checked under into PostgreSQL, so a stale
// leader is fenced. Preferred leaders: preferredLeaders (stable when a broker joins).
// The internal topics, created by the first FindCoordinator that needs them (ensureCoordinatorTopic),
// are placed like any other: the coordinator of a group is the leader of its
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
  /** The leader epoch this broker leads the partition at (taken over), undefined when it does not lead it. */
  heldEpoch?(topic: string, partition: number): number | undefined;
  /** Node id shown as the controller. */
  controllerId(): number;
  /** Call after topics were created or grew: places their partitions now rather than at the next beat. */
  topicsChanged(): Promise<void>;
  /**
   * ElectLeaders (PREFERRED) of `partitions` (null: all): the error code per partition known (NONE: moved to its
   * preferred leader; ELECTION_NOT_NEEDED; PREFERRED_LEADER_NOT_AVAILABLE; REQUEST_TIMED_OUT: not moved within
   * timeoutMs). Absent: one broker, always preferred.
   */
  electPreferred?(
    partitions: readonly { topic: string; partition: number }[] | null,
    timeoutMs?: number,
  ): Promise<Map<string, number>>;
  /**
   * Creates an internal coordinator topic (__consumer_offsets, __transaction_state) when missing and places its
   * partitions, as Kafka creates them on the first FindCoordinator that needs them. Absent: one broker, whose
   * coordinators create them at start.
   */
  ensureCoordinatorTopic?(topic: string): Promise<void>;
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
    heldEpoch: () => 0,
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
  /**
   * auto.leader.rebalance.enable: every leader.imbalance.check.interval.seconds (intervalMs) partitions move back to
   * their preferred leaders when a broker's share of them led elsewhere exceeds leader.imbalance.per.broker.percentage.
   * Null: leadership leaves a live broker only when it stops or its lease lapses.
   */
  rebalance: { intervalMs: number; percentage: number } | null;
  now(): number;
  log(level: LogLevel, message: string): void;
  /** Takes over a partition this broker just came to lead (log end, producer state). */
  takeOver(topic: string, partition: number): Promise<void>;
  /**
   * This broker gained (on, once taken over) or lost a partition of an internal topic: loads or unloads
   * the groups or transactions it holds. Resolves false when loading failed (retried at the next beat).
   */
  coordinating(topic: string, partition: number, on: boolean): Promise<boolean>;
  /** The partition count an internal coordinator topic is created with (offsets.topic.num.partitions, ...). */
  internalPartitions(topic: string): number;
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

/** A well-mixed 32-bit weight of (topic, partition, node id): the same on every broker and runtime. */
function weight(topic: string, partition: number, node: number): number {
  let h = 0x811c9dc5;
  const s = `${topic}\u0000${partition}\u0000${node}`;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Rendezvous (highest random weight) choice among `nodes`: where a partition goes when its preferred leader is not live. */
export function rendezvous(topic: string, partition: number, nodes: readonly number[]): number {
  let best = nodes[0];
  let bestW = -1;
  for (const n of nodes) {
    const w = weight(topic, partition, n);
    if (w > bestW) [best, bestW] = [n, w];
  }
  return best;
}

/**
 * The preferred leaders of a topic's partitions over `nodes` (every node id that ever registered, sorted): as if
 * the brokers had joined one by one in node id order, each newcomer taking its share (⌊P/k⌋, one more for some
 * topics so single partitions spread) from the brokers that hold the most, choosing the partitions of highest weight
 * for it. So each topic is spread evenly (counts differ by one at most), and a broker with a higher node id than all
 * the others joining takes only its share: no partition moves between the brokers already there.
 */
export function preferredLeaders(topic: string, partitions: number, nodes: readonly number[]): number[] {
  const out = new Array<number>(partitions).fill(nodes[0]);
  const held = new Map<number, number>([[nodes[0], partitions]]);
  for (let k = 2; k <= nodes.length; k++) {
    const b = nodes[k - 1];
    const take = Math.floor(partitions / k) + (weight(topic, -1, b) % k < partitions % k ? 1 : 0);
    const order = Array.from({ length: partitions }, (_, p) => ({ p, w: weight(topic, p, b) }))
      .sort((x, y) => y.w - x.w || x.p - y.p);
    held.set(b, 0);
    for (let n = 0; n < take; n++) {
      let most = 0;
      for (const [x, c] of held) if (x !== b && c > most) most = c;
      const { p } = order.find(({ p }) => out[p] !== b && held.get(out[p]) === most)!;
      held.set(out[p], most - 1);
      out[p] = b;
      held.set(b, n + 1);
    }
  }
  return out;
}

/** A list for a log line: the first ten, then how many more. */
function shown(l: readonly string[]): string {
  return l.length > 10 ? `${l.slice(0, 10).join(", ")} and ${l.length - 10} more` : l.join(", ");
}

/** A member of a cluster on PostgreSQL. start() registers (waiting out a previous incarnation's lease). */
export class Member implements Cluster {
  readonly nodeId: number;
  #d: MemberDeps;
  #live: { nodeId: number; rack: string | null; listeners: Record<string, { host: string; port: number }> }[] = [];
  /** Every node id that ever registered, sorted (what preferred leaders are spread over). */
  #known: number[] = [];
  /** #known as a string (what the preferred leaders cached were computed for). */
  #knownKey = "";
  /** Preferred leaders per topic, for the partition count and #known they were computed for. */
  #preferredCache = new Map<string, { of: string; leaders: number[] }>();
  /** Leaderless partitions and since when this broker has seen them so (for the fallback move in #plan). */
  #orphaned = new Map<string, number>();
  /** When the last periodic rebalance ran (leader.imbalance.check.interval.seconds). */
  #balancedAt = 0;
  /** The number of the last election request (ElectLeaders) seen. */
  #electionSeen = 0;
  #leaders = new Map<string, { leader: number; epoch: number }>();
  /** Partitions another broker leads but has not marked ready (taken over) yet: the epoch and since when seen so. */
  #unready = new Map<string, { epoch: number; since: number }>();
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
    this.#balancedAt = d.now();
    this.#scheduleRenewal();
    this.#topicsVersion = await d.pg.topicsVersion();
    this.#electionSeen = (await d.pg.election()).n;
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
    const members = await d.pg.members();
    this.#live = members.filter((m) => m.live);
    this.#known = members.map((m) => m.nodeId);
    this.#knownKey = this.#known.join(",");
    const version = await d.pg.topicsVersion();
    if (version !== this.#topicsVersion) {
      await d.topics.sync();
      this.#topicsVersion = version;
      for (const t of this.#preferredCache.keys()) if (!d.topics.get(t)) this.#preferredCache.delete(t);
    }
    let rows = await d.pg.leaders();
    const moves = this.#plan(rows);
    const balance = d.rebalance;
    const election = await d.pg.election();
    if (election.n !== this.#electionSeen) {
      // ElectLeaders (PREFERRED) through any broker: every partition named by a request not seen yet that this broker
      // leads elsewhere than its preferred leader goes there, whatever the imbalance (auto.leader.rebalance.enable or
      // not). Requests no longer kept (or a counter that went back) count as asking for all.
      const unseen = election.requests.filter((q) => q.n > this.#electionSeen);
      const lost = election.n < this.#electionSeen || (unseen[0]?.n ?? election.n + 1) > this.#electionSeen + 1;
      this.#electionSeen = election.n;
      const named = lost || unseen.some((q) => q.partitions === null)
        ? null
        : new Set(unseen.flatMap((q) => q.partitions!.map(([t, p]) => key(t, p))));
      const rebalanced = this.#imbalanced(rows, -1).filter((r) => !named || named.has(key(r.topic, r.partition)));
      moves.push(...(await this.#handOver(rebalanced)));
    } else if (balance && d.now() - this.#balancedAt >= balance.intervalMs) {
      this.#balancedAt = d.now();
      moves.push(...(await this.#handOver(this.#imbalanced(rows, balance.percentage))));
    }
    const moved = await d.pg.move(moves);
    if (moved.length < moves.length) {
      // Another broker moved some first (a new topic's partitions, placed by whoever sees them first): read them again.
      rows = await d.pg.leaders();
    } else if (moved.length > 0) {
      const byKey = new Map(moved.map((r) => [key(r.topic, r.partition), r]));
      rows = rows.map((r) => byKey.get(key(r.topic, r.partition)) ?? r);
    }
    await this.#apply(rows);
  }

  /** Rows of partitions of topics this broker knows. */
  #knownRows(rows: readonly LeaderRow[]): LeaderRow[] {
    return rows.filter((r) => {
      const t = this.#d.topics.get(r.topic);
      return t !== undefined && r.partition < t.partitions.length;
    });
  }

  /**
   * A partition's preferred leader (preferredLeaders over every node id that ever registered, live or not), as Kafka's
   * first replica: a broker's death or departure changes no partition's preferred leader, a new broker's arrival only
   * those of its share.
   */
  #preferred(r: { topic: string; partition: number }): number {
    const count = this.#d.topics.get(r.topic)?.partitions.length ?? r.partition + 1;
    const of = `${count}/${this.#knownKey}`;
    let c = this.#preferredCache.get(r.topic);
    if (c?.of !== of) {
      c = { of, leaders: preferredLeaders(r.topic, count, this.#known) };
      this.#preferredCache.set(r.topic, c);
    }
    return c.leaders[r.partition] ?? rendezvous(r.topic, r.partition, this.#known);
  }

  /** Where a leaderless partition goes: its preferred leader if live, else its rendezvous choice among the live. */
  #target(r: LeaderRow, live: readonly number[], isLive: ReadonlySet<number>): number {
    const p = this.#preferred(r);
    return isLive.has(p) ? p : rendezvous(r.topic, r.partition, live);
  }

  /**
   * Leaderless partitions (leader dead, gone or never set): what Kafka elects at once, never moving a live leader.
   * A partition never led (a new topic's) goes to its target at once, whoever sees it first (the broker that
   * created the topic answers with leaders). One whose leader died or left is claimed by its target itself, which
   * takes it over in the same beat (so brokers name it leader only once it can serve); any broker moves it there
   * if it is still leaderless a lease later (its target's beats stuck).
   */
  #plan(rows: readonly LeaderRow[]): Move[] {
    const live = this.#live.map((b) => b.nodeId);
    if (live.length === 0) return [];
    const isLive = new Set(live);
    const moves: Move[] = [];
    const now = this.#d.now();
    const orphans = new Map<string, number>();
    for (const r of this.#knownRows(rows)) {
      if (isLive.has(r.leader)) continue;
      const k = key(r.topic, r.partition);
      const since = this.#orphaned.get(k) ?? now;
      orphans.set(k, since);
      const to = this.#target(r, live, isLive);
      if (r.epoch === 0 || to === this.nodeId || now - since >= this.#d.leaseMs) {
        moves.push({ topic: r.topic, partition: r.partition, fromEpoch: r.epoch, to });
      }
    }
    this.#orphaned = orphans;
    return moves;
  }

  /**
   * The periodic rebalance (auto.leader.rebalance.enable, every leader.imbalance.check.interval.seconds), as
   * Kafka's controller runs it: for each live broker, the share of the partitions it is preferred leader of that
   * another broker leads; above leader.imbalance.per.broker.percentage, those partitions move back to it. Each
   * broker hands over only partitions it leads itself (and has taken over), so every such move is a clean hand-over.
   */
  #imbalanced(rows: readonly LeaderRow[], percentage: number): LeaderRow[] {
    const isLive = new Set(this.#live.map((b) => b.nodeId));
    const preferredOf = new Map<number, number>();
    const notLeading = new Map<number, number>();
    const known = this.#knownRows(rows);
    for (const r of known) {
      const p = this.#preferred(r);
      preferredOf.set(p, (preferredOf.get(p) ?? 0) + 1);
      if (r.leader !== p) notLeading.set(p, (notLeading.get(p) ?? 0) + 1);
    }
    const out: LeaderRow[] = [];
    for (const r of known) {
      const p = this.#preferred(r);
      if (r.leader !== this.nodeId || p === this.nodeId || !isLive.has(p)) continue;
      if (this.#mine.get(key(r.topic, r.partition)) !== r.epoch) continue;
      if ((notLeading.get(p) ?? 0) / (preferredOf.get(p) ?? 1) > percentage / 100) out.push(r);
    }
    return out;
  }

  /**
   * Hands partitions this broker leads to their preferred leaders: it stops leading them first (appends refused,
   * groups and transactions unloaded), then moves the epoch on. Appends already sent commit before the move or are
   * fenced by it (the epoch check in the append's statement), so nothing lands at the old epoch afterwards.
   */
  async #handOver(rows: readonly LeaderRow[]): Promise<Move[]> {
    const moves: Move[] = [];
    for (const r of rows) {
      const k = key(r.topic, r.partition);
      this.#mine.delete(k);
      const c = this.#coordinated.get(k);
      if (c) {
        this.#coordinated.delete(k);
        await this.#d.coordinating(c.topic, c.partition, false);
      }
      moves.push({ topic: r.topic, partition: r.partition, fromEpoch: r.epoch, to: this.#preferred(r) });
    }
    if (moves.length > 0) {
      this.#d.log(
        "info",
        `handing ${moves.length} partition(s) to their preferred leaders: ${
          shown(moves.map((m) => `${m.topic}-${m.partition}->${m.to}`))
        }`,
      );
    }
    return moves;
  }

  async #apply(rows: readonly LeaderRow[]): Promise<void> {
    const d = this.#d;
    const isLive = new Set(this.#live.map((b) => b.nodeId));
    const before = this.#leaders;
    const leaders = new Map<string, { leader: number; epoch: number }>();
    const unready = new Map<string, { epoch: number; since: number }>();
    const byKey = new Map<string, LeaderRow>();
    for (const r of rows) {
      const k = key(r.topic, r.partition);
      byKey.set(k, r);
      // Gained, not taken over yet (here), or led by another broker that has not marked it ready (taken over): named
      // leader only once it can serve; until then the leader shown before (another broker, which answers
      // NOT_LEADER_OR_FOLLOWER) or none (LEADER_NOT_AVAILABLE), as Kafka while a new leader is not ready. A leader
      // that does not mark it within a lease (one stuck, or a broker of a version without the mark) is named anyway.
      const mineNotYet = r.leader === this.nodeId && this.#mine.get(k) !== r.epoch;
      let otherNotYet = false;
      if (r.leader !== this.nodeId && isLive.has(r.leader) && !r.ready) {
        const u = this.#unready.get(k);
        const since = u?.epoch === r.epoch ? u.since : d.now();
        unready.set(k, { epoch: r.epoch, since });
        otherNotYet = d.now() - since < d.leaseMs;
      }
      if (mineNotYet || otherNotYet) {
        const prev = before.get(k);
        leaders.set(
          k,
          prev && prev.leader !== r.leader && prev.leader !== this.nodeId
            ? prev
            : { leader: -1, epoch: prev?.epoch ?? r.epoch },
        );
      } else leaders.set(k, { leader: isLive.has(r.leader) ? r.leader : -1, epoch: r.epoch });
    }
    this.#leaders = leaders;
    this.#unready = unready;
    // Lost first (appends stop at once), then gained (taken over before appends are let in).
    for (const [k, epoch] of this.#mine) {
      const now = byKey.get(k);
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
        leaders.set(k, { leader: this.nodeId, epoch: r.epoch });
        gained.push(`${r.topic}-${r.partition}@${r.epoch}`);
      } catch (e) {
        d.log("warn", `taking over ${r.topic}-${r.partition} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (gained.length > 0) {
      d.log("info", `now leading ${gained.length} partition(s) (topic-partition@epoch): ${shown(gained)}`);
    }
    // Taken over: marked ready, so the other brokers name this one leader at their next beat (again at the next beat
    // if marking failed).
    const ready = rows.filter((r) =>
      r.leader === this.nodeId && !r.ready && this.#mine.get(key(r.topic, r.partition)) === r.epoch
    );
    await d.pg.markReady(this.nodeId, ready).catch((e) =>
      d.log("warn", `marking ${ready.length} partition(s) ready failed: ${e instanceof Error ? e.message : String(e)}`)
    );
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

  heldEpoch(topic: string, partition: number): number | undefined {
    return this.#mine.get(key(topic, partition));
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

  async electPreferred(
    partitions: readonly { topic: string; partition: number }[] | null,
    timeoutMs = 30_000,
  ): Promise<Map<string, number>> {
    const isLive = new Set(this.#live.map((b) => b.nodeId));
    const rows = this.#knownRows(await this.#d.pg.leaders());
    const named = partitions === null ? null : new Set(partitions.map((p) => key(p.topic, p.partition)));
    const out = new Map<string, number>();
    for (const r of rows) {
      const k = key(r.topic, r.partition);
      if (named && !named.has(k)) continue;
      const p = this.#preferred(r);
      out.set(
        k,
        r.leader === p && isLive.has(p)
          ? ErrorCode.ELECTION_NOT_NEEDED
          : !isLive.has(p)
          ? ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
          : ErrorCode.NONE,
      );
    }
    const elect = new Set([...out].filter(([, c]) => c === ErrorCode.NONE).map(([k]) => k));
    if (elect.size === 0) return out;
    await this.#d.pg.requestElection(
      partitions === null ? null : rows.filter((r) => elect.has(key(r.topic, r.partition))),
    );
    await this.tick();
    // Answered once the partitions moved to their preferred leaders and those took them over (as Kafka answers after
    // the election), or with REQUEST_TIMED_OUT for those that had not within the request's timeout.
    const deadline = this.#d.now() + timeoutMs;
    for (;;) {
      for (const r of await this.#d.pg.leaders()) {
        const k = key(r.topic, r.partition);
        if (elect.has(k) && r.leader === this.#preferred(r) && r.ready) elect.delete(k);
      }
      if (elect.size === 0 || this.#closed || this.#d.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, this.#d.heartbeatMs)));
    }
    for (const k of elect) out.set(k, ErrorCode.REQUEST_TIMED_OUT);
    await this.tick();
    return out;
  }

  async ensureCoordinatorTopic(topic: string): Promise<void> {
    const d = this.#d;
    if (d.topics.get(topic) || !isCoordinatorTopic(topic)) return;
    try {
      const { created } = await d.topics.ensureInternal(topic, d.internalPartitions(topic));
      if (created) {
        d.log("info", `created ${topic} (first asked for a coordinator), over ${this.#live.length} broker(s)`);
      }
    } catch (e) {
      // Another broker created it meanwhile (TOPIC_EXISTS before this one synced it): the beat picks it up.
      if ((e as { code?: string }).code !== "TOPIC_EXISTS") throw e;
    }
    // Answered once every partition has a leader that took it over (the other brokers do at their next beat), so the
    // first FindCoordinator names the coordinators; a lease at most.
    const until = d.now() + d.leaseMs;
    for (;;) {
      await this.tick();
      const n = d.topics.get(topic)?.partitions.length ?? 0;
      let named = n > 0;
      for (let p = 0; p < n && named; p++) named = this.leader(topic, p).leader >= 0;
      if (named || this.#closed || d.now() >= until) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, d.heartbeatMs)));
    }
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
