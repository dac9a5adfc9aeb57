// The one long-poll wait of the broker: Fetch's min_bytes wait, ShareFetch's wait for records, and the
// HTTP proxy's long polls all park here until one of their partitions is appended to, the time is up,
// or shutdown starts (so a broker closes without waiting out every long poll).
import type { PartitionLog } from "../storage/store.ts";

export type WakeReason = "append" | "wake" | "timeout" | "closing";

/** Subscribes a listener to some other event worth waking for; returns the unsubscribe. */
export type WakeSource = (listener: () => void) => () => void;

/**
 * Resolves with why it woke: an append to one of `logs`, one of `also` firing ("wake": ShareFetch's
 * records released), `ms` passing, or the broker closing.
 */
export function waitForAppend(
  closing: { onClosing(listener: () => void): () => void },
  logs: Iterable<PartitionLog>,
  ms: number,
  also: readonly WakeSource[] = [],
): Promise<WakeReason> {
  return new Promise((resolve) => {
    const offs: (() => void)[] = [];
    let done = false;
    const finish = (why: WakeReason) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const off of offs) off();
      resolve(why);
    };
    const timer = setTimeout(() => finish("timeout"), Math.max(0, ms));
    for (const log of logs) offs.push(log.onAppend(() => finish("append")));
    for (const source of also) offs.push(source(() => finish("wake")));
    offs.push(closing.onClosing(() => finish("closing")));
  });
}
