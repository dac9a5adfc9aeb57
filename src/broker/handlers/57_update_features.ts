// UpdateFeatures (key 57), v0-2. Changes finalized feature levels (see config/features.ts for what
// is supported). All updates apply or none do; the error (INVALID_UPDATE_VERSION with Kafka's
// "Invalid update version N for feature F. …" message, or INVALID_REQUEST for a feature named
// twice) is the top-level one and, in v0-1, every feature's result. v0's allowDowngrade maps to
// SAFE_DOWNGRADE; validateOnly (v1+) checks without applying. Levels persist; ApiVersions' finalized
// epoch goes up with each change. timeoutMs is not needed: one node is its own controller.
import { ErrorCode } from "../../protocol/errors.ts";
import { UpdateFeatures } from "../../protocol/messages/57_update_features.ts";
import { UpgradeType } from "../config/features.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(UpdateFeatures, [0, 2], async (req, ctx) => {
  const updates = req.featureUpdates.map((u) => ({
    feature: u.feature,
    maxVersionLevel: u.maxVersionLevel,
    upgradeType: ctx.apiVersion === 0
      ? (u.allowDowngrade ? UpgradeType.SAFE_DOWNGRADE : UpgradeType.UPGRADE)
      : u.upgradeType,
  }));
  // ACLs: ALTER on the cluster.
  const out = !clusterAllowed(ctx, Op.ALTER)
    ? { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed." }
    : await ctx.services.features.update(updates, ctx.apiVersion >= 1 && req.validateOnly);
  if (out.errorCode === 0 && updates.length > 0 && !(ctx.apiVersion >= 1 && req.validateOnly)) {
    ctx.services.log("info", `features updated: ${updates.map((u) => `${u.feature}=${u.maxVersionLevel}`).join(", ")}`);
  }
  return {
    throttleTimeMs: 0,
    errorCode: out.errorCode,
    errorMessage: out.errorMessage,
    results: updates.map((u) => ({ feature: u.feature, errorCode: out.errorCode, errorMessage: out.errorMessage })),
  };
});
