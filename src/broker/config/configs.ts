// Broker, topic and broker-logger configs as DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs see them: values, sources, synonyms, sensitivity, validation, and
// dynamic changes that take effect (Topics.config and the live BrokerConfig object see them) and
// persist (through `onChange`, which the broker wires to the admin store).
//
// Precedence of a broker config, as in Kafka: dynamic per-broker > dynamic cluster default >
// static (start-up `-o`) > Kafka's default; among unit synonyms (log.retention.ms / .minutes /
// .hours) the most precise one set wins.
import type { BrokerConfig } from "../../config.ts";
import { DEFAULT_CONFIG, typedConfigValue } from "../../config.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { LogLevel } from "../../runtime.ts";
import type { ConfigDef, ConfigType } from "../topic_configs.ts";
import {
  dropRemovedTopicConfigs,
  effectiveTopicConfig,
  REMOVED_TOPIC_CONFIGS,
  splitList,
  TOPIC_CONFIGS,
  validateConfigValue,
  validateTopicConfigs,
} from "../topic_configs.ts";
import type { Topic, Topics } from "../topics.ts";
import { topicNameError } from "../topics.ts";
import type { BrokerConfigDef } from "./broker_configs.ts";
import { BROKER_CONFIGS, BROKER_SYNONYMS, brokerSynonyms, INTERNAL_FIELDS } from "./broker_configs.ts";

/** ConfigResource types (DescribeConfigs / AlterConfigs resourceType). */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const;

/** A ConfigResource type by name, for log lines ("TOPIC", "BROKER"…; the number when unknown). */
export function resourceTypeName(type: number): string {
  const e = Object.entries(ResourceType).find(([, v]) => v === type);
  return e ? e[0] : String(type);
}

/** DescribeConfigs ConfigSource. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

/** IncrementalAlterConfigs configOperation. */
export const OpType = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

const CONFIG_TYPE_IDS: Record<ConfigType, number> = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
};

export type Synonym = { name: string; value: string | null; source: number };
export type DescribedConfig = {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: Synonym[];
  configType: number;
  documentation: string | null;
};
export type Outcome = { errorCode: number; errorMessage: string | null };
export type DescribeOutcome = Outcome & { configs: DescribedConfig[] };
export type AlterOp = { name: string; op: number; value: string | null };
/** A config resource type another module keeps (see Configs.resources). */
export type ConfigResourceHandler = {
  describe(name: string, includeDocumentation: boolean): DescribeOutcome;
  alter(name: string, ops: readonly AlterOp[], incremental: boolean, validateOnly: boolean): Promise<Outcome>;
};

/** What is persisted (JSON). */
export type ConfigsSnapshot = {
  /** This broker's per-broker configs (resource name = its node id). */
  broker: Record<string, string>;
  /** Cluster-wide defaults (resource name ""), shared by every broker of a cluster. */
  clusterDefault: Record<string, string>;
  /** Per-broker configs by node id: the brokers of a cluster share one document. */
  nodes?: Record<string, Record<string, string>>;
};

const LOG4J_LEVELS = ["OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL"];
const TO_LEVEL: Record<string, LogLevel> = {
  OFF: "error",
  FATAL: "error",
  ERROR: "error",
  WARN: "warn",
  INFO: "info",
  DEBUG: "debug",
  TRACE: "debug",
  ALL: "debug",
};
const ROOT_LOGGER = "root";
/** Configs whose values come from the running broker (flags), not from `-o`. */
const IDENTITY_KEYS = new Set(["node.id", "broker.id", "listeners", "advertised.listeners", "log.dirs", "log.dir"]);

const ok: Outcome = { errorCode: ErrorCode.NONE, errorMessage: null };
const fail = (errorCode: number, errorMessage: string): Outcome => ({ errorCode, errorMessage });

export class Configs {
  private readonly config: BrokerConfig;
  private readonly topics: Topics;
  /** Kafka-named configs given at start-up. */
  private readonly staticValues = new Map<string, string>();
  private readonly dynamicBroker = new Map<string, string>();
  private readonly dynamicDefault = new Map<string, string>();
  /** The other brokers' per-broker configs (a cluster's shared document), kept as stored. */
  private otherNodes: Record<string, Record<string, string>> = {};
  private rootLevel: string | null = null;
  private readonly identity: () => Record<string, string | null>;
  /** The resolved start-up config, to fall back to when a dynamic config is removed. */
  private readonly startup: Record<string, unknown>;
  /** Log lines (ignored configs); the broker wires it to its logger. */
  log: (level: LogLevel, message: string) => void = () => {};
  /** Called after every applied change (persistence). */
  onChange: () => Promise<void> = async () => {};
  /**
   * Runs one change (the broker wires it to the admin store: in a cluster it first adopts the stored state and
   * runs the change again if another broker stored one meanwhile).
   */
  transact: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();
  /**
   * Resource types kept by other modules, by type: GROUP (share groups' configs, share/group_configs.ts)
   * and CLIENT_METRICS (telemetry subscriptions, telemetry/client_metrics.ts).
   */
  readonly resources = new Map<number, ConfigResourceHandler>();

  /**
   * `given` is what the operator set at start-up (`-o`, flags): its Kafka-named keys are the
   * static configs. `identity` gives node.id, listeners, log.dirs… from the running broker.
   */
  constructor(
    config: BrokerConfig,
    given: Partial<BrokerConfig>,
    topics: Topics,
    identity: () => Record<string, string | null>,
  ) {
    this.config = config;
    this.topics = topics;
    this.identity = identity;
    this.startup = { ...config };
    for (const [k, v] of Object.entries(given)) {
      if (!INTERNAL_FIELDS.has(k) && v !== undefined && v !== null) this.staticValues.set(k, String(v));
    }
  }

  // ---- values ----

  /** The value of one broker config key (no unit conversion), from the highest-precedence source. */
  private raw(name: string): { value: string; source: number } | null {
    const d = this.dynamicBroker.get(name);
    if (d !== undefined) return { value: d, source: ConfigSource.DYNAMIC_BROKER_CONFIG };
    const c = this.dynamicDefault.get(name);
    if (c !== undefined) return { value: c, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG };
    const s = this.staticOf(name);
    if (s !== null) return { value: s, source: ConfigSource.STATIC_BROKER_CONFIG };
    const def = brokerDef(name)?.default ?? null;
    return def === null ? null : { value: def, source: ConfigSource.DEFAULT_CONFIG };
  }

  private staticOf(name: string): string | null {
    const s = this.staticValues.get(name);
    if (s !== undefined) return s;
    // Produce reads broker values on every request: build the identity only when it is asked for.
    if (!IDENTITY_KEYS.has(name)) return null;
    const id = this.identity();
    return Object.hasOwn(id, name) ? id[name] : null;
  }

  /**
   * The effective value of a broker config, as the broker uses it: unit synonyms resolved
   * (log.retention.hours=1 gives log.retention.ms 3600000). Null when it has no value.
   */
  readonly brokerValue = (name: string): string | null => {
    const group = brokerSynonyms(name);
    const setValue = (v: string, mul: number) => (mul === 1 ? v : String(BigInt(v.trim()) * BigInt(mul)));
    // A set value of any synonym beats every default.
    for (const [syn, mul] of group) {
      const r = this.raw(syn);
      if (r && r.source !== ConfigSource.DEFAULT_CONFIG) return setValue(r.value, mul);
    }
    for (const [syn, mul] of group) {
      const r = this.raw(syn);
      if (r) return setValue(r.value, mul);
    }
    return null;
  };

  /** A topic config's effective value (topic override, else broker, else Kafka's default). */
  topicValue(topic: Topic, name: string): string {
    return effectiveTopicConfig(topic.configs, name, this.brokerValue);
  }

  /** Log level of the root logger, as Log4j names it. */
  private rootLoggerLevel(): string {
    return this.rootLevel ?? this.config.logLevel.toUpperCase();
  }

  // ---- describe ----

  describe(
    resourceType: number,
    resourceName: string,
    keys: readonly string[] | null,
    includeSynonyms: boolean,
    includeDocumentation: boolean,
  ): DescribeOutcome {
    const wanted = (name: string) => keys === null || keys.includes(name);
    const done = (configs: DescribedConfig[]): DescribeOutcome => ({
      ...ok,
      configs: configs.filter((c) => wanted(c.name)),
    });
    switch (resourceType) {
      case ResourceType.TOPIC: {
        const err = topicNameError(resourceName);
        if (err) return { ...fail(ErrorCode.INVALID_TOPIC_EXCEPTION, err), configs: [] };
        const topic = this.topics.get(resourceName);
        if (!topic) {
          return {
            ...fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${resourceName}' does not exist.`),
            configs: [],
          };
        }
        return done(this.describeTopicConfigs(topic.configs, includeSynonyms, includeDocumentation));
      }
      case ResourceType.BROKER: {
        const target = this.brokerTarget(resourceName);
        if ("errorCode" in target) return { ...target, configs: [] };
        if (!target.perBroker) {
          // The cluster-wide default resource shows only what is set there.
          return done(
            [...this.dynamicDefault.keys()].sort().map((n) =>
              this.brokerEntry(n, false, includeSynonyms, includeDocumentation)
            ),
          );
        }
        const names = new Set([
          ...Object.keys(BROKER_CONFIGS),
          ...this.staticValues.keys(),
          ...this.dynamicBroker.keys(),
          ...this.dynamicDefault.keys(),
        ]);
        return done([...names].sort().map((n) => this.brokerEntry(n, true, includeSynonyms, includeDocumentation)));
      }
      case ResourceType.BROKER_LOGGER: {
        const target = this.loggerTarget(resourceName);
        if (target) return { ...target, configs: [] };
        return done([{
          name: ROOT_LOGGER,
          value: this.rootLoggerLevel(),
          readOnly: false,
          isDefault: false,
          configSource: ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG,
          isSensitive: false,
          synonyms: [],
          configType: CONFIG_TYPE_IDS.string,
          documentation: includeDocumentation
            ? "Log level of the broker (Log4j names; TRACE maps to DEBUG, FATAL and OFF to ERROR)."
            : null,
        }]);
      }
      default: {
        const other = this.resources.get(resourceType);
        if (other) {
          const out = other.describe(resourceName, includeDocumentation);
          return out.errorCode === ErrorCode.NONE ? done(out.configs) : out;
        }
        return { ...fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resourceType}`), configs: [] };
      }
    }
  }

  /** Every topic config for a topic with overrides `set` (also CreateTopics v5+'s answer). */
  describeTopicConfigs(
    set: ReadonlyMap<string, string>,
    includeSynonyms: boolean,
    includeDocumentation: boolean,
  ): DescribedConfig[] {
    return Object.keys(TOPIC_CONFIGS).filter((name) => !TOPIC_CONFIGS[name].internal).sort().map((name) => {
      const def = TOPIC_CONFIGS[name];
      const sensitive = def.type === "password";
      const synonyms: Synonym[] = [];
      if (set.has(name)) {
        synonyms.push({ name, value: sensitive ? null : set.get(name)!, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
      }
      if (def.brokerSynonym) synonyms.push(...this.configSynonyms(def.brokerSynonym, sensitive));
      const source = synonyms.length > 0 ? synonyms[0].source : ConfigSource.DEFAULT_CONFIG;
      return {
        name,
        value: sensitive ? null : effectiveTopicConfig(set, name, this.brokerValue),
        readOnly: false,
        isDefault: source === ConfigSource.DEFAULT_CONFIG,
        configSource: source,
        isSensitive: sensitive,
        synonyms: includeSynonyms ? synonyms : [],
        configType: CONFIG_TYPE_IDS[def.type],
        documentation: includeDocumentation ? def.doc : null,
      };
    });
  }

  /** Kafka's configSynonyms: every source holding any unit synonym, from `name` on. */
  private configSynonyms(name: string, sensitive: boolean): Synonym[] {
    const group = brokerSynonyms(name).map(([n]) => n);
    const out: Synonym[] = [];
    const add = (n: string, value: string, source: number) =>
      out.push({ name: n, value: sensitive ? null : value, source });
    for (const n of group) {
      if (this.dynamicBroker.has(n)) add(n, this.dynamicBroker.get(n)!, ConfigSource.DYNAMIC_BROKER_CONFIG);
    }
    for (const n of group) {
      if (this.dynamicDefault.has(n)) add(n, this.dynamicDefault.get(n)!, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
    }
    for (const n of group) {
      const s = this.staticOf(n);
      if (s !== null) add(n, s, ConfigSource.STATIC_BROKER_CONFIG);
    }
    for (const n of group) {
      const d = brokerDef(n)?.default ?? null;
      if (d !== null) add(n, d, ConfigSource.DEFAULT_CONFIG);
    }
    const first = out.findIndex((s) => s.name === name);
    return first < 0 ? [] : out.slice(first);
  }

  private brokerEntry(
    name: string,
    perBroker: boolean,
    includeSynonyms: boolean,
    includeDocumentation: boolean,
  ): DescribedConfig {
    const def = brokerDef(name);
    // Kafka treats configs of unknown type as sensitive.
    const sensitive = !def || def.type === "password";
    let synonyms = this.configSynonyms(name, sensitive);
    if (!perBroker) synonyms = synonyms.filter((s) => s.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
    const source = synonyms.length > 0 ? synonyms[0].source : ConfigSource.DEFAULT_CONFIG;
    const value = perBroker ? this.raw(name)?.value ?? null : this.dynamicDefault.get(name) ?? null;
    return {
      name,
      value: sensitive ? null : value,
      readOnly: !def || def.dynamic === "read-only",
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: sensitive,
      synonyms: includeSynonyms ? synonyms : [],
      configType: def ? CONFIG_TYPE_IDS[def.type] : 0,
      documentation: includeDocumentation ? def?.doc ?? null : null,
    };
  }

  private brokerTarget(resourceName: string): Outcome | { perBroker: boolean } {
    if (resourceName === "") return { perBroker: false };
    if (!/^-?\d+$/.test(resourceName)) {
      return fail(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${resourceName}`);
    }
    if (Number(resourceName) !== this.config.nodeId) {
      return fail(
        ErrorCode.INVALID_REQUEST,
        `Unexpected broker id, expected ${this.config.nodeId} or empty string, but received ${resourceName}`,
      );
    }
    return { perBroker: true };
  }

  private loggerTarget(resourceName: string): Outcome | null {
    if (resourceName === "") return fail(ErrorCode.INVALID_REQUEST, "Broker id must not be empty");
    if (!/^-?\d+$/.test(resourceName)) {
      return fail(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${resourceName}`);
    }
    if (Number(resourceName) !== this.config.nodeId) {
      return fail(
        ErrorCode.INVALID_REQUEST,
        `Unexpected broker id, expected ${this.config.nodeId} but received ${resourceName}`,
      );
    }
    return null;
  }

  // ---- alter ----

  /**
   * AlterConfigs (`incremental` false: the given set replaces the resource's dynamic configs) and
   * IncrementalAlterConfigs (`incremental` true: SET / DELETE / APPEND / SUBTRACT per key).
   */
  alter(
    resourceType: number,
    resourceName: string,
    ops: readonly AlterOp[],
    incremental: boolean,
    validateOnly: boolean,
  ): Promise<Outcome> {
    // Topic configs are kept with the topic (the metadata store), not in the admin document.
    if (resourceType === ResourceType.TOPIC || validateOnly) {
      return this.alterNow(resourceType, resourceName, ops, incremental, validateOnly);
    }
    return this.transact(() => this.alterNow(resourceType, resourceName, ops, incremental, validateOnly));
  }

  private async alterNow(
    resourceType: number,
    resourceName: string,
    ops: readonly AlterOp[],
    incremental: boolean,
    validateOnly: boolean,
  ): Promise<Outcome> {
    const seen = new Set<string>();
    for (const o of ops) {
      if (seen.has(o.name)) return fail(ErrorCode.INVALID_REQUEST, "Error due to duplicate config keys");
      seen.add(o.name);
      if (!incremental && o.value === null) {
        return fail(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${o.name}`);
      }
      if (o.op < 0 || o.op > 3) {
        return fail(ErrorCode.INVALID_REQUEST, `Unknown alter config operation type ${o.op} for ${o.name}`);
      }
    }
    switch (resourceType) {
      case ResourceType.TOPIC:
        return this.alterTopic(resourceName, ops, incremental, validateOnly);
      case ResourceType.BROKER:
        return this.alterBroker(resourceName, ops, incremental, validateOnly);
      case ResourceType.BROKER_LOGGER:
        if (!incremental) {
          return fail(
            ErrorCode.INVALID_REQUEST,
            "AlterConfigs does not support the BROKER_LOGGER resource type; use IncrementalAlterConfigs",
          );
        }
        return this.alterLogger(resourceName, ops, validateOnly);
      default: {
        const other = this.resources.get(resourceType);
        if (other) return other.alter(resourceName, ops, incremental, validateOnly);
        return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resourceType}`);
      }
    }
  }

  /** Applies ops to a copy of `current`; `defOf` gives the definition used by APPEND/SUBTRACT. */
  private applyOps(
    current: ReadonlyMap<string, string>,
    ops: readonly AlterOp[],
    incremental: boolean,
    defOf: (name: string) => ConfigDef | undefined,
    baseOf: (name: string) => string,
    unknown: (name: string) => string,
  ): Map<string, string> | Outcome {
    if (!incremental) return new Map(ops.map((o) => [o.name, o.value!]));
    const next = new Map(current);
    for (const o of ops) {
      switch (o.op) {
        case OpType.SET:
          if (o.value === null) return fail(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${o.name}`);
          next.set(o.name, o.value);
          break;
        case OpType.DELETE:
          next.delete(o.name);
          break;
        case OpType.APPEND:
        case OpType.SUBTRACT: {
          const def = defOf(o.name);
          const verb = o.op === OpType.APPEND ? "append" : "subtract";
          if (!def) return fail(ErrorCode.INVALID_CONFIG, unknown(o.name));
          if (def.type !== "list") {
            return fail(ErrorCode.INVALID_CONFIG, `Config value ${verb} is not allowed for config key: ${o.name}`);
          }
          const old = splitList(next.get(o.name) ?? baseOf(o.name));
          const given = splitList(o.value ?? "");
          const items = o.op === OpType.APPEND
            ? [...old, ...given.filter((v) => !old.includes(v))]
            : old.filter((v) => !given.includes(v));
          next.set(o.name, items.join(","));
          break;
        }
      }
    }
    return next;
  }

  private async alterTopic(
    name: string,
    ops: readonly AlterOp[],
    incremental: boolean,
    validateOnly: boolean,
  ): Promise<Outcome> {
    const err = topicNameError(name);
    if (err) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, err);
    const topic = this.topics.get(name);
    if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
    const removed = ops.filter((o) => REMOVED_TOPIC_CONFIGS.has(o.name));
    if (removed.length > 0) {
      this.log("info", `topic ${name}: ignoring ${removed.map((o) => o.name).join(", ")} (removed in Kafka 4.0)`);
      ops = ops.filter((o) => !REMOVED_TOPIC_CONFIGS.has(o.name));
    }
    const next = this.applyOps(
      topic.configs,
      ops,
      incremental,
      (n) => (Object.hasOwn(TOPIC_CONFIGS, n) ? TOPIC_CONFIGS[n] : undefined),
      (n) => effectiveTopicConfig(topic.configs, n, this.brokerValue),
      (n) => `Unknown topic config name: ${n}`,
    );
    if (!(next instanceof Map)) return next;
    dropRemovedTopicConfigs(next); // stored by an older version
    const invalid = validateTopicConfigs(next, this.brokerValue);
    if (invalid) return fail(ErrorCode.INVALID_CONFIG, invalid);
    if (validateOnly) return ok;
    const before = new Map(topic.configs);
    const replace = (m: ReadonlyMap<string, string>) => {
      topic.configs.clear();
      for (const [k, v] of m) topic.configs.set(k, v);
    };
    replace(next);
    try {
      await this.topics.saveConfigs(topic);
    } catch (e) {
      replace(before);
      return fail(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `Could not store the configs of topic ${name}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return ok;
  }

  private async alterBroker(
    resourceName: string,
    ops: readonly AlterOp[],
    incremental: boolean,
    validateOnly: boolean,
  ): Promise<Outcome> {
    const target = this.brokerTarget(resourceName);
    if ("errorCode" in target) return target;
    const store = target.perBroker ? this.dynamicBroker : this.dynamicDefault;
    const next = this.applyOps(
      store,
      ops,
      incremental,
      (n) => brokerDef(n),
      (n) => this.raw(n)?.value ?? "",
      (n) => `Unknown broker config name: ${n}`,
    );
    if (!(next instanceof Map)) return next;
    const resource = `ConfigResource(type=BROKER, name='${resourceName}')`;
    const notDynamic: string[] = [];
    const notDefault: string[] = [];
    for (const [k, v] of next) {
      if (store.get(k) === v) continue;
      const def = brokerDef(k);
      if (!def) continue; // Kafka keeps configs it does not know (plugins read them).
      if (def.dynamic === "read-only") notDynamic.push(k);
      else if (def.dynamic === "per-broker" && !target.perBroker) notDefault.push(k);
      const bad = validateConfigValue(k, def, v);
      if (bad) return fail(ErrorCode.INVALID_CONFIG, `Invalid config value for resource ${resource}: ${bad}`);
    }
    if (notDynamic.length > 0) {
      return fail(
        ErrorCode.INVALID_CONFIG,
        `Invalid config value for resource ${resource}: Cannot update these configs dynamically: Set(${
          notDynamic.join(", ")
        })`,
      );
    }
    if (notDefault.length > 0) {
      return fail(
        ErrorCode.INVALID_CONFIG,
        `Invalid config value for resource ${resource}: Cannot update these configs at default cluster level, broker id must be specified: Set(${
          notDefault.join(", ")
        })`,
      );
    }
    if (validateOnly) return ok;
    const changed = new Set([...store.keys(), ...next.keys()]);
    store.clear();
    for (const [k, v] of next) store.set(k, v);
    this.refreshLive(changed);
    await this.onChange();
    return ok;
  }

  private async alterLogger(resourceName: string, ops: readonly AlterOp[], validateOnly: boolean): Promise<Outcome> {
    const target = this.loggerTarget(resourceName);
    if (target) return target;
    let level = this.rootLevel;
    for (const o of ops) {
      if (o.name !== ROOT_LOGGER) return fail(ErrorCode.INVALID_CONFIG, `Logger ${o.name} does not exist!`);
      if (o.op === OpType.APPEND || o.op === OpType.SUBTRACT) {
        return fail(
          ErrorCode.INVALID_REQUEST,
          `${o.op === OpType.APPEND ? "APPEND" : "SUBTRACT"} operation is not allowed for the ${ROOT_LOGGER} logger`,
        );
      }
      if (o.op === OpType.DELETE) {
        return fail(ErrorCode.INVALID_CONFIG, "Removing the log level of the root logger is not allowed");
      }
      const v = (o.value ?? "").toUpperCase();
      if (!LOG4J_LEVELS.includes(v)) {
        return fail(
          ErrorCode.INVALID_CONFIG,
          `Cannot set the log level of ${o.name} to ${o.value} as it is not a supported log level. Valid log levels are ${
            LOG4J_LEVELS.join(", ")
          }`,
        );
      }
      level = v;
    }
    if (validateOnly || level === null) return ok;
    // Log levels are not persisted, as in Kafka.
    this.rootLevel = level;
    this.config.logLevel = TO_LEVEL[level];
    return ok;
  }

  /**
   * Keeps the BrokerConfig object that services read (svc.config) in step with dynamic changes:
   * a config set dynamically (or any of its unit synonyms) gets its effective value, typed like
   * start-up values; otherwise it goes back to its start-up value.
   */
  private refreshLive(names: Iterable<string>): void {
    const all = new Set<string>(names);
    for (const n of [...all]) for (const [syn] of brokerSynonyms(n)) all.add(syn);
    const live = this.config as Record<string, unknown>;
    for (const name of all) {
      if (INTERNAL_FIELDS.has(name)) continue;
      const dynamic = brokerSynonyms(name).some(([syn]) => this.dynamicBroker.has(syn) || this.dynamicDefault.has(syn));
      if (dynamic) {
        const v = this.brokerValue(name);
        if (v !== null) live[name] = typedConfigValue(brokerDef(name)?.type, v);
      } else if (Object.hasOwn(this.startup, name)) {
        live[name] = this.startup[name];
      } else {
        delete live[name];
      }
    }
  }

  // ---- persistence (topic overrides are kept with the topic by Topics and the metadata store) ----

  snapshot(): ConfigsSnapshot {
    const broker = Object.fromEntries(this.dynamicBroker);
    return {
      broker,
      clusterDefault: Object.fromEntries(this.dynamicDefault),
      nodes: { ...this.otherNodes, [String(this.config.nodeId)]: broker },
    };
  }

  /**
   * Replaces the dynamic broker configs with the snapshot's (this broker's own from `nodes` when present, else
   * `broker`, as a single broker stored them) and brings the live values of every config that changed in step.
   */
  restore(s: Partial<ConfigsSnapshot>): void {
    const me = String(this.config.nodeId);
    const own = s.nodes ? (s.nodes[me] ?? {}) : (s.broker ?? {});
    this.otherNodes = Object.fromEntries(Object.entries(s.nodes ?? {}).filter(([id]) => id !== me));
    const changed = new Set([...this.dynamicBroker.keys(), ...this.dynamicDefault.keys()]);
    this.dynamicBroker.clear();
    this.dynamicDefault.clear();
    for (const [k, v] of Object.entries(own)) this.dynamicBroker.set(k, String(v));
    for (const [k, v] of Object.entries(s.clusterDefault ?? {})) this.dynamicDefault.set(k, String(v));
    for (const k of [...this.dynamicBroker.keys(), ...this.dynamicDefault.keys()]) changed.add(k);
    this.refreshLive(changed);
  }
}

function brokerDef(name: string): BrokerConfigDef | undefined {
  return Object.hasOwn(BROKER_CONFIGS, name) ? BROKER_CONFIGS[name] : undefined;
}
