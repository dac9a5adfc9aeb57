// Share groups answer only once share.version 1 is finalized (Kafka 4.1: a preview feature, off by default).
import type { RequestContext } from "../handler.ts";

export const shareEnabled = (ctx: RequestContext) => ctx.services.features.level("share.version") >= 1;
export const SHARE_DISABLED = "Share groups are not enabled: finalize the feature share.version=1 first.";
