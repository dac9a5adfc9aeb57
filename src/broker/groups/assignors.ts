// Server-side assignors of the KIP-848 consumer protocol: "uniform" (sticky and balanced, Kafka's
// default) and "range" (contiguous ranges per topic, like the classic range assignor).
//
// Inputs are already resolved: each member's subscribed topic ids (names and regex matched by the
// caller) and the partition count of each topic. Output: member id -> topic id -> partitions.

export type AssignorMember = { memberId: string; topics: ReadonlySet<string> };
export type Assignment = Map<string, Map<string, number[]>>;

export type Assignor = (
  members: readonly AssignorMember[],
  partitionCounts: ReadonlyMap<string, number>,
  previous: ReadonlyMap<string, ReadonlyMap<string, readonly number[]>>,
) => Assignment;

function empty(members: readonly AssignorMember[]): Assignment {
  const out: Assignment = new Map();
  for (const m of members) out.set(m.memberId, new Map());
  return out;
}

function give(out: Assignment, memberId: string, topic: string, p: number) {
  const byTopic = out.get(memberId)!;
  let ps = byTopic.get(topic);
  if (!ps) byTopic.set(topic, ps = []);
  ps.push(p);
}

function sortAll(out: Assignment): Assignment {
  for (const byTopic of out.values()) for (const ps of byTopic.values()) ps.sort((a, b) => a - b);
  return out;
}

/** Per topic, members subscribed to it (sorted by id) get contiguous ranges; the first ones one extra. */
export const rangeAssignor: Assignor = (members, partitionCounts) => {
  const out = empty(members);
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  for (const [topic, count] of partitionCounts) {
    const subs = sorted.filter((m) => m.topics.has(topic));
    if (subs.length === 0) continue;
    const per = Math.floor(count / subs.length);
    const extra = count % subs.length;
    let p = 0;
    subs.forEach((m, i) => {
      const n = per + (i < extra ? 1 : 0);
      for (let k = 0; k < n; k++) give(out, m.memberId, topic, p++);
    });
  }
  return sortAll(out);
};

/**
 * Balanced and sticky: a partition stays with its previous owner while that owner is still
 * subscribed and under its fair share; the rest go to the least-loaded subscribed member.
 * Partitions with fewer candidate members are placed first so heterogeneous subscriptions balance.
 */
export const uniformAssignor: Assignor = (members, partitionCounts, previous) => {
  const out = empty(members);
  if (members.length === 0) return out;
  const load = new Map<string, number>();
  for (const m of members) load.set(m.memberId, 0);
  const candidates = new Map<string, string[]>();

  for (const [topic, count] of partitionCounts) {
    const subs = members.filter((m) => m.topics.has(topic)).map((m) => m.memberId).sort();
    if (subs.length === 0) continue;
    candidates.set(topic, subs);
  }
  // Fair share for a member: its candidate partitions spread over all members that can take them.
  // With homogeneous subscriptions this is ceil(total / members).
  const quota = new Map<string, number>();
  for (const m of members) {
    let share = 0;
    for (const [topic, subs] of candidates) if (m.topics.has(topic)) share += partitionCounts.get(topic)! / subs.length;
    quota.set(m.memberId, Math.ceil(share));
  }
  const unassigned: [string, number][] = [];
  for (const [topic, subs] of candidates) {
    const count = partitionCounts.get(topic)!;
    const owner = new Map<number, string>();
    for (const memberId of subs) {
      for (const p of previous.get(memberId)?.get(topic) ?? []) if (p < count && !owner.has(p)) owner.set(p, memberId);
    }
    for (let p = 0; p < count; p++) {
      const o = owner.get(p);
      if (o !== undefined && load.get(o)! < quota.get(o)!) {
        give(out, o, topic, p);
        load.set(o, load.get(o)! + 1);
      } else {
        unassigned.push([topic, p]);
      }
    }
  }
  unassigned.sort((a, b) =>
    candidates.get(a[0])!.length - candidates.get(b[0])!.length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1])
  );
  for (const [topic, p] of unassigned) {
    let best: string | null = null;
    for (const memberId of candidates.get(topic)!) {
      if (best === null || load.get(memberId)! < load.get(best)!) best = memberId;
    }
    give(out, best!, topic, p);
    load.set(best!, load.get(best!)! + 1);
  }
  // Balancing pass: move partitions from the most to the least loaded member while the gap is > 1.
  for (let guard = 0; guard < 100_000; guard++) {
    let moved = false;
    for (const [topic, subs] of candidates) {
      if (subs.length < 2) continue;
      let max = subs[0];
      let min = subs[0];
      for (const s of subs) {
        if (load.get(s)! > load.get(max)!) max = s;
        if (load.get(s)! < load.get(min)!) min = s;
      }
      if (load.get(max)! - load.get(min)! <= 1) continue;
      const ps = out.get(max)!.get(topic);
      if (!ps || ps.length === 0) continue;
      give(out, min, topic, ps.pop()!);
      load.set(max, load.get(max)! - 1);
      load.set(min, load.get(min)! + 1);
      moved = true;
    }
    if (!moved) break;
  }
  return sortAll(out);
};

export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([
  ["uniform", uniformAssignor],
  ["range", rangeAssignor],
]);
