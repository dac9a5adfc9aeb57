// Keys and values of the records the coordinator writes to __consumer_offsets.
//
// Our own compact binary layout (Kafka's record schemas are not in the shared folder), versioned
// like Kafka's: the key starts with an int16 record type (1 offset commit, 2 group metadata, the
// numbers Kafka uses), every value with an int16 version. A null value is a tombstone. Strings use
// compact (uvarint-length) encoding so no field has a small length ceiling.
import { Reader } from "../../protocol/reader.ts";
import { concatChunks, Writer } from "../../protocol/writer.ts";

export const OFFSET_KEY = 1;
export const GROUP_KEY = 2;

export type CommittedOffset = {
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
  /** Explicit expiry (OffsetCommit v2-4 retentionTimeMs), else -1: expiry follows the group. */
  expireTimestamp: number;
};

export type ClassicMemberSnapshot = {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Metadata of the selected protocol only, as Kafka stores it. */
  metadata: Uint8Array;
  assignment: Uint8Array;
};

export type ClassicSnapshot = {
  type: "classic";
  protocolType: string | null;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  stateTimestamp: number;
  members: ClassicMemberSnapshot[];
};

export type TopicPartitions = { topicId: string; partitions: number[] };

export type ConsumerMemberSnapshot = {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  rebalanceTimeoutMs: number;
  memberEpoch: number;
  previousMemberEpoch: number;
  assigned: TopicPartitions[];
  revoking: TopicPartitions[];
  target: TopicPartitions[];
  /** A member speaking the classic protocol (online migration); stored from value version 1. */
  classic: ClassicMemberInfo | null;
};

export type ClassicMemberInfo = {
  sessionTimeoutMs: number;
  subscriptionVersion: number;
  protocols: { name: string; metadata: Uint8Array }[];
};

export type ConsumerSnapshot = {
  type: "consumer";
  groupEpoch: number;
  assignmentEpoch: number;
  stateTimestamp: number;
  /** Subscribed topic ids and partition counts the target was computed for. */
  metadataSignature: string;
  members: ConsumerMemberSnapshot[];
};

export type GroupSnapshot = ClassicSnapshot | ConsumerSnapshot;

export type DecodedRecord =
  | { kind: "offset"; group: string; topic: string; partition: number; value: CommittedOffset | null }
  | { kind: "group"; group: string; value: GroupSnapshot | null }
  | { kind: "unknown" };

const bytesOf = (w: Writer) => concatChunks(w.finish());

export function offsetKey(group: string, topic: string, partition: number): Uint8Array {
  const w = new Writer(64);
  w.int16(OFFSET_KEY);
  w.compactString(group);
  w.compactString(topic);
  w.int32(partition);
  return bytesOf(w);
}

export function groupKey(group: string): Uint8Array {
  const w = new Writer(64);
  w.int16(GROUP_KEY);
  w.compactString(group);
  return bytesOf(w);
}

export function offsetValue(o: CommittedOffset): Uint8Array {
  const w = new Writer(64);
  w.int16(0);
  w.int64(o.offset);
  w.int32(o.leaderEpoch);
  w.compactNullableString(o.metadata);
  w.int64(BigInt(o.commitTimestamp));
  w.int64(BigInt(o.expireTimestamp));
  return bytesOf(w);
}

function writeTps(w: Writer, tps: TopicPartitions[]) {
  w.uvarint(tps.length);
  for (const t of tps) {
    w.uuid(t.topicId);
    w.uvarint(t.partitions.length);
    for (const p of t.partitions) w.int32(p);
  }
}

function readTps(r: Reader): TopicPartitions[] {
  const out: TopicPartitions[] = [];
  for (let n = r.uvarint(); n > 0; n--) {
    const topicId = r.uuid();
    const partitions: number[] = [];
    for (let k = r.uvarint(); k > 0; k--) partitions.push(r.int32());
    out.push({ topicId, partitions });
  }
  return out;
}

/** Group values: version 0 (classic groups; consumer groups before classic members), 1 (consumer groups). */
export function groupValue(g: GroupSnapshot): Uint8Array {
  const w = new Writer(256);
  w.int16(g.type === "classic" ? 0 : 1);
  w.int64(BigInt(g.stateTimestamp));
  if (g.type === "classic") {
    w.int8(0);
    w.compactNullableString(g.protocolType);
    w.int32(g.generationId);
    w.compactNullableString(g.protocolName);
    w.compactNullableString(g.leaderId);
    w.uvarint(g.members.length);
    for (const m of g.members) {
      w.compactString(m.memberId);
      w.compactNullableString(m.groupInstanceId);
      w.compactString(m.clientId);
      w.compactString(m.clientHost);
      w.int32(m.rebalanceTimeoutMs);
      w.int32(m.sessionTimeoutMs);
      w.compactBytes(m.metadata);
      w.compactBytes(m.assignment);
    }
  } else {
    w.int8(1);
    w.int32(g.groupEpoch);
    w.int32(g.assignmentEpoch);
    w.compactString(g.metadataSignature);
    w.uvarint(g.members.length);
    for (const m of g.members) {
      w.compactString(m.memberId);
      w.compactNullableString(m.instanceId);
      w.compactNullableString(m.rackId);
      w.compactString(m.clientId);
      w.compactString(m.clientHost);
      w.uvarint(m.subscribedTopicNames.length);
      for (const t of m.subscribedTopicNames) w.compactString(t);
      w.compactNullableString(m.subscribedTopicRegex);
      w.compactNullableString(m.serverAssignor);
      w.int32(m.rebalanceTimeoutMs);
      w.int32(m.memberEpoch);
      w.int32(m.previousMemberEpoch);
      writeTps(w, m.assigned);
      writeTps(w, m.revoking);
      writeTps(w, m.target);
      w.int8(m.classic ? 1 : 0);
      if (m.classic) {
        w.int32(m.classic.sessionTimeoutMs);
        w.int16(m.classic.subscriptionVersion);
        w.uvarint(m.classic.protocols.length);
        for (const p of m.classic.protocols) {
          w.compactString(p.name);
          w.compactBytes(p.metadata);
        }
      }
    }
  }
  return bytesOf(w);
}

function readClassicInfo(r: Reader): ClassicMemberInfo | null {
  if (r.int8() === 0) return null;
  const sessionTimeoutMs = r.int32();
  const subscriptionVersion = r.int16();
  const protocols: ClassicMemberInfo["protocols"] = [];
  for (let n = r.uvarint(); n > 0; n--) protocols.push({ name: r.compactString(), metadata: r.compactBytes().slice() });
  return { sessionTimeoutMs, subscriptionVersion, protocols };
}

/** Decodes one record of __consumer_offsets; unknown key types and value versions are skipped. */
export function decodeRecord(key: Uint8Array | null, value: Uint8Array | null): DecodedRecord {
  if (key === null || key.length < 2) return { kind: "unknown" };
  const r = new Reader(key);
  const type = r.int16();
  if (type === OFFSET_KEY) {
    const group = r.compactString();
    const topic = r.compactString();
    const partition = r.int32();
    if (value === null) return { kind: "offset", group, topic, partition, value: null };
    const v = new Reader(value);
    if (v.int16() !== 0) return { kind: "unknown" };
    return {
      kind: "offset",
      group,
      topic,
      partition,
      value: {
        offset: v.int64(),
        leaderEpoch: v.int32(),
        metadata: v.compactNullableString(),
        commitTimestamp: Number(v.int64()),
        expireTimestamp: Number(v.int64()),
      },
    };
  }
  if (type === GROUP_KEY) {
    const group = r.compactString();
    if (value === null) return { kind: "group", group, value: null };
    const v = new Reader(value);
    const version = v.int16();
    if (version !== 0 && version !== 1) return { kind: "unknown" };
    const stateTimestamp = Number(v.int64());
    const kind = v.int8();
    if (kind === 0) {
      const protocolType = v.compactNullableString();
      const generationId = v.int32();
      const protocolName = v.compactNullableString();
      const leaderId = v.compactNullableString();
      const members: ClassicMemberSnapshot[] = [];
      for (let n = v.uvarint(); n > 0; n--) {
        members.push({
          memberId: v.compactString(),
          groupInstanceId: v.compactNullableString(),
          clientId: v.compactString(),
          clientHost: v.compactString(),
          rebalanceTimeoutMs: v.int32(),
          sessionTimeoutMs: v.int32(),
          metadata: v.compactBytes().slice(),
          assignment: v.compactBytes().slice(),
        });
      }
      return {
        kind: "group",
        group,
        value: { type: "classic", protocolType, generationId, protocolName, leaderId, stateTimestamp, members },
      };
    }
    if (kind === 1) {
      const groupEpoch = v.int32();
      const assignmentEpoch = v.int32();
      const metadataSignature = v.compactString();
      const members: ConsumerMemberSnapshot[] = [];
      for (let n = v.uvarint(); n > 0; n--) {
        const memberId = v.compactString();
        const instanceId = v.compactNullableString();
        const rackId = v.compactNullableString();
        const clientId = v.compactString();
        const clientHost = v.compactString();
        const subscribedTopicNames: string[] = [];
        for (let k = v.uvarint(); k > 0; k--) subscribedTopicNames.push(v.compactString());
        members.push({
          memberId,
          instanceId,
          rackId,
          clientId,
          clientHost,
          subscribedTopicNames,
          subscribedTopicRegex: v.compactNullableString(),
          serverAssignor: v.compactNullableString(),
          rebalanceTimeoutMs: v.int32(),
          memberEpoch: v.int32(),
          previousMemberEpoch: v.int32(),
          assigned: readTps(v),
          revoking: readTps(v),
          target: readTps(v),
          classic: version >= 1 ? readClassicInfo(v) : null,
        });
      }
      return {
        kind: "group",
        group,
        value: { type: "consumer", groupEpoch, assignmentEpoch, stateTimestamp, metadataSignature, members },
      };
    }
  }
  return { kind: "unknown" };
}
