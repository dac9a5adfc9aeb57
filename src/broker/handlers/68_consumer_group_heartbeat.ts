// ConsumerGroupHeartbeat (key 68), v0 (KIP-848). Joins, heartbeats in and leaves a consumer group
// whose assignment the coordinator computes (server-side assignors "uniform" and "range").
// Behaviour: see groups/consumer.ts. memberEpoch 0 joins (v0 lets the server pick the member id
// when it is empty), -1 leaves, -2 leaves temporarily (static members). Errors: INVALID_REQUEST
// (missing first-request fields, bad epochs), UNSUPPORTED_ASSIGNOR, UNKNOWN_MEMBER_ID,
// FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED,
// GROUP_ID_NOT_FOUND (the id belongs to a non-empty classic group), with an error message.
// Versions: v1 (client-generated member ids, SubscribedTopicRegex) is marked unstable in the
// schema (latestVersionUnstable) and is not advertised; the coordinator already implements regex
// subscriptions (tested in tests/groups), so advertising v1 is a one-line change once it is stable.
import { ConsumerGroupHeartbeat } from "../../protocol/messages/68_consumer_group_heartbeat.ts";
import { clientHostOf } from "../groups/coordinator.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(ConsumerGroupHeartbeat, [0, 0], async (req, ctx) => {
  const r = await ctx.services.groups.consumerGroupHeartbeat(req.groupId, {
    memberId: req.memberId,
    memberEpoch: req.memberEpoch,
    instanceId: req.instanceId,
    rackId: req.rackId,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    subscribedTopicNames: req.subscribedTopicNames,
    subscribedTopicRegex: ctx.apiVersion >= 1 ? req.subscribedTopicRegex : null,
    serverAssignor: req.serverAssignor,
    topicPartitions: req.topicPartitions,
    clientId: ctx.clientId ?? "",
    clientHost: clientHostOf(ctx.session.remote),
  });
  return { throttleTimeMs: 0, ...r };
});
