// DescribeConfigs (key 32), v0-4. Configs of topics (every topic config, its effective value and
// source), of this broker (resource name = node id: every broker config; "": the dynamic
// cluster-wide defaults only) and of the broker's logger (BROKER_LOGGER: "root").
// Behaviour: configurationKeys filters by name (null: all); includeSynonyms (v1+) lists where a
// value could come from, highest precedence first (topic override, dynamic broker, dynamic default,
// static, default — Kafka's order, including unit synonyms such as log.retention.hours);
// includeDocumentation (v3+) adds our own one-line docs; v3+ carries the config type. Sensitive
// (password) values and configs of unknown type are returned as null. v0 answers isDefault instead
// of a source. Errors per resource: UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION, or
// INVALID_REQUEST for another broker's id or a resource type we do not have (CLIENT_METRICS). GROUP
// resources are share groups' configs (share/group_configs.ts).
import { DescribeConfigs } from "../../protocol/messages/32_describe_configs.ts";
import { configDenied, Op } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

export default defineHandler(DescribeConfigs, [0, 4], LARGE_RESPONSE, (req, ctx) => {
  const svc = ctx.services;
  const includeSynonyms = ctx.apiVersion >= 1 && req.includeSynonyms;
  const includeDocumentation = ctx.apiVersion >= 3 && req.includeDocumentation;
  const results = req.resources.map((r) => {
    // ACLs: DESCRIBE_CONFIGS on the topic, or on the cluster for broker resources.
    const denied = configDenied(ctx, Op.DESCRIBE_CONFIGS, r.resourceType, r.resourceName);
    if (denied !== null) {
      return {
        errorCode: denied,
        errorMessage: "Authorization failed.",
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
      };
    }
    const out = svc.configs.describe(
      r.resourceType,
      r.resourceName,
      r.configurationKeys,
      includeSynonyms,
      includeDocumentation,
    );
    return {
      errorCode: out.errorCode,
      errorMessage: out.errorMessage,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      configs: out.configs,
    };
  });
  return { throttleTimeMs: 0, results };
});
