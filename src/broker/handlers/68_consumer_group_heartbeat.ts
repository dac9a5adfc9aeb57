// ConsumerGroupHeartbeat (key 68), v0-1 (KIP-848). Joins, heartbeats in and leaves a consumer group
// whose assignment the coordinator computes (server-side assignors "uniform" and "range").
// Behaviour: see groups/consumer.ts. memberEpoch 0 joins, -1 leaves, -2 leaves temporarily (static
// members). v0 lets the coordinator pick the member id when it is empty; from v1 the member
// generates it (KIP-1082) and an empty one is INVALID_REQUEST. v1 adds SubscribedTopicRegex: the
// member subscribes to every non-internal topic whose whole name matches, re-evaluated as topics
// come and go. Errors: INVALID_REQUEST (missing first-request fields, bad epochs, empty ids),
// INVALID_REGULAR_EXPRESSION, UNSUPPORTED_ASSIGNOR, UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH,
// FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED, GROUP_ID_NOT_FOUND (the id
// belongs to a classic group that cannot be upgraded, or to a share group), with Kafka's error messages.
// ACLs (as Kafka's KafkaApis): READ on the group (GROUP_AUTHORIZATION_FAILED); subscribing by name to
// a topic the principal may not DESCRIBE is TOPIC_AUTHORIZATION_FAILED, and a regex matches only the
// topics it may describe, so neither reveals a topic's id or partitions.
// Versions: our spec snapshot marks v1 unstable; Apache Kafka 4.0 released it with this same wire
// format and these semantics, and serves it by default, so we advertise it too.
import { ErrorCode } from "../../protocol/errors.ts";
import { ConsumerGroupHeartbeat } from "../../protocol/messages/68_consumer_group_heartbeat.ts";
import { clientHostOf } from "../groups/coordinator.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { isShareGroup } from "../share/gate.ts";

export default defineHandler(ConsumerGroupHeartbeat, [0, 1], async (req, ctx) => {
  // ACLs: READ on the group.
  if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      errorMessage: "Group authorization failed.",
      memberId: null,
      memberEpoch: -1,
      heartbeatIntervalMs: 0,
      assignment: null,
    };
  }
  if (req.subscribedTopicNames !== null && req.subscribedTopicNames.length > 0) {
    if (req.subscribedTopicNames.some((t) => !allowed(ctx, Op.DESCRIBE, Res.TOPIC, t))) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: null,
        memberId: null,
        memberEpoch: -1,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
  }
  if (isShareGroup(ctx.services, req.groupId)) {
    // Kafka's GroupMetadataManager: the id is a share group's.
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
      errorMessage: `Group ${req.groupId} is not a consumer group.`,
      memberId: null,
      memberEpoch: -1,
      heartbeatIntervalMs: 0,
      assignment: null,
    };
  }
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
    mayDescribe: ctx.services.acls.enabled ? (topic) => allowed(ctx, Op.DESCRIBE, Res.TOPIC, topic) : undefined,
  }, ctx.apiVersion);
  return { throttleTimeMs: 0, ...r };
});
