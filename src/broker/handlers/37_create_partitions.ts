// CreatePartitions (key 37), v0-3. Raises a topic's partition count (never lowers it).
// Behaviour (Kafka's KRaft controller messages): a count equal to or below the current one is
// INVALID_PARTITIONS; more than MAX_PARTITIONS is INVALID_PARTITIONS; explicit assignments must
// give exactly one replica list per new partition, each of this node only
// (INVALID_REPLICA_ASSIGNMENT); a topic named twice is INVALID_REQUEST; an unknown topic is
// UNKNOWN_TOPIC_OR_PARTITION. validateOnly checks without creating. New partitions are written to
// the metadata store before they are served. timeoutMs is not needed: the change is immediate.
// controller_mutation_rate (KIP-599): the partitions added take from the client's token bucket once
// the request is valid; from v3 a topic is refused with THROTTLING_QUOTA_EXCEEDED while the bucket is
// negative, older versions are accepted and throttled (throttleTimeMs, muting). validateOnly takes none.
// Limits (issue #14.3): adding more than 10,000 partitions in one request fails every allowed topic
// with POLICY_VIOLATION (Kafka's controller); growing past max.broker.partitions is POLICY_VIOLATION.
import { ErrorCode } from "../../protocol/errors.ts";
import { CreatePartitions } from "../../protocol/messages/37_create_partitions.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import type { MutationQuota } from "../config/quotas.ts";
import { THROTTLED } from "../config/quotas.ts";
import { defineHandler } from "../handler.ts";
import type { Services } from "../services.ts";
import {
  brokerPartitionLimit,
  EXCESSIVE_PARTITIONS,
  MAX_PARTITIONS,
  MAX_PARTITIONS_PER_REQUEST,
} from "../topic_admin.ts";

/** The first version refused (not only throttled) over controller_mutation_rate, as in Kafka. */
const STRICT_SINCE = 3;

type Result = { name: string; errorCode: number; errorMessage: string | null };

export default defineHandler(CreatePartitions, [0, 3], async (req, ctx) => {
  const svc = ctx.services;
  const quota = svc.quotas.mutationQuota(ctx.session, ctx.clientId, ctx.apiVersion >= STRICT_SINCE, () => svc.now());
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const results: Result[] = [];
  let added = 0;
  for (const t of req.topics) {
    const current = svc.topics.get(t.name)?.partitions.length;
    // A count over MAX_PARTITIONS fails on its own (INVALID_PARTITIONS) and adds nothing.
    if (counts.get(t.name) === 1 && current !== undefined && t.count > current && t.count <= MAX_PARTITIONS) {
      added += t.count - current;
    }
  }
  const excessive = added > MAX_PARTITIONS_PER_REQUEST;
  for (const t of req.topics) {
    if (counts.get(t.name)! > 1) {
      results.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Duplicate topic in request." });
      continue;
    }
    // ACLs: ALTER on the topic.
    if (!allowed(ctx, Op.ALTER, Res.TOPIC, t.name)) {
      results.push({
        name: t.name,
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: "Authorization failed.",
      });
      continue;
    }
    if (excessive) {
      results.push({ name: t.name, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: EXCESSIVE_PARTITIONS });
      continue;
    }
    results.push({ name: t.name, ...(await grow(svc, t.name, t.count, t.assignments, req.validateOnly, quota)) });
  }
  ctx.throttleTimeMs = quota.throttleTimeMs();
  return { throttleTimeMs: ctx.throttleTimeMs, results };
});

async function grow(
  svc: Services,
  name: string,
  count: number,
  assignments: { brokerIds: number[] }[] | null,
  validateOnly: boolean,
  quota: MutationQuota,
) {
  const fail = (errorCode: number, errorMessage: string) => ({ errorCode, errorMessage });
  const topic = svc.topics.get(name);
  if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
  const current = topic.partitions.length;
  if (count === current) return fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
  if (count < current) {
    return fail(
      ErrorCode.INVALID_PARTITIONS,
      `The topic ${name} currently has ${current} partition(s); ${count} would not be an increase.`,
    );
  }
  if (count > MAX_PARTITIONS) {
    return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most ${MAX_PARTITIONS}, got ${count}.`);
  }
  const additional = count - current;
  if (assignments !== null) {
    if (assignments.length !== additional) {
      return fail(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Attempted to add ${additional} additional partition(s), but only ${assignments.length} assignment(s) were specified.`,
      );
    }
    for (const a of assignments) {
      if (a.brokerIds.length === 0) {
        return fail(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          "The manual partition assignment includes an empty replica list.",
        );
      }
      const seen = new Set<number>();
      for (const b of a.brokerIds) {
        if (seen.has(b)) {
          return fail(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `The manual partition assignment includes the broker ${b} more than once.`,
          );
        }
        seen.add(b);
        if (b !== svc.config.nodeId) {
          return fail(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `The manual partition assignment includes broker ${b}, but no such broker is registered.`,
          );
        }
      }
    }
  }
  const overLimit = brokerPartitionLimit(svc, additional);
  if (overLimit !== null) return fail(ErrorCode.POLICY_VIOLATION, overLimit);
  if (validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null };
  if (!quota.record(additional)) return { ...THROTTLED };
  try {
    await svc.topics.addPartitions(topic, count);
    await svc.cluster.topicsChanged().catch(() => {});
  } catch (e) {
    svc.log("error", `adding partitions to ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
    return fail(
      ErrorCode.KAFKA_STORAGE_ERROR,
      `Could not add partitions: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  svc.log("info", `topic ${name}: ${current} -> ${count} partitions`);
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}
