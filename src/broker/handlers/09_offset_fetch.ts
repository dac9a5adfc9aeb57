// OffsetFetch (key 9), v0-9. Returns a group's committed offsets.
// Behaviour: named partitions without a committed offset (or of an unknown group) answer offset
// -1, leader epoch -1, metadata "" and no error, as Kafka. A null topic list (v2+) returns every
// committed offset of the group. v8+ asks for several groups at once, each with its own error.
// v9 may name a KIP-848 member (memberId, memberEpoch): UNKNOWN_MEMBER_ID / STALE_MEMBER_EPOCH.
// Top-level errors are per partition in v0-1 (which have no error field), the group error in v2-7.
// requireStable (v7+): offsets reach the group only when their transaction commits, so a fetch
// never sees an unstable offset; UNSTABLE_OFFSET_COMMIT is therefore never returned.
import { ErrorCode } from "../../protocol/errors.ts";
import { OffsetFetch } from "../../protocol/messages/09_offset_fetch.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(OffsetFetch, [0, 9], (req, ctx) => {
  const groups = ctx.services.groups;
  const v = ctx.apiVersion;
  if (v >= 8) {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((g) => {
        const r = groups.fetchOffsets(g.groupId, g.topics, v >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : null);
        return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics };
      }),
    };
  }
  const r = groups.fetchOffsets(req.groupId, v >= 2 ? req.topics : (req.topics ?? []), null);
  if (v < 2 && r.errorCode !== ErrorCode.NONE) {
    const topics = (req.topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: r.errorCode })),
    }));
    return { throttleTimeMs: 0, topics };
  }
  return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
});
