// ShareFetch (key 78), v1 (KIP-932). Acknowledges what the member sends, then acquires records for
// it from the partitions of its share session, each acquired record locked to the member for the
// lock duration (acquisitionLockTimeoutMs) and counted as a delivery. See share/coordinator.ts.
// Sessions: shareSessionEpoch 0 opens one (acknowledgements are not allowed then: INVALID_REQUEST),
// later requests carry the next epoch (INVALID_SHARE_SESSION_EPOCH, SHARE_SESSION_NOT_FOUND), and
// -1 closes it after applying its acknowledgements, fetching nothing. A request with nothing to
// acquire waits up to maxWaitMs for an append (or an expiring lock), and returns at shutdown. Up to
// maxRecords records (500 when 0) and about maxBytes (whole batches; AcquiredRecords says which
// offsets are the member's). Each partition carries an acknowledgeErrorCode (INVALID_RECORD_STATE
// for a record the member does not hold) beside its fetch errorCode.
// ACLs: READ on the group (the whole request), READ on each topic (TOPIC_AUTHORIZATION_FAILED).
// In a cluster a partition this broker does not lead answers NOT_LEADER_OR_FOLLOWER (fetch and
// acknowledgements alike) with its current leader.
import { ErrorCode } from "../../protocol/errors.ts";
import { ShareFetch } from "../../protocol/messages/78_share_fetch.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { waitForAppend } from "../append_wait.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { currentLeader, SHARE_DISABLED, shareEnabled, topicIdReader } from "../share/gate.ts";

type PartitionOut = {
  partitionIndex: number;
  errorCode: number;
  errorMessage: string | null;
  acknowledgeErrorCode: number;
  acknowledgeErrorMessage: string | null;
  currentLeader: { leaderId: number; leaderEpoch: number };
  records: Uint8Array[];
  acquiredRecords: { firstOffset: bigint; lastOffset: bigint; deliveryCount: number }[];
};

export default defineHandler(ShareFetch, [1, 1], LARGE_RESPONSE, async (req, ctx) => {
  const svc = ctx.services;
  const share = svc.share;
  const top = (errorCode: number, errorMessage: string | null) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    acquisitionLockTimeoutMs: 0,
    responses: [],
    nodeEndpoints: [],
  });
  if (!shareEnabled(ctx)) return top(ErrorCode.UNSUPPORTED_VERSION, SHARE_DISABLED);
  if (req.groupId === null || req.memberId === null || req.groupId === "" || req.memberId === "") {
    return top(ErrorCode.INVALID_REQUEST, "GroupId and MemberId must be set.");
  }
  if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId)) {
    return top(ErrorCode.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.");
  }
  const epoch = req.shareSessionEpoch;
  const hasAcks = req.topics.some((t) => t.partitions.some((p) => p.acknowledgementBatches.length > 0));
  if (epoch === 0 && hasAcks) {
    return top(ErrorCode.INVALID_REQUEST, "Acknowledge data is not allowed on a request that opens a share session.");
  }
  const add = req.topics.flatMap((t) => t.partitions.map((p) => ({ topicId: t.topicId, partition: p.partitionIndex })));
  const forget = req.forgottenTopicsData.flatMap((t) =>
    t.partitions.map((partition) => ({ topicId: t.topicId, partition }))
  );
  const session = await share.session(
    req.groupId,
    req.memberId,
    epoch,
    epoch === -1 ? [] : add,
    forget,
    ctx.session.id,
  );
  if ("errorCode" in session) return top(session.errorCode, session.errorMessage);

  const out = new Map<string, PartitionOut>();
  const entry = (topicId: string, partition: number) => {
    const k = `${topicId}:${partition}`;
    let e = out.get(k);
    if (!e) {
      e = {
        partitionIndex: partition,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        acknowledgeErrorCode: ErrorCode.NONE,
        acknowledgeErrorMessage: null,
        currentLeader: currentLeader(svc, topicId, partition),
        records: [],
        acquiredRecords: [],
      };
      out.set(k, e);
    }
    return e;
  };
  const canRead = topicIdReader(ctx);

  if (hasAcks) {
    const acks = req.topics.filter((t) => canRead(t.topicId));
    const codes = await share.acknowledge(req.groupId, req.memberId, acks);
    for (const [k, code] of codes) {
      const [topicId, p] = k.split(":");
      entry(topicId, Number(p)).acknowledgeErrorCode = code;
    }
    for (const t of req.topics) {
      if (canRead(t.topicId)) continue;
      for (const p of t.partitions) {
        entry(t.topicId, p.partitionIndex).acknowledgeErrorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      }
    }
  }
  const lockMs = share.limits(share.groups.get(req.groupId)).lockDurationMs;
  if (epoch === -1) {
    await share.closeSession(req.groupId, req.memberId);
  } else {
    const parts = [...session.partitions.values()].filter((p) => {
      if (!svc.topics.byId(p.topicId)?.partitions[p.partition]) {
        entry(p.topicId, p.partition).errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        return false;
      }
      if (!canRead(p.topicId)) {
        entry(p.topicId, p.partition).errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        return false;
      }
      return true;
    });
    const maxRecords = req.maxRecords > 0 ? req.maxRecords : 500;
    const maxBytes = req.maxBytes > 0 ? req.maxBytes : 0x7fffffff;
    let results = await share.acquire(req.groupId, req.memberId, parts, maxRecords, maxBytes, session);
    // Nothing yet: wait for an append, an expiring lock (its record can be acquired again), the
    // request's maxWaitMs, records of the group released by others, or shutdown (append_wait.ts).
    const empty = () => results.every((r) => r.acquired.length === 0 && r.errorCode === ErrorCode.NONE);
    const deadline = svc.now() + req.maxWaitMs;
    const logs = parts.flatMap((p) => svc.topics.byId(p.topicId)?.partitions[p.partition] ?? []);
    while (empty()) {
      const left = deadline - svc.now();
      if (left <= 0) break;
      const expiry = share.nextExpiry(req.groupId, parts) - svc.now() + 1;
      const released = (wake: () => void) => share.onAvailable(req.groupId!, wake);
      if ((await waitForAppend(svc, logs, Math.min(left, Math.max(0, expiry)), [released])) === "closing") break;
      if (!share.isLive(req.groupId, req.memberId, session)) break; // its connection dropped meanwhile
      results = await share.acquire(req.groupId, req.memberId, parts, maxRecords, maxBytes, session);
    }
    for (const r of results) {
      if (r.acquired.length === 0 && r.errorCode === ErrorCode.NONE) continue;
      const e = entry(r.topicId, r.partition);
      e.errorCode = r.errorCode;
      e.records = r.records;
      e.acquiredRecords = r.acquired.map((a) => ({
        firstOffset: BigInt(a.firstOffset),
        lastOffset: BigInt(a.lastOffset),
        deliveryCount: a.deliveryCount,
      }));
    }
  }
  const byTopic = new Map<string, PartitionOut[]>();
  for (const [k, e] of out) {
    const topicId = k.slice(0, k.indexOf(":"));
    if (!byTopic.has(topicId)) byTopic.set(topicId, []);
    byTopic.get(topicId)!.push(e);
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    acquisitionLockTimeoutMs: lockMs,
    responses: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
    nodeEndpoints: [],
  };
});
