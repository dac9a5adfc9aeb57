// Share groups answer only once share.version 1 is finalized (Kafka 4.1: a preview feature, off by default);
// the topic READ check that ShareFetch and ShareAcknowledge share, and the leader they name; and whether a
// group id given to a classic-group or offsets API is a share group's.
import { ErrorCode } from "../../protocol/errors.ts";
import { allowed, memo, Op, Res } from "../auth/authorize.ts";
import type { RequestContext } from "../handler.ts";
import type { Services } from "../services.ts";

export const shareEnabled = (ctx: RequestContext) => ctx.services.features.level("share.version") >= 1;
/**
 * READ on topics named by id (ShareFetch, ShareAcknowledge), decided once per topic in a request. An
 * unknown id passes: the partition answers UNKNOWN_TOPIC_OR_PARTITION instead.
 */
export function topicIdReader(ctx: RequestContext): (topicId: string) => boolean {
  return memo((topicId) => {
    const name = ctx.services.topics.byId(topicId)?.name;
    return name === undefined || allowed(ctx, Op.READ, Res.TOPIC, name);
  });
}

export const SHARE_DISABLED = "Share groups are not enabled: finalize the feature share.version=1 first.";

/** A partition's leader and epoch as ShareFetch and ShareAcknowledge answers carry them (this broker alone: itself). */
export function currentLeader(svc: Services, topicId: string, partition: number) {
  const name = svc.topics.byId(topicId)?.name;
  if (name === undefined) return { leaderId: svc.config.nodeId, leaderEpoch: 0 };
  const { leader, epoch } = svc.cluster.leader(name, partition);
  return { leaderId: leader, leaderEpoch: epoch };
}

/**
 * Whether `groupId` is a share group this broker coordinates: the classic-group and offset APIs then answer as
 * Kafka's GroupMetadataManager does for a group of another type (elsewhere they answer NOT_COORDINATOR as usual).
 */
export function isShareGroup(svc: Services, groupId: string): boolean {
  return svc.share.groups.has(groupId) && svc.groups.coordinatorError(groupId) === ErrorCode.NONE;
}
