// OffsetFetch (key 9), v0-9. Returns a group's committed offsets.
// Behaviour: named partitions without a committed offset (or of an unknown group) answer offset
// -1, leader epoch -1, metadata "" and no error, as Kafka. A null topic list (v2+) returns every
// committed offset of the group. v8+ asks for several groups at once, each with its own error.
// v9 may name a KIP-848 member (memberId, memberEpoch): UNKNOWN_MEMBER_ID / STALE_MEMBER_EPOCH.
// Top-level errors are per partition in v0-1 (which have no error field), the group error in v2-7.
// requireStable (v7+): a partition whose offset an open transaction is about to commit answers
// UNSTABLE_OFFSET_COMMIT (the client retries), as Kafka does; without it the last committed offset.
import { ErrorCode } from "../../protocol/errors.ts";
import { OffsetFetch } from "../../protocol/messages/09_offset_fetch.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import type { RequestContext } from "../handler.ts";
import type { Services } from "../services.ts";

type Fetched = ReturnType<Services["groups"]["fetchOffsets"]>;

/** requireStable: partitions with offsets pending in an open transaction are not stable yet. */
function markUnstable(svc: Services, groupId: string, r: Fetched): Fetched {
  for (const t of r.topics) {
    for (const p of t.partitions) {
      if (
        svc.txns.hasPendingOffset(groupId, t.name, p.partitionIndex) ||
        svc.groups.hasPendingTxnOffset(groupId, t.name, p.partitionIndex)
      ) p.errorCode = ErrorCode.UNSTABLE_OFFSET_COMMIT;
    }
  }
  return r;
}

/**
 * ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED), DESCRIBE on each topic: left out of
 * "all topics", TOPIC_AUTHORIZATION_FAILED for a named one.
 */
function authorizeFetch(
  ctx: RequestContext,
  groupId: string,
  fetch: (topics: { name: string; partitionIndexes: number[] }[] | null) => Fetched,
  topics: { name: string; partitionIndexes: number[] }[] | null,
): Fetched {
  if (!allowed(ctx, Op.DESCRIBE, Res.GROUP, groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  const canDescribe = (name: string) => allowed(ctx, Op.DESCRIBE, Res.TOPIC, name);
  if (topics === null) {
    const r = fetch(null);
    return { errorCode: r.errorCode, topics: r.topics.filter((t) => canDescribe(t.name)) };
  }
  const r = fetch(topics.filter((t) => canDescribe(t.name)));
  const denied = topics.filter((t) => !canDescribe(t.name)).map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((p) => ({
      partitionIndex: p,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: "",
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    })),
  }));
  return { errorCode: r.errorCode, topics: [...r.topics, ...denied] };
}

export default defineHandler(OffsetFetch, [0, 9], LARGE_RESPONSE, (req, ctx) => {
  const svc = ctx.services;
  const groups = svc.groups;
  const v = ctx.apiVersion;
  const stable = v >= 7 && req.requireStable;
  if (v >= 8) {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((g) => {
        let r = authorizeFetch(
          ctx,
          g.groupId,
          (topics) =>
            groups.fetchOffsets(
              g.groupId,
              topics,
              v >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : null,
            ),
          g.topics,
        );
        if (stable) r = markUnstable(svc, g.groupId, r);
        return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics };
      }),
    };
  }
  let r = authorizeFetch(
    ctx,
    req.groupId,
    (topics) => groups.fetchOffsets(req.groupId, topics, null),
    v >= 2 ? req.topics : (req.topics ?? []),
  );
  if (stable) r = markUnstable(svc, req.groupId, r);
  if (v < 2 && r.errorCode !== ErrorCode.NONE) {
    const topics = (req.topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => ({
        partitionIndex: p,
        committedOffset: -1n,
        committedLeaderEpoch: -1,
        metadata: "",
        errorCode: r.errorCode,
      })),
    }));
    return { throttleTimeMs: 0, topics };
  }
  return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
});
