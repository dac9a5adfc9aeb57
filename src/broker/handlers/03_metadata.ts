// Metadata (key 3), v0-13. Brokers (this one, at the address advertised for the listener the
// request came in on), topics and partitions.
// Behaviour: a null topic list (v1+), or an empty one at v0, means all topics. A missing topic is
// auto-created when `auto.create.topics.enable` is on and the request allows it (always before v4),
// with `num.partitions`; illegal names get INVALID_TOPIC_EXCEPTION. Topics by id (v10+) answer
// UNKNOWN_TOPIC_ID when unknown; a non-zero id wins over the name, which the Java client sends as "" (Kafka
// likewise resolves such a request by its ids). Brokers and leaders come from the cluster (cluster.ts): one
// node alone leads every partition at epoch 0; in a cluster on PostgreSQL each partition has one leader
// (its sole replica and ISR) and an epoch, and a partition without a live leader answers
// LEADER_NOT_AVAILABLE with leader -1. So does a partition this broker leads while its log dir is offline,
// with the broker in offlineReplicas (log_dir.ts).
// ACLs: topics without DESCRIBE are left out of "all topics" and answer TOPIC_AUTHORIZATION_FAILED
// when named (existing or not); auto-creation needs CREATE on the cluster or the topic. Authorized
// operations are the principal's, when asked for, else INT32_MIN.
// v10-11 carry a topic id field but Kafka takes only names there: a null name or a non-zero id
// makes the whole request INVALID_REQUEST, answered as Kafka's error response (each topic asked
// for with that code, a null name as "", no brokers). v13 (KIP-1102) adds a top-level errorCode, always
// NONE here: this broker never asks a client to rebootstrap.
import { ErrorCode } from "../../protocol/errors.ts";
import { Metadata } from "../../protocol/messages/03_metadata.ts";
import { CLUSTER_NAME } from "../auth/acl.ts";
import { allowed, authorizedOperations, clusterAllowed, Op, Res } from "../auth/authorize.ts";
import { partitionState } from "../log_dir.ts";
import { isCoordinatorTopic } from "../cluster.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import type { Services } from "../services.ts";
import { createTopic, OPERATIONS_OMITTED } from "../topic_admin.ts";
import type { Topic } from "../topics.ts";
import { topicNameError, ZERO_UUID } from "../topics.ts";

export default defineHandler(Metadata, [0, 13], LARGE_RESPONSE, async (req, ctx) => {
  const svc = ctx.services;
  const v = ctx.apiVersion;
  const topicOps = (
    name: string,
  ) => (req.includeTopicAuthorizedOperations ? authorizedOperations(ctx, Res.TOPIC, name) : OPERATIONS_OMITTED);
  const canDescribe = (name: string) => allowed(ctx, Op.DESCRIBE, Res.TOPIC, name);
  const all = req.topics === null || (v === 0 && req.topics.length === 0);
  if (!all && v < 12 && req.topics!.some((t) => t.name === null || t.topicId !== ZERO_UUID)) {
    return {
      throttleTimeMs: 0,
      brokers: [],
      clusterId: null,
      controllerId: -1,
      topics: req.topics!.map((t) => missing(t.name ?? "", t.topicId, ErrorCode.INVALID_REQUEST)),
    };
  }
  type Entry = ReturnType<typeof describe> | ReturnType<typeof missing>;
  const topics: (Entry | null)[] = [];
  if (all) {
    for (const t of svc.topics.list()) if (canDescribe(t.name)) topics.push(describe(svc, t, topicOps(t.name)));
  } else {
    const autoCreate = Boolean(svc.config["auto.create.topics.enable"]) && (v < 4 || req.allowAutoTopicCreation);
    // Topics to auto-create, each once however often it is named: created together, each answered
    // once its creation is done (one after another, a request naming 30 new topics waited for 30
    // metadata fsyncs and partition directories in a row).
    const creations = new Map<string, Promise<unknown>>();
    const later: { at: number; name: string }[] = [];
    for (const want of req.topics!) {
      // v12+: a topic asked for by id is looked up by id whatever its name (the Java client 4.x sends "").
      if (want.name === null || want.topicId !== ZERO_UUID) {
        const t = want.topicId !== ZERO_UUID ? svc.topics.byId(want.topicId) : undefined;
        if (t && !canDescribe(t.name)) topics.push(missing(null, want.topicId, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        else {topics.push(
            t ? describe(svc, t, topicOps(t.name)) : missing(null, want.topicId, ErrorCode.UNKNOWN_TOPIC_ID),
          );}
        continue;
      }
      if (!canDescribe(want.name)) {
        topics.push(missing(want.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        continue;
      }
      let t = svc.topics.get(want.name);
      if (!t && autoCreate && !clusterAllowed(ctx, Op.CREATE) && !allowed(ctx, Op.CREATE, Res.TOPIC, want.name)) {
        topics.push(missing(want.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        continue;
      }
      if (!t && autoCreate && isCoordinatorTopic(want.name) && svc.cluster.ensureCoordinatorTopic) {
        // As Kafka's auto-creation: an internal topic with its own settings (offsets.topic.num.partitions, compacted).
        await svc.cluster.ensureCoordinatorTopic(want.name).catch((e) =>
          svc.log("warn", `creating ${want.name} failed: ${e instanceof Error ? e.message : String(e)}`)
        );
        t = svc.topics.get(want.name);
      } else if (!t && autoCreate) {
        if (topicNameError(want.name)) {
          topics.push(missing(want.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
          continue;
        }
        if (!creations.has(want.name)) {
          // Another request creating it already: this answer waits for that creation.
          const theirs = svc.topics.creation(want.name);
          creations.set(
            want.name,
            theirs ? theirs.catch(() => {}) : createTopic(
              svc,
              {
                name: want.name,
                numPartitions: -1,
                replicationFactor: -1,
                assignments: [],
                configs: [],
                // Auto-created partitions count against controller_mutation_rate, permissively (as Kafka).
              },
              false,
              svc.quotas.mutationQuota(ctx.session, ctx.clientId, false, () => svc.now()),
            ),
          );
        }
        later.push({ at: topics.length, name: want.name });
        topics.push(null);
        continue;
      }
      topics.push(
        t ? describe(svc, t, topicOps(t.name)) : missing(want.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
      );
    }
    await Promise.all(creations.values());
    for (const { at, name } of later) {
      const t = svc.topics.get(name);
      topics[at] = t
        ? describe(svc, t, topicOps(t.name))
        : missing(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: svc.cluster.brokers(ctx.session.listener),
    clusterId: svc.clusterId,
    controllerId: svc.cluster.controllerId(),
    topics: topics as Entry[],
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
      ? authorizedOperations(ctx, Res.CLUSTER, CLUSTER_NAME)
      : OPERATIONS_OMITTED,
  };
});

function describe(svc: Services, t: Topic, topicAuthorizedOperations: number) {
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.id,
    isInternal: t.internal,
    partitions: t.partitions.map((_, i) => partitionState(svc, t.name, i)),
    topicAuthorizedOperations,
  };
}

function missing(name: string | null, topicId: string, errorCode: number) {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_OMITTED };
}
