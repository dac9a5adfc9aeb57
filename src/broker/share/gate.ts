// Share groups answer only once share.version 1 is finalized (Kafka 4.1: a preview feature, off by default);
// and the topic READ check that ShareFetch and ShareAcknowledge share.
import { allowed, memo, Op, Res } from "../auth/authorize.ts";
import type { RequestContext } from "../handler.ts";

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
