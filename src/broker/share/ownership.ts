// Cluster: which partitions' share-partitions this broker holds, and at which leader epoch. The leader of a
// partition serves its share-partitions (every group's); it loads them from __share_group_state when it gains
// the partition (if share state is stored for it: ShareCoordinator.gained) or first serves it at a leader epoch,
// and claims them there at that epoch in the same step (takeOver, ShareStateLog.claim); it forgets them when
// it no longer leads the partition, when a later leader's claim is seen (fenced: checked after each acquisition
// and by each state write), or when an admin API rewrote their state (reloaded when next served).
import { ErrorCode } from "../../protocol/errors.ts";
import type { LogLevel } from "../../runtime.ts";
import type { PartitionLog } from "../../storage/store.ts";
import type { Cluster } from "../cluster.ts";
import type { Topics } from "../topics.ts";
import type { ShareStateLog } from "./state_log.ts";
import { SHARE_STATE_TOPIC } from "./state_log.ts";

const pkey = (topicId: string, partition: number) => `${topicId}\u0000${partition}`;

export type OwnershipDeps = {
  cluster: Cluster;
  topics: Topics;
  log(level: LogLevel, message: string): void;
  /** Rebuilds every group's share-partition of one partition from what is stored; the offset it read through. */
  load(topicId: string, partition: number): Promise<number>;
  /** Forgets every group's share-partition of one partition. */
  forget(topicId: string, partition: number): void;
};

export class Ownership {
  /** topicId \0 partition -> the leader epoch its share-partitions were loaded (and claimed) at. */
  private readonly loadedAt = new Map<string, number>();
  private readonly loading = new Map<string, Promise<void>>();
  /** topicId \0 partition -> the __share_group_state offset its share-partitions were loaded up to. */
  private readonly loadedThrough = new Map<string, number>();
  /** topicId \0 partition -> the offset of the latest admin rewrite of its share state seen. */
  private readonly resets = new Map<string, number>();
  /** Set right after construction (the state log needs this object's callbacks first). */
  state!: ShareStateLog;

  constructor(private readonly deps: OwnershipDeps) {}

  /** The leader epoch this broker holds the partition's share-partitions at (undefined: not held). */
  epochOf(topicId: string, partition: number): number | undefined {
    return this.loadedAt.get(pkey(topicId, partition));
  }

  /** A share-partition's state was rewritten by an admin API at `offset`: reloaded when next served. */
  onReset(topicId: string, partition: number, offset: number): void {
    // Only a rewrite after what the share-partitions were loaded from.
    const k = pkey(topicId, partition);
    this.resets.set(k, Math.max(offset, this.resets.get(k) ?? -1));
    if (offset >= (this.loadedThrough.get(k) ?? 0)) this.loadedAt.delete(k);
  }

  /** Not held any more (rewritten here, or no longer led): loaded again when next served. */
  unload(topicId: string, partition: number): void {
    this.loadedAt.delete(pkey(topicId, partition));
  }

  /**
   * NONE when this broker leads the partition and holds its share-partitions at the current leader epoch
   * (loaded from __share_group_state and claimed first when it does not yet), NOT_LEADER_OR_FOLLOWER when
   * another broker leads it (or claimed it), COORDINATOR_NOT_AVAILABLE when the stored state could not be read.
   */
  async own(log: PartitionLog): Promise<number> {
    const cluster = this.deps.cluster;
    const topicId = this.deps.topics.get(log.topic)?.id;
    if (!topicId || !cluster.leads(log.topic, log.partition)) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const k = pkey(topicId, log.partition);
    const epoch = cluster.leader(log.topic, log.partition).epoch;
    while (this.loadedAt.get(k) !== epoch) {
      // A later leader claimed the partition: this broker's view of the leadership is behind.
      if (this.state.leaderFence(topicId, log.partition) > epoch) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
      const busy = this.loading.get(k);
      if (busy) {
        await busy.catch(() => {});
        continue;
      }
      const p = this.takeOver(topicId, log.partition, epoch).finally(() => this.loading.delete(k));
      this.loading.set(k, p);
      try {
        await p;
      } catch (e) {
        this.deps.log(
          "warn",
          `loading share state of ${log.topic}-${log.partition}: ${e instanceof Error ? e.message : String(e)}`,
        );
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      if (!cluster.leads(log.topic, log.partition)) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    }
    return ErrorCode.NONE;
  }

  /**
   * Loads the partition's share-partitions as stored and claims them at `epoch` in one step
   * (ShareStateLog.claim): loaded again when something was written for them meanwhile, dropped when a
   * later leader claimed them already.
   */
  private async takeOver(topicId: string, partition: number, epoch: number): Promise<void> {
    const k = pkey(topicId, partition);
    for (let attempt = 0;; attempt++) {
      const through = await this.deps.load(topicId, partition);
      this.loadedThrough.set(k, through);
      const claim = await this.state.claim(topicId, partition, epoch, through);
      if (claim === "fenced") {
        this.deps.forget(topicId, partition);
        return;
      }
      if (claim === "moved" && attempt < 20) continue;
      if (claim === "moved") throw new Error("its share state keeps changing under the load");
      // A rewrite seen meanwhile that the load did not include: load again.
      if ((this.resets.get(k) ?? -1) < through) this.loadedAt.set(k, epoch);
      return;
    }
  }

  /**
   * Whether a later leader claimed the partition since this broker loaded its share-partitions, or they are
   * not held any more (its acquisitions and writes are then void); forgets them if so.
   */
  fenced(topicId: string, partition: number): boolean {
    const at = this.loadedAt.get(pkey(topicId, partition));
    if (at !== undefined && this.state.leaderFence(topicId, partition) <= at) return false;
    this.deps.forget(topicId, partition);
    this.loadedAt.delete(pkey(topicId, partition));
    return true;
  }

  /** Whether this broker still leads the partition at the epoch it holds its share-partitions at, unclaimed since. */
  held(topic: string, topicId: string, partition: number): boolean {
    const cluster = this.deps.cluster;
    const at = this.loadedAt.get(pkey(topicId, partition));
    return cluster.leads(topic, partition) && at === cluster.leader(topic, partition).epoch &&
      this.state.leaderFence(topicId, partition) <= at;
  }

  /**
   * Records acquired here are handed out only if no later leader has claimed their partition meanwhile (read
   * from storage now): a former leader that still believes it leads (its lease lapsed unseen, paused) stops
   * handing out records as soon as the new leader took the partition over. Those of a claimed partition are
   * withdrawn (NOT_LEADER_OR_FOLLOWER; the records stay the new leader's to give).
   */
  async checkClaims(
    out: { topicId: string; partition: number; errorCode: number; records: unknown[]; acquired: unknown[] }[],
  ): Promise<void> {
    try {
      await this.state.refreshFences();
    } catch (e) {
      // Unverified, as before any claim: handed out (the member's acknowledgements are fenced when written).
      this.deps.log("warn", `reading ${SHARE_STATE_TOPIC}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    for (const r of out) {
      if (r.acquired.length === 0 || !this.fenced(r.topicId, r.partition)) continue;
      this.deps.log(
        "info",
        `share-partition ${r.topicId}-${r.partition}: a later leader took it over; not served here`,
      );
      r.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
      r.records = [];
      r.acquired = [];
    }
  }
}
