// Topic creation rules shared by CreateTopics and Metadata's auto-creation.
import { ErrorCode } from "../protocol/errors.ts";
import type { MutationQuota } from "./config/quotas.ts";
import { THROTTLED } from "./config/quotas.ts";
import type { Services } from "./services.ts";
import { dropRemovedTopicConfigs, validateTopicConfigs } from "./topic_configs.ts";
import type { Topic } from "./topics.ts";
import { topicNameError } from "./topics.ts";

/** KRaft's metadata log: reserved, never a user topic (Kafka refuses to create it). */
export const CLUSTER_METADATA_TOPIC = "__cluster_metadata";

/** Kafka's limit on partitions per topic is the int32 range; we keep memory sane. */
export const MAX_PARTITIONS = 100_000;

/**
 * Kafka's controller (ReplicationControlManager.MAX_PARTITIONS_PER_BATCH): a CreateTopics or
 * CreatePartitions request adding more partitions than this fails with POLICY_VIOLATION.
 */
export const MAX_PARTITIONS_PER_REQUEST = 10_000;
export const EXCESSIVE_PARTITIONS = "Excessively large number of partitions per request.";

/** max.broker.partitions default (KIP-578's name): partitions this broker holds at most. */
const MAX_BROKER_PARTITIONS = 100_000;

/** The partitions this broker holds, all topics together (those of topics being created too). */
export function partitionCount(svc: Services): number {
  let n = svc.topics.creatingPartitions();
  for (const t of svc.topics.list()) n += t.partitions.length;
  return n;
}

/** POLICY_VIOLATION's message when adding `more` partitions would pass max.broker.partitions, else null. */
export function brokerPartitionLimit(svc: Services, more: number): string | null {
  const max = Number(svc.config["max.broker.partitions"] ?? MAX_BROKER_PARTITIONS);
  const now = partitionCount(svc);
  if (now + more <= max) return null;
  return `Adding ${more} partition(s) would take this broker to ${now + more}, over max.broker.partitions (${max}).`;
}

export type NewTopic = {
  name: string;
  /** -1: the broker's num.partitions. */
  numPartitions: number;
  /** -1: the broker's default.replication.factor. */
  replicationFactor: number;
  /** Explicit replica assignment: partition index -> broker ids. */
  assignments: { partitionIndex: number; brokerIds: number[] }[];
  configs: { name: string; value: string | null }[];
};

export type Outcome = { errorCode: number; errorMessage: string | null; partitions: number; replicationFactor: number };

/**
 * Validates a new topic; creates it unless `validateOnly`. `quota` (CreateTopics'
 * controller_mutation_rate) is asked for the partitions once the topic is valid, as Kafka's controller
 * does, and may refuse it with THROTTLING_QUOTA_EXCEEDED.
 */
export async function createTopic(
  svc: Services,
  t: NewTopic,
  validateOnly: boolean,
  quota?: MutationQuota,
): Promise<Outcome & { topic?: Topic }> {
  const fail = (errorCode: number, errorMessage: string): Outcome => ({
    errorCode,
    errorMessage,
    partitions: -1,
    replicationFactor: -1,
  });
  const nameError = topicNameError(t.name);
  if (nameError) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
  if (t.name === CLUSTER_METADATA_TOPIC) {
    return fail(ErrorCode.INVALID_REQUEST, `Creation of internal topic ${CLUSTER_METADATA_TOPIC} is prohibited.`);
  }
  // A cluster member first takes in topics other brokers created since its last beat.
  if (!svc.topics.get(t.name)) await svc.topics.sync().catch(() => {});
  if (svc.topics.get(t.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
  const collision = svc.topics.collision(t.name);
  if (collision) {
    return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${t.name}' collides with existing topic: ${collision}`);
  }
  let partitions = t.numPartitions;
  let rf = t.replicationFactor;
  if (t.assignments.length > 0) {
    if (partitions !== -1 || rf !== -1) {
      return fail(
        ErrorCode.INVALID_REQUEST,
        "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.",
      );
    }
    const seen = new Set<number>();
    for (const a of t.assignments) {
      if (a.brokerIds.length === 0) {
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Partition ${a.partitionIndex} has no replicas.`);
      }
      for (const b of a.brokerIds) {
        if (b !== svc.config.nodeId) {
          return fail(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `Unknown broker id ${b} in replica assignment of partition ${a.partitionIndex}.`,
          );
        }
      }
      if (new Set(a.brokerIds).size !== a.brokerIds.length) {
        return fail(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Duplicate brokers in replica assignment of partition ${a.partitionIndex}.`,
        );
      }
      seen.add(a.partitionIndex);
    }
    for (let p = 0; p < t.assignments.length; p++) {
      if (!seen.has(p)) {
        return fail(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          "Partitions should be a consecutive 0-based integer sequence.",
        );
      }
    }
    partitions = t.assignments.length;
    rf = t.assignments[0].brokerIds.length;
  }
  if (partitions === -1) partitions = Number(svc.config["num.partitions"]);
  if (rf === -1) rf = Number(svc.config["default.replication.factor"]);
  if (partitions <= 0 || partitions > MAX_PARTITIONS) {
    return fail(
      ErrorCode.INVALID_PARTITIONS,
      `Number of partitions must be larger than 0 (and at most ${MAX_PARTITIONS}).`,
    );
  }
  if (rf <= 0) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.");
  if (rf > 1) {
    return fail(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only 1 broker(s) are registered.`,
    );
  }
  const configs = new Map<string, string>();
  for (const c of t.configs) {
    if (configs.has(c.name)) {
      return fail(ErrorCode.INVALID_REQUEST, `Duplicate config key ${c.name} for topic ${t.name}`);
    }
    if (c.value === null) {
      return fail(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${c.name}`);
    }
    configs.set(c.name, c.value);
  }
  const removed = dropRemovedTopicConfigs(configs);
  if (removed.length > 0) {
    svc.log("info", `topic ${t.name}: ignoring ${removed.join(", ")} (removed in Kafka 4.0)`);
  }
  const invalid = validateTopicConfigs(configs, svc.configs.brokerValue);
  if (invalid) return fail(ErrorCode.INVALID_CONFIG, invalid);
  const overLimit = brokerPartitionLimit(svc, partitions);
  if (overLimit !== null) return fail(ErrorCode.POLICY_VIOLATION, overLimit);
  if (validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null, partitions, replicationFactor: rf };
  if (quota && !quota.record(partitions)) return fail(THROTTLED.errorCode, THROTTLED.errorMessage);
  let topic: Topic;
  try {
    topic = await svc.topics.create(t.name, partitions, configs);
  } catch (e) {
    if ((e as { code?: string }).code === "TOPIC_EXISTS") {
      return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
    }
    // The metadata log could not store the topic (disk full, or offline after an I/O error).
    const message = e instanceof Error ? e.message : String(e);
    svc.log("error", `creating topic ${t.name} failed: ${message}`);
    return fail(ErrorCode.KAFKA_STORAGE_ERROR, `Could not create topic ${t.name}: ${message}`);
  }
  svc.log("info", `created topic ${t.name} with ${partitions} partition(s)`);
  // In a cluster its partitions get leaders now, so this answer can already name them.
  await svc.cluster.topicsChanged().catch((e) => svc.log("warn", `placing ${t.name}: ${(e as Error).message}`));
  return { errorCode: ErrorCode.NONE, errorMessage: null, partitions, replicationFactor: rf, topic };
}

/** Authorized-operations bitfields: every operation of a resource type (what a principal has without an authorizer). */
export const TOPIC_OPERATIONS = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
export const CLUSTER_OPERATIONS = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12) |
  (1 << 13) | (1 << 14);
export const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
/** Sent when the client did not ask for authorized operations. */
export const OPERATIONS_OMITTED = -2147483648;

/**
 * Deletes a topic for DeleteTopics, the REST v3 route and the console (authorization, quotas and
 * refusing internal topics over HTTP are the callers'): a metadata log that cannot record the
 * deletion answers KAFKA_STORAGE_ERROR and leaves the topic as it was; the groups' committed offsets
 * of the topic go with it. `by` names who asked, for the log line.
 */
export async function deleteTopic(
  svc: Services,
  topic: Topic,
  by = "",
): Promise<{ errorCode: number; errorMessage: string | null }> {
  try {
    await svc.topics.delete(topic);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    svc.log("error", `deleting topic ${topic.name} failed: ${message}`);
    return {
      errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
      errorMessage: `Could not delete topic ${topic.name}: ${message}`,
    };
  }
  await svc.groups.onTopicDeleted(topic.name);
  svc.log("info", `deleted topic ${topic.name}${by ? ` (${by})` : ""}`);
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}
