// A share group's membership as its coordinator keeps it (KIP-932): members, their subscriptions and
// assignments, the group epoch and the group's configs; and the "simple" assignor. With no more members
// than partitions each partition goes to one member, round robin; with more members, each member gets one
// partition and partitions are shared (share groups have no revocation: a partition may be read by several).
import type { Topics } from "../topics.ts";

export const GROUP_CONFIG_DEFAULTS: Record<string, string> = {
  "share.auto.offset.reset": "latest",
  "share.record.lock.duration.ms": "",
  "share.session.timeout.ms": "",
  "share.heartbeat.interval.ms": "",
  "share.isolation.level": "read_uncommitted",
  "share.delivery.count.limit": "",
  "share.partition.max.record.locks": "",
};

export type Member = {
  memberId: string;
  memberEpoch: number;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribed: string[];
  lastSeen: number;
  /** Topic name -> partitions. */
  assignment: Map<string, number[]>;
};

export class ShareGroup {
  groupEpoch = 0;
  readonly members = new Map<string, Member>();
  configs = new Map<string, string>();
  constructor(readonly groupId: string) {}
  /** Every change reassigns at once, so the assignment is always the group epoch's. */
  get assignmentEpoch(): number {
    return this.groupEpoch;
  }
  get state(): string {
    return this.members.size === 0 ? "Empty" : "Stable";
  }
}

/** The "simple" assignor over the members sorted by id (deterministic): sets each member's assignment. */
export function assign(g: ShareGroup, topics: Topics): void {
  const byTopic = new Map<string, string[]>();
  for (const m of [...g.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))) {
    m.assignment = new Map();
    for (const t of m.subscribed) {
      if (!byTopic.has(t)) byTopic.set(t, []);
      byTopic.get(t)!.push(m.memberId);
    }
  }
  for (const [name, memberIds] of byTopic) {
    const topic = topics.get(name);
    if (!topic || name.startsWith("__")) continue;
    const p = topic.partitions.length;
    const add = (memberId: string, partition: number) => {
      const a = g.members.get(memberId)!.assignment;
      if (!a.has(name)) a.set(name, []);
      a.get(name)!.push(partition);
    };
    if (memberIds.length <= p) {
      for (let i = 0; i < p; i++) add(memberIds[i % memberIds.length], i);
    } else {
      memberIds.forEach((id, i) => add(id, i % p));
    }
  }
}
