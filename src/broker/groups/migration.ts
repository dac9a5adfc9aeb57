// Online migration between the classic and the KIP-848 consumer protocol (Kafka 4.0's
// group.consumer.migration.policy): the bytes the classic "consumer" protocol embeds in JoinGroup
// and SyncGroup (ConsumerProtocolSubscription / ConsumerProtocolAssignment), read and written for
// members that speak the classic protocol inside a consumer group.
//
// Upgrade: a ConsumerGroupHeartbeat joins a non-empty classic group whose protocol type is
// "consumer": each classic member becomes a member of a new consumer group at the classic
// generation, keeping the partitions of its last assignment, and goes on with JoinGroup,
// SyncGroup and Heartbeat while the coordinator assigns (Heartbeat answers REBALANCE_IN_PROGRESS
// when its assignment must change; the rejoin reports what it still owns).
// Downgrade: when the last member using the consumer protocol leaves (or expires) and only
// classic members remain, the group becomes a classic group at the group epoch and rebalances.
import { decodeData, encodeVersionedData } from "../../protocol/codec.ts";
import {
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
} from "../../protocol/messages/consumer_protocol.ts";
import type { ConsumerProtocolSubscription } from "../../protocol/messages/consumer_protocol.ts";
import { Reader } from "../../protocol/reader.ts";
import type { Protocol } from "./classic.ts";

export type MigrationPolicy = "disabled" | "upgrade" | "downgrade" | "bidirectional";

export function migrationPolicy(raw: unknown): MigrationPolicy {
  const v = String(raw ?? "bidirectional").trim().toLowerCase();
  return v === "disabled" || v === "upgrade" || v === "downgrade" ? v : "bidirectional";
}

export const upgradeAllowed = (p: MigrationPolicy) => p === "upgrade" || p === "bidirectional";
export const downgradeAllowed = (p: MigrationPolicy) => p === "downgrade" || p === "bidirectional";

export type Subscription = {
  version: number;
  topics: string[];
  owned: { topic: string; partitions: number[] }[];
  rackId: string | null;
};

/**
 * Reads a ConsumerProtocolSubscription. Lenient where clients are: kafkajs writes version 1 with
 * only the version 0 fields, so a body too short for its version is read at the lower versions.
 * Returns null when nothing reads.
 */
export function decodeSubscription(bytes: Uint8Array): Subscription | null {
  if (bytes.length < 2) return null;
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt16(0);
  if (version < 0) return null;
  const [lo, hi] = ConsumerProtocolSubscriptionSchema.versions;
  for (let v = Math.min(version, hi); v >= lo; v--) {
    let s: ConsumerProtocolSubscription;
    try {
      s = decodeData(ConsumerProtocolSubscriptionSchema, v, new Reader(bytes.subarray(2)));
    } catch {
      continue;
    }
    return {
      version,
      topics: s.topics,
      owned: (s.ownedPartitions ?? []).map((t) => ({ topic: t.topic, partitions: t.partitions })),
      rackId: s.rackId ?? null,
    };
  }
  return null;
}

/** The subscription of the first protocol whose metadata reads (all carry the same topics). */
export function subscriptionOf(protocols: readonly Protocol[]): Subscription | null {
  for (const p of protocols) {
    const s = decodeSubscription(p.metadata);
    if (s) return s;
  }
  return null;
}

/** A ConsumerProtocolSubscription for a member that never sent one (DescribeGroups of KIP-848 members). */
export function encodeSubscription(topics: string[], rackId: string | null): Uint8Array {
  return encodeVersionedData(ConsumerProtocolSubscriptionSchema, 3, {
    topics,
    userData: null,
    ownedPartitions: [],
    generationId: -1,
    rackId,
  });
}

/** Reads the partitions of a ConsumerProtocolAssignment (empty bytes: none). */
export function decodeAssignment(bytes: Uint8Array): { topic: string; partitions: number[] }[] {
  if (bytes.length < 2) return [];
  try {
    const r = new Reader(bytes.subarray(2));
    const a = decodeData(ConsumerProtocolAssignmentSchema, 0, r);
    return a.assignedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions }));
  } catch {
    return [];
  }
}

/** A ConsumerProtocolAssignment at the version the member's subscription used (0-3 share one layout). */
export function encodeAssignment(
  partitions: { topic: string; partitions: number[] }[],
  subscriptionVersion: number,
): Uint8Array {
  const [lo, hi] = ConsumerProtocolAssignmentSchema.versions;
  const v = Math.max(lo, Math.min(subscriptionVersion, hi));
  return encodeVersionedData(ConsumerProtocolAssignmentSchema, v, { assignedPartitions: partitions, userData: null });
}
