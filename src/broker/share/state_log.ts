// Share groups' stored state: the compacted internal topic __share_group_state, as Kafka's share
// coordinator keeps it. Keys (NUL-separated):
//   g <group>                          the group exists: its epoch (tombstone: deleted); records written
//                                      before configs had their own key also carry the group's configs
//   c <group>                          the group's configs (tombstone: none)
//   m <group> <member>                 cluster: a member and its subscription, so that the group's next
//                                      coordinator knows it (tombstone: it left)
//   p <group> <topicId> <partition>    a share-partition's whole state (ShareSnapshot), with an id
//   u <group> <topicId> <partition> <slot>
//                                      a delta (ShareUpdate): the records changed since the last write,
//                                      valid over the snapshot of the same id
//   l <topicId> <partition>            cluster: the leader epoch at which the partition's leader last
//                                      took over its share-partitions (every group's)
// A share-partition's state is written as a snapshot first, then one delta per write, then a new
// snapshot after share.coordinator.snapshot.update.records.per.snapshot deltas (Kafka's name and
// default, 500). Deltas go to numbered slots that the next round overwrites, so compaction keeps at
// most that many per share-partition; replay skips a slot left from an older round (another id).
// Everything is written through the storage contract, durably, before the caller answers.
// In a cluster (`shared`) every broker writes here (share-partition leaders their states, group
// coordinators their groups): each write is a compare-and-set on the log end (PartitionLog.appendIf),
// retried after re-reading the log end when another broker appended first; loadPartition replays what
// any broker wrote for one partition (a broker that just came to lead it). Share-partition records then
// carry the leader epoch they were written at (`le`), as Kafka's share coordinator fences writers by
// state epoch: a broker that finds a record of a later epoch for a share-partition refuses to write
// it (it no longer leads the partition), and replay skips records of an epoch below the latest seen.
// A broker that comes to lead a partition claims it before serving it (claim): an `l` record at its leader
// epoch, appended at the log end it loaded the share-partitions through, so the claim and the load are one
// step. From then on the former leader's writes are refused (they find the later epoch under the same
// compare-and-set) and its acquisitions too (it checks the claims after acquiring: leaderFence).
import type { BrokerConfig } from "../../config.ts";
import { configNumber } from "../../config.ts";
import { buildRecordBatch, decodeRecords, scanBatches } from "../../protocol/record_batch.ts";
import type { LogLevel } from "../../runtime.ts";
import { isLogEndMoved } from "../../storage/store.ts";
import type { PartitionLog } from "../../storage/store.ts";
import { forEachBatch, forEachRecord } from "../log_scan.ts";
import type { Topics } from "../topics.ts";
import type { SharePartition, SharePartitionSnapshot } from "./partition.ts";

export const SHARE_STATE_TOPIC = "__share_group_state";

/**
 * A record of __share_group_state; `sp` is the share-partition whose state it stores, `fence` (cluster)
 * its share-partition key and the leader epoch it is written at.
 */
export type StateRecord = { key: string; value: unknown; sp?: SharePartition; fence?: { key: string; le: number } };

/** A group record; `configs` only in records written before configs had their own key. */
export type StoredGroup = { groupEpoch: number; configs?: Record<string, string> };

/** What replaying the topic builds, through the coordinator's own structures. */
export type Replay = {
  /** A group record (null: deleted). */
  group(groupId: string, value: StoredGroup | null): void;
  /** A configs record (null: none set). */
  configs(groupId: string, value: Record<string, string> | null): void;
  /** The share-partition to restore a snapshot into (created), or to apply a delta to (`topic` null: never created). */
  partition(groupId: string, topicId: string, topic: string | null, partition: number): SharePartition | undefined;
  partitionGone(groupId: string, topicId: string, partition: number): void;
};

const enc = new TextEncoder();
const dec = new TextDecoder();
const snapshotKey = (group: string, topicId: string, partition: number) =>
  `p\u0000${group}\u0000${topicId}\u0000${partition}`;
const deltaKey = (group: string, topicId: string, partition: number, slot: number) =>
  `u\u0000${group}\u0000${topicId}\u0000${partition}\u0000${slot}`;

/** A stored member (cluster). */
export type StoredMember = { subscribed: string[]; rackId: string | null; clientId: string; clientHost: string };

export class ShareStateLog {
  private started = false;
  /** Cluster: where catchUp reads from next. */
  private readTo = 0;
  /** Cluster: share-partition (group \0 topicId \0 partition) -> the latest leader epoch written for it. */
  private readonly fences = new Map<string, number>();
  /** Cluster: partition (topicId \0 partition) -> the latest leader epoch that claimed it (`l` records). */
  private readonly claims = new Map<string, number>();
  /** Cluster: partitions (topicId \0 partition) with share state stored, as last read. */
  private readonly stateful = new Set<string>();
  /** Cluster: where write's fence check reads from next. */
  private fencedTo = 0;
  /** Share-partition -> its latest write (settled when done): the next one waits for it. */
  private readonly writing = new Map<SharePartition, Promise<void>>();
  /** Share-partition -> ids of its records whose write failed, while more of its writes are queued. */
  private readonly failed = new Map<SharePartition, Set<string>>();

  constructor(
    private readonly deps: {
      config: BrokerConfig;
      topics: Topics;
      now(): number;
      log(level: LogLevel, message: string): void;
      /** Several brokers write the topic (a cluster on PostgreSQL). */
      shared?: boolean;
      /** Cluster: the leader epoch this broker holds a share-partition's partition at. */
      leaderEpochOf?: (sp: SharePartition) => number | undefined;
      /**
       * Cluster: a share-partition's state was rewritten outside its leader (AlterShareGroupOffsets,
       * DeleteShareGroupOffsets, DeleteGroups at the group's coordinator): its leader reloads it.
       */
      onReset?: (topicId: string, partition: number, offset: number) => void;
    },
  ) {}

  /** Replays the topic (created when missing); writes are no-ops before this. */
  async load(replay: Replay): Promise<void> {
    const { topic } = await this.deps.topics.ensureInternal(SHARE_STATE_TOPIC, 1);
    this.started = true;
    await this.replay(topic.partitions[0], replay, null);
  }

  /**
   * Cluster: replays, as of now (the log end re-read), the group records and the records of one
   * partition's share-partitions (every group's), which `replay` rebuilds from nothing.
   */
  async loadPartition(topicId: string, partition: number, replay: Replay): Promise<number> {
    const { topic } = await this.deps.topics.ensureInternal(SHARE_STATE_TOPIC, 1);
    const log = topic.partitions[0];
    await log.refresh?.(true);
    const end = log.logEndOffset;
    await this.replay(log, replay, (_, t, p) => t === topicId && p === partition);
    return end; // what it read up to: later records are news
  }

  /** Cluster: replays, as of now, the group records and one group's share-partitions (every partition's). */
  async loadGroup(groupId: string, replay: Replay): Promise<void> {
    const { topic } = await this.deps.topics.ensureInternal(SHARE_STATE_TOPIC, 1);
    const log = topic.partitions[0];
    await log.refresh?.(true);
    await this.replay(log, replay, (g) => g === groupId);
  }

  /**
   * Cluster: the members of the groups `mine` picks, as stored now (a broker that just came to coordinate
   * them), and the groups' epochs.
   */
  async loadMembers(
    mine: (groupId: string) => boolean,
    found: {
      member(groupId: string, memberId: string, v: StoredMember | null): void;
      epoch(groupId: string, epoch: number | null): void;
    },
  ): Promise<void> {
    const { topic } = await this.deps.topics.ensureInternal(SHARE_STATE_TOPIC, 1);
    const log = topic.partitions[0];
    await log.refresh?.(true);
    await forEachRecord(log, (r) => {
      if (r.key === null) return;
      const [kind, group, memberId] = dec.decode(r.key).split("\u0000");
      if ((kind !== "m" && kind !== "g") || !mine(group)) return;
      const v = r.value === null ? null : JSON.parse(dec.decode(r.value));
      if (kind === "m") found.member(group, memberId, v);
      else found.epoch(group, v === null ? null : v.groupEpoch);
    }, (e) => this.deps.log("error", `${SHARE_STATE_TOPIC}: skipping an unreadable batch: ${String(e)}`));
  }

  memberRecord(groupId: string, memberId: string, v: StoredMember | null): StateRecord {
    return { key: `m\u0000${groupId}\u0000${memberId}`, value: v };
  }

  /**
   * Cluster: the group and config records other brokers wrote since this one last read (the log end
   * re-read first); share-partition records are left to loadPartition.
   */
  async catchUp(replay: Pick<Replay, "group" | "configs">): Promise<void> {
    const log = this.deps.topics.get(SHARE_STATE_TOPIC)?.partitions[0];
    if (!this.started || !log) return;
    await log.refresh?.(true);
    await this.scanFences(log);
    const from = this.readTo;
    if (log.logEndOffset <= from) return;
    this.readTo = log.logEndOffset;
    await forEachBatch(log, from, (b) => {
      try {
        for (const r of decodeRecords(b).records) {
          if (r.offset < BigInt(from) || r.key === null) continue;
          const [kind, group] = dec.decode(r.key).split("\u0000");
          const v = r.value === null ? null : JSON.parse(dec.decode(r.value));
          if (kind === "c") replay.configs(group, v === null ? null : v.configs ?? {});
          else if (kind === "g") replay.group(group, v === null ? null : { groupEpoch: v.groupEpoch });
        }
      } catch (e) {
        this.deps.log("error", `${SHARE_STATE_TOPIC}: skipping an unreadable batch: ${String(e)}`);
      }
    });
  }

  private async replay(
    log: PartitionLog,
    replay: Replay,
    /** Which share-partitions' records to replay (all when null); group and config records always. */
    only: ((group: string, topicId: string, partition: number) => boolean) | null,
  ): Promise<void> {
    if (!only) this.readTo = this.fencedTo = log.logEndOffset;
    // Delta slots seen before their share-partition's snapshot (after compaction, slots left from an older
    // round come before the newer snapshot): counted in its maxSlot once it exists, so its tombstones cover them.
    const earlySlots = new Map<string, number>();
    const spKey = (group: string, topicId: string, partition: number) => `${group}\u0000${topicId}\u0000${partition}`;
    await forEachRecord(log, (r) => {
      if (r.key === null) return;
      const [kind, group, topicId, p, slotText] = dec.decode(r.key).split("\u0000");
      if (kind === "l") {
        if (r.value !== null) this.claimed(group, Number(topicId), JSON.parse(dec.decode(r.value)).le);
        return;
      }
      const partition = Number(p);
      if (kind === "p" || kind === "u") this.stateful.add(`${topicId}\u0000${partition}`);
      if (only && kind !== "g" && kind !== "c" && !only(group, topicId, partition)) return;
      if (r.value === null) {
        if (kind === "g") replay.group(group, null);
        if (kind === "c") replay.configs(group, null);
        if (kind === "p") replay.partitionGone(group, topicId, partition);
        return;
      }
      const v = JSON.parse(dec.decode(r.value));
      if ((kind === "p" || kind === "u") && !this.fenced(`${group}\u0000${topicId}\u0000${partition}`, v.le)) return;
      if (kind === "g") {
        replay.group(group, { groupEpoch: v.groupEpoch, ...(v.configs ? { configs: v.configs } : {}) });
      } else if (kind === "c") {
        replay.configs(group, v.configs ?? {});
      } else if (kind === "p") {
        const sp = replay.partition(group, topicId, v.topic, partition)!;
        sp.restore(v.state as SharePartitionSnapshot);
        const early = earlySlots.get(spKey(group, topicId, partition));
        if (early !== undefined) sp.persisted.maxSlot = Math.max(sp.persisted.maxSlot, early);
        // Snapshots written before deltas existed have no id: the next write is a snapshot again.
        sp.persisted.snapshotId = typeof v.id === "string" ? v.id : "";
        sp.persisted.deltas = 0;
      } else if (kind === "u") {
        const sp = replay.partition(group, topicId, null, partition);
        const slot = Number(slotText);
        if (!sp) {
          const k = spKey(group, topicId, partition);
          earlySlots.set(k, Math.max(earlySlots.get(k) ?? -1, slot));
          return;
        }
        sp.persisted.maxSlot = Math.max(sp.persisted.maxSlot, slot);
        // A delta applies only over the snapshot it follows.
        if (sp.persisted.snapshotId === "" || v.id !== sp.persisted.snapshotId) return;
        sp.applyDelta(v.state as SharePartitionSnapshot);
        sp.persisted.deltas = slot + 1;
      }
    }, (e) => this.deps.log("error", `${SHARE_STATE_TOPIC}: skipping an unreadable batch: ${String(e)}`));
  }

  /**
   * Whether a share-partition record written at leader epoch `le` counts (no epoch: one broker alone,
   * or written before epochs were kept): not below the latest epoch seen for it, which it raises.
   */
  private fenced(key: string, le: unknown): boolean {
    if (typeof le !== "number") return true;
    const seen = this.fences.get(key) ?? -1;
    if (le < seen) return false;
    this.fences.set(key, le);
    return true;
  }

  /** Cluster: reads the epochs of share-partition records written since the last look (fence checks). */
  private async scanFences(log: PartitionLog): Promise<void> {
    const from = this.fencedTo;
    if (log.logEndOffset <= from) return;
    this.fencedTo = log.logEndOffset;
    await forEachBatch(log, from, (b) => {
      try {
        for (const r of decodeRecords(b).records) {
          if (r.offset < BigInt(from) || r.key === null) continue;
          const [kind, group, topicId, p] = dec.decode(r.key).split("\u0000");
          if (kind === "l" && r.value !== null) {
            this.claimed(group, Number(topicId), JSON.parse(dec.decode(r.value)).le);
          }
          if (kind !== "p" && kind !== "u") continue;
          this.stateful.add(`${topicId}\u0000${Number(p)}`);
          const le = r.value === null ? undefined : JSON.parse(dec.decode(r.value)).le;
          // Written without a leader epoch in a cluster: by a group's coordinator (admin), so reloaded.
          if (le === undefined && kind === "p") this.deps.onReset?.(topicId, Number(p), Number(r.offset));
          else this.fenced(`${group}\u0000${topicId}\u0000${Number(p)}`, le);
        }
      } catch {
        // Unreadable: replay logs it.
      }
    });
  }

  private claimed(topicId: string, partition: number, le: unknown): void {
    if (typeof le !== "number") return;
    const k = `${topicId}\u0000${partition}`;
    if (le > (this.claims.get(k) ?? -1)) this.claims.set(k, le);
  }

  /** Cluster: the latest leader epoch that claimed the partition's share-partitions, as last read (-1: none). */
  leaderFence(topicId: string, partition: number): number {
    return this.claims.get(`${topicId}\u0000${partition}`) ?? -1;
  }

  /** Cluster: whether share state was ever stored for the partition (or it was claimed), as last read. */
  hasState(topicId: string, partition: number): boolean {
    const k = `${topicId}\u0000${partition}`;
    return this.stateful.has(k) || this.claims.has(k);
  }

  /** Cluster: reads the claims (and share-partition epochs) written since the last look. */
  async refreshFences(): Promise<void> {
    const log = this.deps.topics.get(SHARE_STATE_TOPIC)?.partitions[0];
    if (!this.started || !log) return;
    await log.refresh?.(true);
    await this.scanFences(log);
  }

  /**
   * Cluster: claims the partition's share-partitions for this broker at leader epoch `le`, having loaded them
   * through offset `through` (loadPartition): an `l` record appended only while nothing was written for the
   * partition since then. "moved": something was (a former leader's last write, an admin rewrite): load again;
   * "fenced": a later leader claimed it already.
   */
  async claim(
    topicId: string,
    partition: number,
    le: number,
    through: number,
  ): Promise<"claimed" | "moved" | "fenced"> {
    const log = (await this.deps.topics.ensureInternal(SHARE_STATE_TOPIC, 1)).topic.partitions[0];
    if (!log.appendIf) return "claimed";
    const batch = buildRecordBatch({
      records: [{
        key: enc.encode(`l\u0000${topicId}\u0000${partition}`),
        value: enc.encode(JSON.stringify({ le })),
        timestamp: this.deps.now(),
      }],
    });
    const metas = scanBatches(batch);
    if (!Array.isArray(metas)) throw new Error("unreadable claim batch");
    for (let attempt = 0;; attempt++) {
      await log.refresh?.(true);
      await this.scanFences(log);
      if (this.leaderFence(topicId, partition) > le) return "fenced";
      if (log.logEndOffset > through) {
        if (await this.touched(log, through, topicId, partition)) return "moved";
        through = log.logEndOffset;
      }
      try {
        await log.appendIf(through, batch, metas, { durable: true });
        this.claimed(topicId, partition, le);
        return "claimed";
      } catch (e) {
        if (!isLogEndMoved(e) || attempt >= 50) throw e;
      }
    }
  }

  /** Whether a share-partition record of the partition (any group's) was written at or after `from`. */
  private async touched(log: PartitionLog, from: number, topicId: string, partition: number): Promise<boolean> {
    let found = false;
    await forEachBatch(log, from, (b) => {
      try {
        for (const r of decodeRecords(b).records) {
          if (found || r.offset < BigInt(from) || r.key === null) continue;
          const [kind, , t, p] = dec.decode(r.key).split("\u0000");
          if ((kind === "p" || kind === "u") && t === topicId && Number(p) === partition) found = true;
        }
      } catch {
        // Unreadable: replay logs it.
      }
    });
    return found;
  }

  /**
   * Appends the records durably; false (logged) when the write failed. Writes of one share-partition go
   * one after another: a delta made while an earlier write was in flight is written only once that one
   * is stored, and as a whole snapshot if it failed (were it written anyway, the stored state would lack
   * the failed delta's changes until the next snapshot, and a restart in between would lose them).
   */
  write(records: StateRecord[]): Promise<boolean> {
    if (!this.started || records.length === 0) return Promise.resolve(true);
    const sps = new Set<SharePartition>();
    for (const r of records) if (r.sp) sps.add(r.sp);
    if (sps.size === 0) return this.append(records);
    const before: Promise<unknown>[] = [];
    for (const sp of sps) {
      const w = this.writing.get(sp);
      if (w) before.push(w);
    }
    const done = before.length === 0
      ? this.append(records)
      : Promise.all(before).then(() => this.append(records.map((r) => this.current(r))));
    const settled = done.then(() => {}, () => {});
    for (const sp of sps) this.writing.set(sp, settled);
    void settled.then(() => {
      for (const sp of sps) {
        if (this.writing.get(sp) !== settled) continue;
        this.writing.delete(sp);
        this.failed.delete(sp);
      }
    });
    return done;
  }

  /**
   * A queued record as it is to be written: a delta that follows a failed write of its share-partition
   * becomes a whole snapshot. That snapshot is the one the next deltas follow, unless a newer snapshot,
   * made before this write and queued behind it, already is: then it only bridges until that one.
   */
  private current(r: StateRecord): StateRecord {
    const v = r.value as { id?: string; le?: number } | null;
    const lost = r.sp && this.failed.get(r.sp);
    if (!lost || v === null || !r.key.startsWith("u\u0000") || !lost.has(v.id ?? "")) return r;
    const sp = r.sp!;
    const group = r.key.split("\u0000")[1];
    const epoch = v.le === undefined ? {} : { le: v.le };
    const fence = r.fence ? { fence: r.fence } : {};
    if (sp.persisted.snapshotId === "" || lost.has(sp.persisted.snapshotId)) {
      return { ...this.snapshotRecord(group, sp, epoch), ...fence };
    }
    const value = { topic: sp.topic, id: crypto.randomUUID(), state: sp.view(), ...epoch };
    return { key: snapshotKey(group, sp.topicId, sp.partition), value, sp, ...fence };
  }

  /**
   * Records of share-partitions that were not written: deltas queued after them are written as snapshots,
   * and the next record made of a share-partition is a snapshot (`all`: whatever was made since).
   */
  private lose(records: StateRecord[], all: boolean): void {
    for (const r of records) {
      if (!r.sp) continue;
      const id = (r.value as { id?: string } | null)?.id;
      if (id === undefined) continue;
      let lost = this.failed.get(r.sp);
      if (!lost) this.failed.set(r.sp, lost = new Set());
      lost.add(id);
      if (all || id === r.sp.persisted.snapshotId) r.sp.persisted.snapshotId = "";
    }
  }

  private async append(records: StateRecord[]): Promise<boolean> {
    let log = this.deps.topics.get(SHARE_STATE_TOPIC)?.partitions[0];
    if (!log) log = (await this.deps.topics.ensureInternal(SHARE_STATE_TOPIC, 1)).topic.partitions[0];
    const now = this.deps.now();
    const batch = buildRecordBatch({
      records: records.map((r) => ({
        key: enc.encode(r.key),
        value: r.value === null ? null : enc.encode(JSON.stringify(r.value)),
        timestamp: now,
      })),
    });
    const metas = scanBatches(batch);
    if (!Array.isArray(metas)) return false;
    try {
      if (this.deps.shared && log.appendIf) {
        // Another broker may have appended since this one last looked: re-read the end and try again.
        for (let attempt = 0;; attempt++) {
          await log.refresh?.(true);
          await this.scanFences(log);
          // A later leader wrote the share-partition, or it was reset (and so unloaded) since this record was made.
          const stale = records.find((r) =>
            r.fence &&
            ((this.fences.get(r.fence.key) ?? -1) > r.fence.le ||
              this.leaderFence(r.sp!.topicId, r.sp!.partition) > r.fence.le ||
              this.deps.leaderEpochOf?.(r.sp!) !== r.fence.le)
          );
          if (stale) {
            this.deps.log(
              "warn",
              `not writing ${SHARE_STATE_TOPIC} for ${stale.sp?.topic}-${stale.sp?.partition}: a later leader wrote its share state`,
            );
            this.lose(records, true);
            return false;
          }
          try {
            await log.appendIf(log.logEndOffset, batch, metas, { durable: true });
            for (const r of records) if (r.fence) this.fenced(r.fence.key, r.fence.le);
            break;
          } catch (e) {
            if (!isLogEndMoved(e) || attempt >= 50) throw e;
          }
        }
      } else await log.append(batch, metas, { durable: true });
      return true;
    } catch (e) {
      this.deps.log("error", `writing ${SHARE_STATE_TOPIC} failed: ${e instanceof Error ? e.message : String(e)}`);
      // The deltas taken for this write are lost: the next write of those partitions is a whole snapshot
      // (unless one was made since, which holds them).
      this.lose(records, false);
      return false;
    }
  }

  configsRecord(groupId: string, configs: Record<string, string> | null): StateRecord {
    return { key: `c\u0000${groupId}`, value: configs === null ? null : { configs } };
  }

  groupRecord(groupId: string, value: StoredGroup | null): StateRecord {
    return { key: `g\u0000${groupId}`, value };
  }

  /** The record that stores what changed in a share-partition: a delta, or a snapshot when one is due. */
  partitionRecord(group: string, sp: SharePartition): StateRecord {
    const le = this.deps.leaderEpochOf?.(sp);
    const fence = le === undefined ? {} : { fence: { key: `${group}\u0000${sp.topicId}\u0000${sp.partition}`, le } };
    const epoch = le === undefined ? {} : { le };
    const p = sp.persisted;
    if (
      p.snapshotId === "" ||
      p.deltas >= configNumber(this.deps.config, "share.coordinator.snapshot.update.records.per.snapshot")
    ) return { ...this.snapshotRecord(group, sp, epoch), ...fence };
    const slot = p.deltas++;
    p.maxSlot = Math.max(p.maxSlot, slot);
    return {
      key: deltaKey(group, sp.topicId, sp.partition, slot),
      value: { id: p.snapshotId, state: sp.delta(), ...epoch },
      sp,
      ...fence,
    };
  }

  /** A share-partition's whole state, under a new snapshot id. */
  private snapshotRecord(group: string, sp: SharePartition, epoch: { le?: number }): StateRecord {
    const p = sp.persisted;
    p.snapshotId = crypto.randomUUID();
    p.deltas = 0;
    return {
      key: snapshotKey(group, sp.topicId, sp.partition),
      value: { topic: sp.topic, id: p.snapshotId, state: sp.snapshot(), ...epoch },
      sp,
    };
  }

  /** Tombstones for everything stored of a share-partition (its snapshot and every delta slot used). */
  partitionTombstones(group: string, sp: SharePartition): StateRecord[] {
    const out: StateRecord[] = [{ key: snapshotKey(group, sp.topicId, sp.partition), value: null }];
    for (let i = 0; i <= sp.persisted.maxSlot; i++) {
      out.push({ key: deltaKey(group, sp.topicId, sp.partition, i), value: null });
    }
    return out;
  }
}
