// Group configs (ConfigResource type GROUP, KIP-848/KIP-932) of share groups: DescribeConfigs,
// AlterConfigs and IncrementalAlterConfigs on a group name. Only the share.* configs exist here
// (Kafka also has consumer.* and streams.* group configs: they answer INVALID_CONFIG as unknown).
// Values are validated as Kafka 4.1's GroupConfig does and stored with the share group. Kafka 4.2's
// share.delivery.count.limit and share.partition.max.record.locks are taken too, within the range their broker
// configs (group.share.delivery.count.limit, group.share.partition.max.record.locks) allow.
import { ErrorCode } from "../../protocol/errors.ts";
import { BROKER_CONFIGS } from "../config/broker_configs.ts";
import type { AlterOp, DescribedConfig, DescribeOutcome, Outcome } from "../config/configs.ts";
import type { ShareCoordinator } from "./coordinator.ts";
import { GROUP_CONFIG_DEFAULTS } from "./group.ts";

const GROUP_CONFIG = 8; // DescribeConfigs ConfigSource
const DEFAULT_CONFIG = 5;
const STRING = 2;
const INT = 3;

/**
 * The int group configs: their broker default and their bounds, broker configs (Kafka's GroupConfig) or, for
 * Kafka 4.2's, the broker config's own range in the one table.
 */
const INTS: Record<string, { dflt: string; min: string | number; max: string | number }> = {
  "share.record.lock.duration.ms": {
    dflt: "group.share.record.lock.duration.ms",
    min: "group.share.min.record.lock.duration.ms",
    max: "group.share.max.record.lock.duration.ms",
  },
  "share.session.timeout.ms": {
    dflt: "group.share.session.timeout.ms",
    min: "group.share.min.session.timeout.ms",
    max: "group.share.max.session.timeout.ms",
  },
  "share.heartbeat.interval.ms": {
    dflt: "group.share.heartbeat.interval.ms",
    min: "group.share.min.heartbeat.interval.ms",
    max: "group.share.max.heartbeat.interval.ms",
  },
  "share.delivery.count.limit": rangeOf("group.share.delivery.count.limit"),
  "share.partition.max.record.locks": rangeOf("group.share.partition.max.record.locks"),
};

function rangeOf(broker: string): { dflt: string; min: number; max: number } {
  const def = BROKER_CONFIGS[broker];
  return { dflt: broker, min: def.min ?? 1, max: def.max ?? 0x7fffffff };
}

const TYPES: Record<string, number> = {
  "share.auto.offset.reset": STRING,
  "share.record.lock.duration.ms": INT,
  "share.session.timeout.ms": INT,
  "share.heartbeat.interval.ms": INT,
  "share.isolation.level": STRING,
  "share.delivery.count.limit": INT,
  "share.partition.max.record.locks": INT,
};

const DOCS: Record<string, string> = {
  "share.auto.offset.reset": "Where a share group starts reading a partition it has no state for: latest or earliest.",
  "share.record.lock.duration.ms": "How long a record acquired by a share consumer stays locked to it.",
  "share.session.timeout.ms": "How long a share group member may stay silent before it is removed.",
  "share.heartbeat.interval.ms": "The heartbeat interval given to the share group's members.",
  "share.isolation.level": "read_uncommitted, or read_committed to skip aborted transactional records.",
  "share.delivery.count.limit": "Deliveries of a record to the share group before it is archived.",
  "share.partition.max.record.locks": "Records of a partition the share group may have in flight at once.",
};

function invalid(name: string, value: string, bound: (config: string) => number): string | null {
  switch (name) {
    case "share.auto.offset.reset":
      return ["latest", "earliest"].includes(value)
        ? null
        : `Invalid value ${value} for configuration ${name}: String must be one of: latest, earliest`;
    case "share.isolation.level":
      return ["read_committed", "read_uncommitted"].includes(value)
        ? null
        : `Invalid value ${value} for configuration ${name}: String must be one of: read_committed, read_uncommitted`;
  }
  const int = INTS[name];
  if (int) {
    const n = Number(value);
    if (!/^-?\d+$/.test(value)) return `Invalid value ${value} for configuration ${name}: Not a number of type INT`;
    const limit = (b: string | number) => typeof b === "number" ? b : bound(b);
    const min = limit(int.min), max = limit(int.max);
    return n < min || n > max
      ? `Invalid value ${value} for configuration ${name}: must be between ${min} and ${max}`
      : null;
  }
  return `Unknown group config name: ${name}`;
}

export class GroupConfigs {
  constructor(
    private readonly share: ShareCoordinator,
    private readonly broker: (name: string) => string | undefined,
  ) {}

  /** A broker config's value, or its default from the one table. */
  private brokerValue(name: string): string {
    return this.broker(name) ?? BROKER_CONFIGS[name].default ?? "";
  }

  describe(groupId: string, includeDocumentation: boolean): DescribeOutcome {
    if (groupId === "") {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Group name must not be empty", configs: [] };
    }
    const g = this.share.groups.get(groupId);
    const configs: DescribedConfig[] = Object.keys(TYPES).sort().map((name) => {
      const set = g?.configs.get(name);
      const dflt = INTS[name] ? this.brokerValue(INTS[name].dflt) : GROUP_CONFIG_DEFAULTS[name];
      return {
        name,
        value: set ?? dflt,
        readOnly: false,
        isDefault: set === undefined,
        configSource: set === undefined ? DEFAULT_CONFIG : GROUP_CONFIG,
        isSensitive: false,
        synonyms: [],
        configType: TYPES[name],
        documentation: includeDocumentation ? DOCS[name] : null,
      };
    });
    return { errorCode: ErrorCode.NONE, errorMessage: null, configs };
  }

  async alter(groupId: string, ops: readonly AlterOp[], incremental: boolean, validateOnly: boolean): Promise<Outcome> {
    if (groupId === "") return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Group name must not be empty" };
    const bound = (config: string) => Number(this.brokerValue(config));
    const changes = new Map<string, string | null>();
    if (!incremental) {
      for (const name of this.share.groups.get(groupId)?.configs.keys() ?? []) {
        changes.set(name, null);
      }
    }
    for (const o of ops) {
      if (!Object.hasOwn(TYPES, o.name)) {
        return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown group config name: ${o.name}` };
      }
      if (incremental && (o.op === 2 || o.op === 3)) {
        return {
          errorCode: ErrorCode.INVALID_CONFIG,
          errorMessage: `Config value ${o.op === 2 ? "append" : "subtract"} is not allowed for config key: ${o.name}`,
        };
      }
      if (incremental && o.op === 1) {
        changes.set(o.name, null);
        continue;
      }
      const err = invalid(o.name, o.value ?? "", bound);
      if (err) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: err };
      changes.set(o.name, o.value!);
    }
    if (validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null };
    const stored = await this.share.setConfigs(groupId, changes);
    return stored
      ? { errorCode: ErrorCode.NONE, errorMessage: null }
      : { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: "The group configs could not be stored." };
  }
}
