// One share-partition (KIP-932): the state a share group keeps for one topic partition.
//
// Records from the share-partition start offset (SPSO, `startOffset`) up to `endOffset` (the next
// offset never yet handed out) are "in flight", each in one state: AVAILABLE (may be acquired),
// ACQUIRED (locked to one member until `lockExpiry`), ACKNOWLEDGED (accepted) or ARCHIVED
// (rejected, delivered too often, an aborted transaction's or a control record). Acquiring a record
// counts a delivery; a record released (or whose lock expires) after `deliveryCountLimit`
// deliveries is archived instead of made available again. The SPSO moves past every leading
// record that is acknowledged or archived, so what is behind it is done for the group.
//
// Offsets inside [startOffset, endOffset) that have no entry count as archived: offsets the log did
// not hold (compacted away, or past a batch's end) and records never delivered (control records,
// aborted transactions' records). Entries exist per delivered record, at most `maxInFlight`
// (group.share.partition.max.record.locks) not yet done at a time. An entry's `member` and
// `lockExpiry` mean something only while it is ACQUIRED.
//
// What survives a restart: the SPSO and the delivery state of each in-flight record; records
// acquired at the time come back AVAILABLE with their delivery count, as Kafka's share coordinator
// keeps them. Stored as Kafka's share coordinator does (ShareSnapshot and ShareUpdate records): a
// whole `snapshot` now and then, and in between a `delta` per write with only the records whose
// state or delivery count changed since the last write (`dirty`); `restore` then `applyDelta` in
// order rebuild the state.

export const AVAILABLE = 0;
export const ACQUIRED = 1;
export const ACKNOWLEDGED = 2;
export const ARCHIVED = 4;

/** Acknowledge types of ShareFetch/ShareAcknowledge. */
export const ACK_GAP = 0;
export const ACK_ACCEPT = 1;
export const ACK_RELEASE = 2;
export const ACK_REJECT = 3;

type Entry = { state: number; deliveryCount: number; member: string | null; lockExpiry: number };

export type AcquiredRange = { firstOffset: number; lastOffset: number; deliveryCount: number };

export type SharePartitionSnapshot = {
  startOffset: number;
  endOffset: number;
  /** Runs of equal state and delivery count: [first, last, state, deliveryCount]. */
  runs: [number, number, number, number][];
};

/** Adds `offset` (above every offset in `ranges`) to `ranges`, merged where contiguous with an equal delivery count. */
export function addAcquired(ranges: AcquiredRange[], offset: number, deliveryCount: number): void {
  const last = ranges[ranges.length - 1];
  if (last && last.lastOffset === offset - 1 && last.deliveryCount === deliveryCount) last.lastOffset = offset;
  else ranges.push({ firstOffset: offset, lastOffset: offset, deliveryCount });
}

export type ShareLimits = { lockDurationMs: number; deliveryCountLimit: number; maxInFlight: number };

export class SharePartition {
  /** The share-partition start offset; -1 until the group first reads the partition. */
  startOffset = -1;
  endOffset = -1;
  /**
   * In ascending offset order, all inside [startOffset, endOffset): entries are only added at
   * endOffset and above (acquireNew) or in order (restore), so walks go through the map, not
   * through every offset of the window.
   */
  private readonly entries = new Map<number, Entry>();
  /** Offsets whose entry changed since the last snapshot or delta was taken. */
  private readonly dirty = new Set<number>();
  /**
   * How the state is stored (share/coordinator.ts): the id of the snapshot last written, how many
   * deltas follow it, the highest delta slot ever used. An empty id: the next write is a snapshot.
   */
  readonly persisted = { snapshotId: "", deltas: 0, maxSlot: -1 };
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier serialized call on this share-partition has finished. */
  serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => {});
    return run;
  }

  constructor(readonly topicId: string, readonly topic: string, readonly partition: number) {}

  get initialized(): boolean {
    return this.startOffset >= 0;
  }

  /** Starts (or restarts, AlterShareGroupOffsets) at `offset` with nothing in flight. */
  reset(offset: number): void {
    this.startOffset = offset;
    this.endOffset = offset;
    this.entries.clear();
    this.dirty.clear();
    this.persisted.snapshotId = "";
  }

  /** Records in flight that are not yet acknowledged or archived. */
  get inFlight(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state === AVAILABLE || e.state === ACQUIRED) n++;
    return n;
  }

  /** The log no longer holds what is below `logStart` (retention, DeleteRecords): skip it. */
  followLogStart(logStart: number): void {
    if (!this.initialized || logStart <= this.startOffset) return;
    for (const o of this.entries.keys()) if (o < logStart) this.entries.delete(o);
    this.startOffset = logStart;
    if (this.endOffset < logStart) this.endOffset = logStart;
  }

  /** Locks past their expiry end: the records become available again, or archived at the limit. */
  expireLocks(now: number, limits: ShareLimits): boolean {
    let changed = false;
    for (const [o, e] of this.entries) {
      if (e.state === ACQUIRED && e.lockExpiry <= now) {
        this.release(o, e, limits);
        changed = true;
      }
    }
    if (changed) this.advance();
    return changed;
  }

  /** Earliest time a lock expires, or Infinity. */
  nextExpiry(): number {
    let t = Infinity;
    for (const e of this.entries.values()) if (e.state === ACQUIRED && e.lockExpiry < t) t = e.lockExpiry;
    return t;
  }

  private release(offset: number, e: Entry, limits: ShareLimits) {
    e.state = e.deliveryCount >= limits.deliveryCountLimit ? ARCHIVED : AVAILABLE;
    this.dirty.add(offset);
  }

  /** Offsets already in flight that may be acquired again, ascending. */
  availableOffsets(max: number): number[] {
    const out: number[] = [];
    for (const [o, e] of this.entries) {
      if (out.length >= max) break;
      if (e.state === AVAILABLE) out.push(o);
    }
    return out;
  }

  /** Acquires an in-flight AVAILABLE record for `member`. */
  reacquire(offset: number, member: string, now: number, limits: ShareLimits): number {
    const e = this.entries.get(offset)!;
    e.state = ACQUIRED;
    e.member = member;
    e.deliveryCount++;
    e.lockExpiry = now + limits.lockDurationMs;
    this.dirty.add(offset);
    return e.deliveryCount;
  }

  /** How many new records may still be acquired under the in-flight limit. */
  room(limits: ShareLimits): number {
    return Math.max(0, limits.maxInFlight - this.inFlight);
  }

  /** Takes the new record at `offset` (>= endOffset) for `member`; offsets skipped before it count as archived. */
  acquireNew(offset: number, member: string, now: number, limits: ShareLimits): void {
    this.entries.set(offset, { state: ACQUIRED, deliveryCount: 1, member, lockExpiry: now + limits.lockDurationMs });
    this.dirty.add(offset);
    this.endOffset = offset + 1;
  }

  /** Moves endOffset to `offset`: what it passes is never delivered (not in the log, control or aborted records). */
  skipTo(offset: number): void {
    if (offset > this.endOffset) this.endOffset = offset;
  }

  /**
   * Applies one acknowledgement batch of `member`; all or nothing. Returns an error name, or null.
   * `types` has one type for the whole range or one per offset.
   */
  acknowledge(
    member: string,
    first: number,
    last: number,
    types: number[],
    limits: ShareLimits,
  ): "INVALID_REQUEST" | "INVALID_RECORD_STATE" | null {
    if (last < first || (types.length !== 1 && types.length !== last - first + 1)) return "INVALID_REQUEST";
    if (types.some((t) => t < ACK_GAP || t > ACK_REJECT)) return "INVALID_REQUEST";
    // One type for the whole range leaves its width to the client: only offsets of the window can
    // have entries, so walk those (a record outside it is not held: INVALID_RECORD_STATE, a gap
    // there changes nothing).
    let lo = first, hi = last;
    if (types.length === 1) {
      if (types[0] !== ACK_GAP && (first < this.startOffset || last >= this.endOffset)) return "INVALID_RECORD_STATE";
      lo = Math.max(first, this.startOffset);
      hi = Math.min(last, this.endOffset - 1);
    }
    for (let o = lo; o <= hi; o++) {
      const t = types.length === 1 ? types[0] : types[o - first];
      const e = this.entries.get(o);
      if (t === ACK_GAP) continue;
      if (!e || e.state !== ACQUIRED || e.member !== member) return "INVALID_RECORD_STATE";
    }
    for (let o = lo; o <= hi; o++) {
      const t = types.length === 1 ? types[0] : types[o - first];
      const e = this.entries.get(o);
      if (t === ACK_GAP) {
        if (e && e.state === ACQUIRED && e.member === member) {
          e.state = ARCHIVED;
          this.dirty.add(o);
        }
        continue;
      }
      if (!e) continue;
      this.dirty.add(o);
      if (t === ACK_ACCEPT) e.state = ACKNOWLEDGED;
      else if (t === ACK_REJECT) e.state = ARCHIVED;
      else this.release(o, e, limits);
    }
    this.advance();
    return null;
  }

  /**
   * The records of `ranges` (one acquisition's) that `member` still holds from it go back; a record it
   * acquired again since (its delivery count moved on) stays.
   */
  releaseAcquired(member: string, ranges: readonly AcquiredRange[], limits: ShareLimits): boolean {
    let changed = false;
    for (const r of ranges) {
      for (let o = r.firstOffset; o <= r.lastOffset; o++) {
        const e = this.entries.get(o);
        if (e && e.state === ACQUIRED && e.member === member && e.deliveryCount === r.deliveryCount) {
          this.release(o, e, limits);
          changed = true;
        }
      }
    }
    if (changed) this.advance();
    return changed;
  }

  /** Every record `member` holds goes back (member left, session closed). */
  releaseMember(member: string, limits: ShareLimits): boolean {
    let changed = false;
    for (const [o, e] of this.entries) {
      if (e.state === ACQUIRED && e.member === member) {
        this.release(o, e, limits);
        changed = true;
      }
    }
    if (changed) this.advance();
    return changed;
  }

  /** Moves the SPSO past leading records that are done. */
  private advance(): void {
    for (const [o, e] of this.entries) {
      if (e.state === AVAILABLE || e.state === ACQUIRED) {
        this.startOffset = o;
        return;
      }
      this.entries.delete(o);
    }
    this.startOffset = this.endOffset;
  }

  /** The whole state, as stored (acquired records as available). */
  snapshot(): SharePartitionSnapshot {
    this.dirty.clear();
    return this.view();
  }

  /** The state as a snapshot would store it, without taking one (tests, describe). */
  view(): SharePartitionSnapshot {
    return this.runsOf(this.entries.keys());
  }

  /** What changed since the last snapshot or delta: the SPSO, the end, and the changed records still in flight. */
  delta(): SharePartitionSnapshot {
    const offsets = [...this.dirty].filter((o) => this.entries.has(o)).sort((a, b) => a - b);
    this.dirty.clear();
    return this.runsOf(offsets);
  }

  private runsOf(offsets: Iterable<number>): SharePartitionSnapshot {
    const runs: [number, number, number, number][] = [];
    for (const o of offsets) {
      const e = this.entries.get(o)!;
      const state = e.state === ACQUIRED ? AVAILABLE : e.state;
      const last = runs[runs.length - 1];
      if (last && last[1] === o - 1 && last[2] === state && last[3] === e.deliveryCount) last[1] = o;
      else runs.push([o, o, state, e.deliveryCount]);
    }
    return { startOffset: this.startOffset, endOffset: this.endOffset, runs };
  }

  restore(s: SharePartitionSnapshot): void {
    this.entries.clear();
    this.dirty.clear();
    this.applyDelta(s);
  }

  /** Applies a snapshot's or a delta's runs over the current state (replay of __share_group_state). */
  applyDelta(d: SharePartitionSnapshot): void {
    this.startOffset = d.startOffset;
    this.endOffset = d.endOffset;
    let max = -1;
    for (const o of this.entries.keys()) max = o;
    let ordered = true;
    for (const [first, last, state, deliveryCount] of d.runs) {
      for (let o = first; o <= last; o++) {
        const e = this.entries.get(o);
        if (e) {
          e.state = state;
          e.deliveryCount = deliveryCount;
          continue;
        }
        if (o < max) ordered = false;
        this.entries.set(o, { state, deliveryCount, member: null, lockExpiry: 0 });
        max = Math.max(max, o);
      }
    }
    // Entries are kept in offset order (see `entries`); a delta only adds above them, but do not rely on it.
    if (!ordered) {
      const sorted = [...this.entries].sort((a, b) => a[0] - b[0]);
      this.entries.clear();
      for (const [o, e] of sorted) this.entries.set(o, e);
    }
    for (const o of this.entries.keys()) {
      if (o >= this.startOffset) break;
      this.entries.delete(o);
    }
  }
}
