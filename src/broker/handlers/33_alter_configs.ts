// AlterConfigs (key 33), v0-2. Replaces the dynamic configs of a topic or of the broker (resource
// name = node id, or "" for the cluster-wide defaults) with the given set: configs left out go
// back to their defaults. Values are validated like Kafka (INVALID_CONFIG with its message; a
// null value or a key given twice is INVALID_REQUEST); broker configs that cannot change at run
// time are refused ("Cannot update these configs dynamically"). validateOnly checks without
// applying. Changes take effect at once and persist. BROKER_LOGGER is refused (INVALID_REQUEST),
// as in Kafka: use IncrementalAlterConfigs.
import { AlterConfigs } from "../../protocol/messages/33_alter_configs.ts";
import { OpType, resourceTypeName } from "../config/configs.ts";
import { configDenied, Op } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(AlterConfigs, [0, 2], async (req, ctx) => {
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
    const ops = r.configs.map((c) => ({ name: c.name, op: OpType.SET, value: c.value }));
    const out = await svc.configs.alter(r.resourceType, r.resourceName, ops, false, req.validateOnly);
    if (out.errorCode === 0 && !req.validateOnly) {
      svc.log(
        "info",
        `configs of ${resourceTypeName(r.resourceType)} ${JSON.stringify(r.resourceName)} replaced: ${
          ops.map((o) => o.name).join(", ") || "(none)"
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
