// ListConfigResources (key 74), v0-1 (v0 was ListClientMetricsResources; renamed by KIP-1142).
// Behaviour: needs DESCRIBE_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED otherwise). v0
// lists client-metrics resources (KIP-714 subscriptions). v1 lists the config resources of the types asked for (an empty list: every type this
// broker has): TOPIC (2) every topic, BROKER (4) this node's id, BROKER_LOGGER (8) this node's id,
// GROUP (32) the share groups with configs set, CLIENT_METRICS (16) the client-metrics subscriptions. Any other type answers
// UNSUPPORTED_VERSION, as Kafka 4.1 does for a type it does not list.
import { ErrorCode } from "../../protocol/errors.ts";
import { ListConfigResources } from "../../protocol/messages/74_list_config_resources.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

const TOPIC = 2;
const BROKER = 4;
const BROKER_LOGGER = 8;
const CLIENT_METRICS = 16;
const GROUP = 32;
const SUPPORTED = [TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP];

export default defineHandler(ListConfigResources, [0, 1], LARGE_RESPONSE, (req, ctx) => {
  const svc = ctx.services;
  if (!clusterAllowed(ctx, Op.DESCRIBE_CONFIGS)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, configResources: [] };
  }
  const types = ctx.apiVersion === 0 ? [CLIENT_METRICS] : req.resourceTypes.length ? req.resourceTypes : SUPPORTED;
  if (types.some((t) => !SUPPORTED.includes(t))) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_VERSION, configResources: [] };
  }
  const configResources: { resourceName: string; resourceType: number }[] = [];
  for (const resourceType of new Set(types)) {
    if (resourceType === TOPIC) {
      for (const t of svc.topics.list()) configResources.push({ resourceName: t.name, resourceType });
    } else if (resourceType === BROKER || resourceType === BROKER_LOGGER) {
      configResources.push({ resourceName: String(svc.config.nodeId), resourceType });
    } else if (resourceType === CLIENT_METRICS) {
      for (const resourceName of svc.clientMetrics.names()) configResources.push({ resourceName, resourceType });
    } else if (resourceType === GROUP) {
      for (const g of svc.share.groups.values()) {
        if (g.configs.size > 0) configResources.push({ resourceName: g.groupId, resourceType });
      }
    }
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, configResources };
});
