// IncrementalAlterConfigs (key 44), v0-1. Per key: SET (0), DELETE (1), APPEND (2) and SUBTRACT (3)
// — the last two only on list configs such as cleanup.policy, starting from the current effective
// value. Resources: TOPIC, BROKER (node id, or "" for cluster-wide defaults), BROKER_LOGGER (the
// "root" logger's level, OFF..ALL, mapped onto our four levels; not persisted, as in Kafka).
// Validation and errors as AlterConfigs; validateOnly checks without applying. Applied changes take
// effect at once (Produce, Fetch, retention and compaction read through Topics.config) and persist.
import { IncrementalAlterConfigs } from "../../protocol/messages/44_incremental_alter_configs.ts";
import { configDenied, Op } from "../auth/authorize.ts";
import { resourceTypeName } from "../config/configs.ts";

const OP_NAMES = ["SET", "DELETE", "APPEND", "SUBTRACT"];
import { defineHandler } from "../handler.ts";

export default defineHandler(IncrementalAlterConfigs, [0, 1], async (req, ctx) => {
  const svc = ctx.services;
  const responses = [];
  for (const r of req.resources) {
    // ACLs: ALTER_CONFIGS on the topic, or on the cluster for broker resources.
    const denied = configDenied(ctx, Op.ALTER_CONFIGS, r.resourceType, r.resourceName);
    if (denied !== null) {
      responses.push({
        errorCode: denied,
        errorMessage: "Authorization failed.",
        resourceType: r.resourceType,
        resourceName: r.resourceName,
      });
      continue;
    }
    const ops = r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value }));
    const out = await svc.configs.alter(r.resourceType, r.resourceName, ops, true, req.validateOnly);
    if (out.errorCode === 0 && !req.validateOnly && ops.length > 0) {
      svc.log(
        "info",
        `configs of ${resourceTypeName(r.resourceType)} ${JSON.stringify(r.resourceName)} changed: ${
          ops.map((o) => `${OP_NAMES[o.op] ?? o.op} ${o.name}`).join(", ")
        }`,
      );
    }
    responses.push({
      errorCode: out.errorCode,
      errorMessage: out.errorMessage,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
    });
  }
  return { throttleTimeMs: 0, responses };
});
