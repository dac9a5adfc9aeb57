// Acquiring records of one share-partition for a member (ShareFetch): records released or whose lock
// expired first, then new ones from the share-partition's end offset, each locked to the member for the
// lock duration with its delivery count. Control batches and (read_committed) aborted transactions'
// records are skipped (archived); read_committed stops at the last stable offset. Whole batches are
// returned as stored; the acquired offset ranges say which of their records are the member's.
import {
  batchBaseOffsetNumber,
  batchIsControl,
  batchIsTransactional,
  batchLastOffsetDelta,
  batchProducerId,
} from "../../protocol/record_batch.ts";
import type { PartitionLog } from "../../storage/store.ts";
import { producerStateOf } from "../txn/coordinator.ts";
import type { AcquiredRange, ShareLimits, SharePartition } from "./partition.ts";
import { addAcquired } from "./partition.ts";

export type Acquisition = {
  /** Offset ranges acquired, ascending, merged where contiguous with one delivery count. */
  acquired: AcquiredRange[];
  /** The batches holding them, by base offset. */
  records: Uint8Array[];
  /** Records acquired. */
  taken: number;
  /** Bytes of the new batches read (counted against the request's maxBytes). */
  bytes: number;
};

/**
 * Acquires up to `maxRecords` records (and about `maxBytes` of new batches) of `sp` for `memberId`.
 * One acquisition at a time per share-partition: two members' ShareFetches must not both take the
 * records from endOffset while one of them awaits a read. Throws when the log cannot be read.
 */
export function acquireRecords(
  sp: SharePartition,
  log: PartitionLog,
  o: {
    memberId: string;
    /** When the records are acquired (their locks run from then). */
    now: number;
    /** The time now, for the locks that expired while waiting for the turn. */
    clock: () => number;
    limits: ShareLimits;
    readCommitted: boolean;
    maxRecords: number;
    maxBytes: number;
  },
): Promise<Acquisition> {
  const { memberId, now, limits, readCommitted, maxRecords, maxBytes } = o;
  return sp.serialized(async () => {
    sp.expireLocks(o.clock(), limits);
    const batches = new Map<number, Uint8Array>();
    // Offsets come in ascending order (re-acquired ones are all below endOffset, new ones from it),
    // so the ranges are built as they come.
    const acquired: AcquiredRange[] = [];
    let taken = 0;
    let bytes = 0;
    // Records released or timed out first, then new ones.
    let covered = -1; // last offset of the batch read last for a re-acquired record
    for (const o of sp.availableOffsets(maxRecords)) {
      addAcquired(acquired, o, sp.reacquire(o, memberId, now, limits));
      taken++;
      if (o > covered) {
        for (const b of await log.read(o, 1)) {
          batches.set(batchBaseOffsetNumber(b), b);
          covered = batchBaseOffsetNumber(b) + batchLastOffsetDelta(b);
          break;
        }
      }
    }
    const state = producerStateOf(log);
    const limit = readCommitted ? state.lastStableOffset(log.logEndOffset) : log.logEndOffset;
    let room = Math.min(sp.room(limits), maxRecords - taken);
    let next = Math.max(sp.endOffset, log.logStartOffset);
    while (room > 0 && next < limit && bytes < maxBytes) {
      const read = await log.read(next, Math.max(1, maxBytes - bytes));
      if (read.length === 0) break;
      for (const b of read) {
        const base = batchBaseOffsetNumber(b);
        const last = base + batchLastOffsetDelta(b);
        if (base >= limit || room <= 0) break;
        if (last < next) continue;
        sp.skipTo(Math.max(base, next));
        const aborted = readCommitted && batchIsTransactional(b) &&
          state.abortedIn(base, last + 1).some((a) =>
            a.producerId === batchProducerId(b) && a.firstOffset <= base && a.lastOffset >= base
          );
        if (batchIsControl(b) || aborted) {
          sp.skipTo(last + 1);
        } else {
          let took = false;
          for (let o = Math.max(base, next); o <= last && room > 0; o++) {
            sp.acquireNew(o, memberId, now, limits);
            addAcquired(acquired, o, 1);
            taken++;
            room--;
            took = true;
          }
          if (took && !batches.has(base)) {
            batches.set(base, b);
            bytes += b.length;
          }
        }
        next = sp.endOffset;
      }
    }
    const records = [...batches.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
    return { acquired, records, taken, bytes };
  });
}
