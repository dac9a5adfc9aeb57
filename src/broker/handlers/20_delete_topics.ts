// DeleteTopics (key 20), v0-6. By name (all versions) or by topic id (v6+). Unknown topics get
// UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID by id).
// Groups' committed offsets of the topic are deleted with it, as in Kafka.
// Data is removed from the store at once (Kafka's file.delete.delay.ms does not apply yet); the file engine
// answers once the partition directories are renamed aside and removes them in the background.
// controller_mutation_rate (KIP-599): each deleted topic takes its partition count from the client's
// token bucket; from v5 a topic is refused with THROTTLING_QUOTA_EXCEEDED while the bucket is
// negative, older versions are accepted and throttled (throttleTimeMs, muting).
import { ErrorCode } from "../../protocol/errors.ts";
import { DeleteTopics } from "../../protocol/messages/20_delete_topics.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { THROTTLED } from "../config/quotas.ts";
import { deleteTopic } from "../topic_admin.ts";
import type { Topic } from "../topics.ts";
import { ZERO_UUID } from "../topics.ts";

/** The first version refused (not only throttled) over controller_mutation_rate, as in Kafka. */
const STRICT_SINCE = 5;

export default defineHandler(DeleteTopics, [0, 6], async (req, ctx) => {
  const svc = ctx.services;
  const quota = svc.quotas.mutationQuota(ctx.session, ctx.clientId, ctx.apiVersion >= STRICT_SINCE, () => svc.now());
  const wanted: { name: string | null; topicId: string }[] = ctx.apiVersion >= 6
    ? req.topics
    : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
  type Answer = { name: string | null; topicId: string; errorCode: number; errorMessage: string | null };
  const responses: (Answer | Promise<Answer>)[] = [];
  // The topics found are deleted together (their records share the metadata log's group commit); one
  // named again after it was found answers as if already gone, as when deleted one after another.
  const taken = new Set<Topic>();
  for (const w of wanted) {
    const byId = w.name === null;
    const found = byId ? svc.topics.byId(w.topicId) : svc.topics.get(w.name!);
    const topic = found && !taken.has(found) ? found : undefined;
    // ACLs: DELETE on the topic (asked for by name, existing or not; by id, once found).
    const name = topic?.name ?? w.name;
    if (name !== null && !allowed(ctx, Op.DELETE, Res.TOPIC, name)) {
      responses.push({
        name: w.name,
        topicId: w.topicId,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: "Authorization failed.",
      });
      continue;
    }
    if (!topic) {
      responses.push({
        name: w.name,
        topicId: w.topicId,
        errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: byId ? `Topic id ${w.topicId} not found.` : "This server does not host this topic-partition.",
      });
      continue;
    }
    if (!quota.record(topic.partitions.length)) {
      responses.push({ name: w.name, topicId: w.topicId, ...THROTTLED });
      continue;
    }
    taken.add(topic);
    responses.push(deleteTopic(svc, topic).then((out) => ({ name: topic.name, topicId: topic.id, ...out })));
  }
  ctx.throttleTimeMs = quota.throttleTimeMs();
  return { throttleTimeMs: ctx.throttleTimeMs, responses: await Promise.all(responses) };
});
