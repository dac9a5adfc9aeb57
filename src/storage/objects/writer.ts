// The write half of the object data path. Appends of many partitions are gathered into one data object per
// flush — cut when `chronik.object.flush.ms` has passed since the first waiting append, or at once when
// `chronik.object.flush.bytes` are waiting — which is written with a create-only PUT and then committed
// through the CommitHook (index.ts), which assigns offsets. An append resolves only after that commit
// resolved: nothing is acknowledged that is not both in the object store and in the index.
//
// Several objects may be uploading at once (maxInFlight), but commits run one at a time in cut order, so a
// partition's appends are sequenced in call order. A failed PUT (after the client's retries) or a failed
// commit rejects every append of that object with a retriable ObjectAppendError (KAFKA_STORAGE_ERROR); the
// object is then an orphan the sweep in gc.ts deletes once it is older than the grace period. Its outcome may be
// unknown (no reply in time; the index may still run it), so each append carries the log end its caller assigned
// its offsets from, which the index checks: the late commit and a retry after it cannot both land.
import { ErrorCode } from "../../protocol/errors.ts";
import { setBaseOffset } from "../../protocol/record_batch.ts";
import type { AppendResult, BatchMeta } from "../store.ts";
import { LogEndMovedError } from "../store.ts";
import { dataObjectTime, encodeObject, type FooterEntry, newDataObjectKey } from "./format.ts";
import type { CommitEntry, CommitHook, CommitOutcome } from "./index.ts";
import { md5Hex } from "./md5.ts";
import { type ObjectStore, ObjectStoreError } from "./store.ts";

export const DEFAULT_FLUSH_MS = 250;
export const DEFAULT_FLUSH_BYTES = 8 * 1024 * 1024;
/** The orphan sweep deletes unknown data objects older than this; commits must land well before. */
export const ORPHAN_GRACE_MS = 60 * 60 * 1000;

/**
 * Whatever makes the index refer to a new object (the writer's commit, a compaction's switch) must check this
 * after the object is stored and before the index statement: the orphan sweep deletes objects the index does not
 * know once they are older than the grace period, so referring to one later than half of it (the other half is
 * left for the index statement, bounded by chronik.postgres.request.timeout.ms) could point the index at a deleted object.
 * Throws, naming `what` and `act`, when the object made at `created` is too old for that.
 */
export function ensureReferableInTime(what: string, act: string, created: number, now: number, graceMs: number) {
  const age = now - created;
  if (age > graceMs / 2) throw new Error(`${what} is ${age} ms old, too late to ${act} safely`);
}

export type ObjectWriterOptions = {
  store: ObjectStore;
  hook: CommitHook;
  /** The configured prefix (s3://bucket/<prefix>); objects go under dataPrefix(prefix). */
  prefix: string;
  nodeId: number;
  flushMs?: number;
  flushBytes?: number;
  /** Objects uploading at once (default 4). */
  maxInFlight?: number;
  /** Appends wait while this many bytes are waiting or uploading (default 8 × flushBytes). */
  maxBufferedBytes?: number;
  orphanGraceMs?: number;
  clock?: () => number;
  /** Called with each committed object (base offsets written), e.g. ObjectReader.cacheObject. */
  onCommitted?: (key: string, body: Uint8Array) => void;
};

/** Why an append failed: a Kafka error code for the produce response, and whether a retry may succeed. */
export class ObjectAppendError extends Error {
  constructor(message: string, readonly errorCode: number, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ObjectAppendError";
  }
}

type Pending = {
  topic: string;
  partition: number;
  buf: Uint8Array;
  batches: readonly BatchMeta[];
  start: number;
  size: number;
  records: number;
  at?: { logEnd: number; conditional?: boolean; leaderEpoch?: number };
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
};

export type WriterStats = {
  objects: number;
  objectBytes: number;
  failedObjects: number;
  /** Cut → committed, per object, the latest 10000 (ms). */
  flushLatencies: number[];
};

export class ObjectWriter {
  readonly stats: WriterStats = { objects: 0, objectBytes: 0, failedObjects: 0, flushLatencies: [] };
  readonly #o: Required<Omit<ObjectWriterOptions, "onCommitted">> & Pick<ObjectWriterOptions, "onCommitted">;
  #pending: Pending[] = [];
  #pendingBytes = 0;
  /** Bytes cut but not yet settled. */
  #inFlightBytes = 0;
  #uploading = 0;
  #uploadWaiters: (() => void)[] = [];
  #roomWaiters: (() => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #commitChain: Promise<void> = Promise.resolve();
  #admission: Promise<void> = Promise.resolve();
  #waiting = 0;
  #closed = false;

  constructor(options: ObjectWriterOptions) {
    const flushBytes = options.flushBytes ?? DEFAULT_FLUSH_BYTES;
    this.#o = {
      flushMs: DEFAULT_FLUSH_MS,
      maxInFlight: 4,
      maxBufferedBytes: 8 * flushBytes,
      orphanGraceMs: ORPHAN_GRACE_MS,
      clock: Date.now,
      ...options,
      flushBytes,
    };
  }

  /**
   * Appends validated batches of one partition (`buf` holds them back to back at `batches[i].position`).
   * Resolves with the offsets given once the object holding them is committed; the base offsets are then
   * also written into `buf`, which must stay unchanged until the append settles.
   *
   * With `at` the append commits only while the partition's committed log end is still `at.logEnd` (the end
   * its caller assigned offsets from, after its earlier appends to the partition), checked in the commit; else it
   * rejects with a retriable KAFKA_STORAGE_ERROR and nothing is stored. A `conditional` one (PartitionLog.appendIf)
   * needs no leadership and rejects with LogEndMovedError instead: what waits is cut first, and the append goes
   * at once in an object of its own, so it is alone for its partition in its commit and waits no flush.ms.
   */
  async append(
    topic: string,
    partition: number,
    buf: Uint8Array,
    batches: readonly BatchMeta[],
    at?: { logEnd: number; conditional?: boolean; leaderEpoch?: number },
  ): Promise<AppendResult> {
    if (this.#closed) throw new ObjectAppendError("object writer is closed", ErrorCode.KAFKA_STORAGE_ERROR, true);
    if (batches.length === 0) throw new RangeError("append of no batches");
    // Appends wait for room in a queue, so they enter in call order even when some had to wait; with room
    // and nobody waiting, an append enters at once (a flush() right after it includes it).
    const over = () => this.#pendingBytes + this.#inFlightBytes >= this.#o.maxBufferedBytes;
    if (this.#waiting > 0 || over()) {
      this.#waiting++;
      const admitted = this.#admission.then(async () => {
        while (over()) await new Promise<void>((r) => this.#roomWaiters.push(r));
      });
      this.#admission = admitted;
      try {
        await admitted;
      } finally {
        this.#waiting--;
      }
    }
    const start = batches[0].position;
    const last = batches[batches.length - 1];
    let records = 0;
    for (const b of batches) records += b.lastOffsetDelta + 1;
    const conditional = at?.conditional === true;
    if (conditional) this.#cut();
    return new Promise<AppendResult>((resolve, reject) => {
      this.#pending.push({
        topic,
        partition,
        buf,
        batches,
        start,
        size: last.position + last.size - start,
        records,
        at,
        resolve,
        reject,
      });
      this.#pendingBytes += last.position + last.size - start;
      if (this.#pendingBytes >= this.#o.flushBytes || conditional) this.#cut();
      else if (this.#timer === null) this.#timer = setTimeout(() => this.#cut(), this.#o.flushMs);
    });
  }

  /** Cuts an object of whatever is waiting and resolves once every object cut so far has settled. */
  flush(): Promise<void> {
    this.#cut();
    return this.#commitChain;
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  #cut(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    const cutAt = this.#o.clock();
    // Group by partition, keeping call order within each (sort is stable).
    const entries = this.#pending.sort((a, b) =>
      a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
    );
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#inFlightBytes += bytes;
    const key = newDataObjectKey(this.#o.prefix, this.#o.nodeId, cutAt);
    const footer: FooterEntry[] = [];
    let at = 0;
    for (const p of entries) {
      footer.push({ topic: p.topic, partition: p.partition, position: at, size: p.size, records: p.records });
      at += p.size;
    }
    const body = encodeObject(entries.map((p) => p.buf.subarray(p.start, p.start + p.size)), {
      version: 1,
      node: this.#o.nodeId,
      created: cutAt,
      entries: footer,
    });
    const upload = this.#upload(key, body);
    upload.catch(() => {}); // handled in the commit step
    this.#commitChain = this.#commitChain.then(() => this.#commit(key, body, entries, footer, upload, cutAt, bytes));
  }

  async #upload(key: string, body: Uint8Array): Promise<void> {
    while (this.#uploading >= this.#o.maxInFlight) await new Promise<void>((r) => this.#uploadWaiters.push(r));
    this.#uploading++;
    try {
      await this.#o.store.put(key, body, { ifNoneMatch: true });
    } catch (e) {
      // A retried create-only PUT meets its own first attempt: the object there is ours if its MD5 matches.
      if (!(e instanceof ObjectStoreError && e.code === "PreconditionFailed" && e.afterRetry)) throw e;
      const info = await this.#o.store.head(key);
      if (info === null || info.etag !== md5Hex(body)) throw e;
    } finally {
      this.#uploading--;
      this.#uploadWaiters.shift()?.();
    }
  }

  async #commit(
    key: string,
    body: Uint8Array,
    entries: Pending[],
    footer: FooterEntry[],
    upload: Promise<void>,
    cutAt: number,
    bytes: number,
  ): Promise<void> {
    let outcomes: CommitOutcome[];
    try {
      await upload;
      const created = dataObjectTime(this.#o.prefix, key) ?? cutAt;
      ensureReferableInTime("object", "commit", created, this.#o.clock(), this.#o.orphanGraceMs);
      outcomes = await this.#o.hook.commit(
        { key, size: body.length },
        entries.map((p, i): CommitEntry => commitEntry(p, footer[i].position)),
      );
      if (outcomes.length !== entries.length) throw new Error("commit hook answered for the wrong number of entries");
    } catch (e) {
      this.stats.failedObjects++;
      const stage = e instanceof ObjectStoreError ? `writing ${key}` : `committing ${key}`;
      const err = new ObjectAppendError(
        `${stage}: ${e instanceof Error ? e.message : String(e)}`,
        ErrorCode.KAFKA_STORAGE_ERROR,
        true,
        { cause: e },
      );
      for (const p of entries) p.reject(err);
      this.#settled(bytes);
      return;
    }
    this.stats.objects++;
    this.stats.objectBytes += body.length;
    const lat = this.stats.flushLatencies;
    lat.push(this.#o.clock() - cutAt);
    if (lat.length > 10000) lat.splice(0, lat.length - 10000);
    entries.forEach((p, i) => {
      const o = outcomes[i];
      if ("errorCode" in o) {
        p.reject(
          o.logEndMoved
            ? new LogEndMovedError(o.message)
            : new ObjectAppendError(o.message, o.errorCode, o.errorCode === ErrorCode.KAFKA_STORAGE_ERROR),
        );
        return;
      }
      let offset = o.baseOffset;
      for (const b of p.batches) {
        setBaseOffset(body, footer[i].position + b.position - p.start, offset);
        setBaseOffset(p.buf, b.position, offset);
        offset += b.lastOffsetDelta + 1;
      }
      p.resolve({ baseOffset: o.baseOffset, lastOffset: offset - 1, logStartOffset: -1 });
    });
    this.#o.onCommitted?.(key, body);
    this.#settled(bytes);
  }

  #settled(bytes: number): void {
    this.#inFlightBytes -= bytes;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
  }
}

function commitEntry(p: Pending, position: number): CommitEntry {
  let maxTimestamp = -1;
  for (const b of p.batches) maxTimestamp = Math.max(maxTimestamp, b.maxTimestamp);
  const entry: CommitEntry = {
    topic: p.topic,
    partition: p.partition,
    position,
    size: p.size,
    records: p.records,
    maxTimestamp,
  };
  if (p.at?.conditional) entry.ifLogEnd = p.at.logEnd;
  else if (p.at) entry.logEnd = p.at.logEnd;
  if (p.at?.leaderEpoch !== undefined) entry.leaderEpoch = p.at.leaderEpoch;
  return entry;
}
