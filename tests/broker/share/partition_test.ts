// SharePartition's stored form: a snapshot followed by deltas, replayed in order into a fresh
// share-partition, gives back exactly the state (acquired records as available), whatever the mix of
// acquisitions, acknowledgements, releases, lock expiries and the start offset moving.
import { expect, test } from "bun:test";
import { SharePartition } from "../../../src/broker/share/partition.ts";

const limits = { lockDurationMs: 100, deliveryCountLimit: 3, maxInFlight: 50 };

/** A small deterministic generator (no Math.random: a failure must replay). */
function rng(seed: number) {
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >>> 8) % n;
  };
}

test("snapshot + deltas replay to the same state, over many random histories", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = rng(seed);
    const sp = new SharePartition("t", "topic", 0);
    sp.reset(0);
    // Replayed in step: after every write the stored form must give back the state as it is then.
    const replayed = new SharePartition("t", "topic", 0);
    replayed.restore(sp.snapshot());
    let now = 0, logEnd = 0;
    for (let step = 0; step < 60; step++) {
      now += r(40);
      logEnd += r(4);
      const member = `m${r(3)}`;
      switch (r(5)) {
        case 0: { // acquire: released records first, then new ones
          for (const o of sp.availableOffsets(r(5))) sp.reacquire(o, member, now, limits);
          for (let o = sp.endOffset, n = r(6); o < logEnd && n > 0 && sp.room(limits) > 0; o++, n--) {
            if (r(8) === 0) sp.skipTo(o + 1); // a control record: never delivered
            else sp.acquireNew(o, member, now, limits);
          }
          break;
        }
        case 1:
        case 2: { // acknowledge what one member holds, one type per offset
          const first = sp.startOffset + r(Math.max(1, sp.endOffset - sp.startOffset));
          const last = Math.min(sp.endOffset - 1, first + r(4));
          if (last >= first) {
            const types = [...Array(last - first + 1)].map(() => 1 + r(3));
            sp.acknowledge(member, first, last, types, limits);
          }
          break;
        }
        case 3:
          sp.expireLocks(now, limits);
          break;
        case 4:
          sp.releaseMember(member, limits);
          break;
      }
      // Written after every change, a snapshot now and then, as the coordinator does.
      if (r(7) === 0) replayed.restore(sp.snapshot());
      else replayed.applyDelta(sp.delta());
      expect({ seed, step, state: replayed.view() }).toEqual({ seed, step, state: sp.view() });
    }
  }
});
