// CreateTopics (key 19), v0-7. Validates names (Kafka's rules and '.'/'_' collisions), partition
// counts, replication factor (1 on one node), replica assignments (this node only, consecutive
// partitions), topic configs (INVALID_CONFIG with Kafka's message); validateOnly (v1+) checks without
// creating. A name given twice in one request fails with INVALID_REQUEST for each occurrence.
// v5+ responses carry the topic's partitions, replication factor and its configs with sources.
// controller_mutation_rate (KIP-599): each created topic takes its partition count from the client's
// token bucket; from v6 a topic is refused with THROTTLING_QUOTA_EXCEEDED while the bucket is
// negative, older versions are accepted and throttled (throttleTimeMs, muting). validateOnly takes none.
// Limits (issue #14.3): more than 10,000 partitions in one request fails every topic allowed to be
// created with POLICY_VIOLATION ("Excessively large number of partitions per request.", as Kafka's
// controller); a topic that would take the broker over max.broker.partitions gets POLICY_VIOLATION.
import { ErrorCode } from "../../protocol/errors.ts";
import { CreateTopics } from "../../protocol/messages/19_create_topics.ts";
import { allowed, clusterAllowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { createTopic, EXCESSIVE_PARTITIONS, MAX_PARTITIONS_PER_REQUEST } from "../topic_admin.ts";
import { ZERO_UUID } from "../topics.ts";

/** The first version refused (not only throttled) over controller_mutation_rate, as in Kafka. */
const STRICT_SINCE = 6;

export default defineHandler(CreateTopics, [0, 7], async (req, ctx) => {
  const svc = ctx.services;
  const quota = svc.quotas.mutationQuota(ctx.session, ctx.clientId, ctx.apiVersion >= STRICT_SINCE, () => svc.now());
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const topics = [];
  // ACLs: CREATE on the cluster or on the topic.
  const mayCreate = (name: string) => clusterAllowed(ctx, Op.CREATE) || allowed(ctx, Op.CREATE, Res.TOPIC, name);
  // Kafka's controller counts the partitions of every topic it is asked to create, before anything else.
  let requested = 0;
  for (const t of req.topics) {
    if (counts.get(t.name)! > 1 || !mayCreate(t.name)) continue;
    requested += t.assignments.length > 0
      ? t.assignments.length
      : t.numPartitions === -1
      ? Number(svc.config["num.partitions"])
      : Math.max(t.numPartitions, 0);
  }
  const excessive = requested > MAX_PARTITIONS_PER_REQUEST;
  for (const t of req.topics) {
    if (!mayCreate(t.name)) {
      topics.push({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: "Authorization failed.",
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      });
      continue;
    }
    if (counts.get(t.name)! > 1) {
      topics.push({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `Create topics request from client contains a duplicate topic name: ${t.name}`,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      });
      continue;
    }
    if (excessive) {
      topics.push({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode: ErrorCode.POLICY_VIOLATION,
        errorMessage: EXCESSIVE_PARTITIONS,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      });
      continue;
    }
    const out = await createTopic(
      svc,
      {
        name: t.name,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        assignments: t.assignments,
        configs: t.configs,
      },
      req.validateOnly,
      quota,
    );
    if (out.errorCode !== ErrorCode.NONE) {
      topics.push({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode: out.errorCode,
        errorMessage: out.errorMessage,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      });
      continue;
    }
    const set = new Map(t.configs.map((c) => [c.name, c.value ?? ""]));
    topics.push({
      name: t.name,
      topicId: out.topic?.id ?? ZERO_UUID,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: out.partitions,
      replicationFactor: out.replicationFactor,
      configs: svc.configs.describeTopicConfigs(set, false, false).map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        configSource: c.configSource,
        isSensitive: c.isSensitive,
      })),
    });
  }
  ctx.throttleTimeMs = quota.throttleTimeMs();
  return { throttleTimeMs: ctx.throttleTimeMs, topics };
});
