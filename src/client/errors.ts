// Errors of the admin client: Kafka's error name, a message, and what to do about it.
import { ErrorCode } from "../protocol/errors.ts";

const NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/** What to do, for the errors an operator meets most. */
const HINTS: Record<string, string> = {
  UNKNOWN_TOPIC_OR_PARTITION: "check the name with 'chronik topic list'",
  TOPIC_ALREADY_EXISTS: "pick another name, or --if-not-exists",
  INVALID_CONFIG:
    "see valid names with 'chronik topic describe NAME --all-configs' or 'chronik cluster config get --all'; values use Kafka's units (ms, bytes)",
  INVALID_PARTITIONS: "the partition count must be above the current one and at least 1",
  INVALID_REPLICATION_FACTOR: "one node: use a replication factor of 1",
  TOPIC_AUTHORIZATION_FAILED: "the principal lacks an ACL for this topic ('chronik acl list')",
  GROUP_AUTHORIZATION_FAILED: "the principal lacks an ACL for this group ('chronik acl list')",
  CLUSTER_AUTHORIZATION_FAILED: "the principal lacks a CLUSTER ACL ('chronik acl list')",
  SASL_AUTHENTICATION_FAILED: "check the user, password and mechanism",
  UNSUPPORTED_SASL_MECHANISM: "pick a mechanism the listener enables (--sasl-mechanism)",
  ILLEGAL_SASL_STATE: "this listener may not require SASL: drop the --sasl-* options",
  NON_EMPTY_GROUP: "stop the group's consumers first (offsets of an active group cannot change)",
  GROUP_ID_NOT_FOUND: "check the name with 'chronik group list'",
  COORDINATOR_NOT_AVAILABLE: "the broker is starting; retry",
  NOT_COORDINATOR: "retry",
  POLICY_VIOLATION: "the broker's policy refused it",
  UNSUPPORTED_VERSION: "the broker is too old for this command",
  OFFSET_OUT_OF_RANGE: "the offset is outside the partition: see 'chronik topic describe' for its range",
  TRANSACTIONAL_ID_NOT_FOUND: "check the id with 'chronik txn list'",
  RESOURCE_NOT_FOUND: "check the name (user, ACL, quota)",
};

export class KafkaError extends Error {
  override name = "KafkaError";
  /** Kafka's error name (UNKNOWN_TOPIC_OR_PARTITION), or NETWORK_EXCEPTION / REQUEST_TIMED_OUT for transport failures. */
  readonly code: string;
  readonly hint: string | null;

  constructor(code: string, message: string, hint?: string | null) {
    super(message);
    this.code = code;
    this.hint = hint ?? HINTS[code] ?? null;
  }

  static of(errorCode: number, message: string | null, what: string): KafkaError {
    const name = errorName(errorCode);
    return new KafkaError(name, message ?? `${what} failed`);
  }
}

export function errorName(code: number): string {
  return NAMES.get(code) ?? `ERROR_${code}`;
}

/** Throws a KafkaError unless `errorCode` is NONE. */
export function check(errorCode: number, message: string | null | undefined, what: string): void {
  if (errorCode !== 0) throw KafkaError.of(errorCode, message ? `${what}: ${message}` : `${what} failed`, what);
}
