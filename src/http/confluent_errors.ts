// Confluent REST Proxy's error codes (its KafkaExceptionMapper and produce results) for Kafka's:
// the producer's exception class decides, so authentication 40101, authorization 40301, a
// retriable error 50003, any other Kafka error 50002; unknown topic or partition (retriable for a
// producer, but what a REST user asked for does not exist) 40401 / 40402 as the proxy's own checks.
import { ErrorCode } from "../protocol/errors.ts";

/** Kafka's RetriableException subclasses, by error code. */
const RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.OFFSET_NOT_AVAILABLE,
  ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  ErrorCode.UNSTABLE_OFFSET_COMMIT,
  ErrorCode.THROTTLING_QUOTA_EXCEEDED,
]);

const AUTHORIZATION: ReadonlySet<number> = new Set([
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
]);

/** Confluent's error_code for a Kafka error code met while producing a record. */
export function confluentProduceCode(kafkaCode: number): number {
  if (kafkaCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || kafkaCode === ErrorCode.UNKNOWN_TOPIC_ID) return 40401;
  if (kafkaCode === ErrorCode.SASL_AUTHENTICATION_FAILED) return 40101;
  if (AUTHORIZATION.has(kafkaCode)) return 40301;
  if (RETRIABLE.has(kafkaCode)) return 50003;
  return 50002;
}
