// Preferred leaders in a cluster (preferredLeaders, src/broker/cluster.ts): spread evenly over the node ids per topic
// (counts differ by one at most), deterministic, and stable when a broker with a higher node id joins: it takes about
// its share and no partition moves between the brokers already there. A dead broker's partitions go to the live
// brokers by rendezvous hashing.
import { expect, test } from "bun:test";
import { preferredLeaders, rendezvous } from "../../src/broker/cluster.ts";

const counts = (l: number[], nodes: number[]) => nodes.map((n) => l.filter((x) => x === n).length);

test("3 brokers, 12 partitions, a 4th joins: it gets 3, nothing moves between the first three", () => {
  for (const topic of ["orders", "t0", "t1", "__consumer_offsets"]) {
    const three = preferredLeaders(topic, 12, [1, 2, 3]);
    expect(counts(three, [1, 2, 3])).toEqual([4, 4, 4]);
    const four = preferredLeaders(topic, 12, [1, 2, 3, 4]);
    expect(counts(four, [1, 2, 3, 4])).toEqual([3, 3, 3, 3]);
    expect(four.filter((x, p) => x !== three[p]).every((x) => x === 4)).toBe(true);
    expect(preferredLeaders(topic, 12, [1, 2, 3, 4])).toEqual(four);
  }
});

test("every topic size spreads evenly; joining moves partitions only to the newcomer", () => {
  let moved = 0;
  let total = 0;
  for (let t = 0; t < 20; t++) {
    for (let partitions = 1; partitions <= 50; partitions++) {
      for (let n = 1; n <= 5; n++) {
        const nodes = Array.from({ length: n }, (_, i) => 10 * (i + 1));
        const before = preferredLeaders(`topic-${t}`, partitions, nodes);
        const c = counts(before, nodes);
        expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
        const after = preferredLeaders(`topic-${t}`, partitions, [...nodes, 10 * (n + 1)]);
        for (let p = 0; p < partitions; p++) {
          if (after[p] === before[p]) continue;
          expect(after[p]).toBe(10 * (n + 1));
          moved++;
        }
        total += partitions;
      }
    }
  }
  // About 1/(n+1) of the partitions move to the newcomer (the round-robin this replaced moved most of them).
  expect(moved / total).toBeLessThan(0.35);
});

test("single-partition topics spread over the brokers; a dead broker's partitions over the live ones", () => {
  const one = Array.from({ length: 300 }, (_, t) => preferredLeaders(`single-${t}`, 1, [1, 2, 3])[0]);
  for (const c of counts(one, [1, 2, 3])) expect(c).toBeGreaterThan(60);
  const fallback = Array.from({ length: 300 }, (_, p) => rendezvous("t", p, [1, 3]));
  for (const c of counts(fallback, [1, 3])) expect(c).toBeGreaterThan(100);
  // Removing a live broker from the rendezvous moves only its own partitions.
  const all = Array.from({ length: 300 }, (_, p) => rendezvous("t", p, [1, 2, 3]));
  expect(all.every((x, p) => x === 2 || x === fallback[p])).toBe(true);
});
