// ShareAcknowledge (key 79), v1 (KIP-932). Applies acknowledgements (accept, release, reject, or a
// gap) to records the member holds, inside its share session: the epoch must be the session's next
// (0 is INVALID_SHARE_SESSION_EPOCH: acknowledgements need an open session), -1 closes the session
// afterwards and releases what the member still holds. The answer comes once the new states are
// stored. Per partition: INVALID_RECORD_STATE for records the member does not hold,
// UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED; in a cluster NOT_LEADER_OR_FOLLOWER (with
// the current leader) for a partition another broker leads.
import { ErrorCode } from "../../protocol/errors.ts";
import { ShareAcknowledge } from "../../protocol/messages/79_share_acknowledge.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { currentLeader, SHARE_DISABLED, shareEnabled, topicIdReader } from "../share/gate.ts";

export default defineHandler(ShareAcknowledge, [1, 1], async (req, ctx) => {
  const svc = ctx.services;
  const top = (errorCode: number, errorMessage: string | null) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
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
  if (req.shareSessionEpoch === 0) {
    return top(
      ErrorCode.INVALID_SHARE_SESSION_EPOCH,
      "Acknowledgements need an open share session (epoch 0 opens one).",
    );
  }
  const session = await svc.share.session(req.groupId, req.memberId, req.shareSessionEpoch, [], [], ctx.session.id);
  if ("errorCode" in session) return top(session.errorCode, session.errorMessage);
  const canRead = topicIdReader(ctx);
  const codes = await svc.share.acknowledge(req.groupId, req.memberId, req.topics.filter((t) => canRead(t.topicId)));
  if (req.shareSessionEpoch === -1) await svc.share.closeSession(req.groupId, req.memberId);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    responses: req.topics.map((t) => ({
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: canRead(t.topicId)
          ? codes.get(`${t.topicId}:${p.partitionIndex}`) ?? ErrorCode.NONE
          : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: null,
        currentLeader: currentLeader(svc, t.topicId, p.partitionIndex),
      })),
    })),
    nodeEndpoints: [],
  };
});
