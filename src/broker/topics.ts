// Topic registry: names, ids, partitions and topic configs over a LogStore. Changes are written to
// the MetadataStore before they take effect (a file store with --data-dir, memory otherwise).
import type { MetadataStore } from "../storage/metadata.ts";
import { memoryMetadataStore } from "../storage/metadata.ts";
import type { LogStore, PartitionLog } from "../storage/store.ts";
import type { TopicStats } from "./metrics.ts";
import { topicStats } from "./metrics.ts";
import type { BrokerValues } from "./topic_configs.ts";
import { effectiveTopicConfig } from "./topic_configs.ts";

export type Topic = {
  readonly name: string;
  /** Kafka's base64url uuid form. */
  readonly id: string;
  readonly partitions: PartitionLog[];
  /** Configs set on the topic (not defaults). */
  readonly configs: Map<string, string>;
  readonly internal: boolean;
  /** Bytes and records in and out (the /metrics side's BrokerTopicMetrics). */
  readonly stats: TopicStats;
};

const LEGAL = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME_LENGTH = 249;

/** Kafka's topic name rules; returns the reason a name is illegal, or null. */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === "." || name === "..") return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!LEGAL.test(name)) {
    return `Topic name ${name} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

export function randomUuid(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export { ZERO_UUID } from "../protocol/codec.ts";

export class Topics {
  private byName = new Map<string, Topic>();
  private byIdMap = new Map<string, Topic>();
  private store: LogStore;
  private meta: MetadataStore;

  constructor(store: LogStore, meta: MetadataStore = memoryMetadataStore()) {
    this.store = store;
    this.meta = meta;
  }

  /** Registers the topics the metadata store holds, opening (and so recovering) their partitions. */
  async load(): Promise<void> {
    for (const t of this.meta.topics()) {
      const logs = await Promise.all(Array.from({ length: t.partitions }, (_, p) => this.store.open(t.name, p)));
      const topic: Topic = {
        name: t.name,
        id: t.id,
        partitions: logs,
        configs: new Map(Object.entries(t.configs)),
        internal: t.name.startsWith("__"),
        stats: topicStats(),
      };
      this.byName.set(t.name, topic);
      this.byIdMap.set(t.id, topic);
    }
  }

  /**
   * Takes in what other brokers changed in a shared metadata store: topics created, grown,
   * reconfigured or deleted elsewhere. Their data is not touched (the broker that deleted a topic
   * removed it).
   */
  async sync(): Promise<void> {
    if (!this.meta.refresh) return;
    await this.meta.refresh();
    const seen = new Set<string>();
    for (const t of this.meta.topics()) {
      seen.add(t.name);
      const have = this.byName.get(t.name);
      if (have && have.id === t.id) {
        for (let p = have.partitions.length; p < t.partitions; p++) {
          have.partitions.push(await this.store.open(t.name, p));
        }
        have.configs.clear();
        for (const [k, v] of Object.entries(t.configs)) have.configs.set(k, v);
        continue;
      }
      if (have) {
        this.byIdMap.delete(have.id);
        this.store.forget?.(t.name);
      }
      const logs = await Promise.all(Array.from({ length: t.partitions }, (_, p) => this.store.open(t.name, p)));
      const topic: Topic = {
        name: t.name,
        id: t.id,
        partitions: logs,
        configs: new Map(Object.entries(t.configs)),
        internal: t.name.startsWith("__"),
        stats: topicStats(),
      };
      this.byName.set(t.name, topic);
      this.byIdMap.set(t.id, topic);
    }
    for (const [name, t] of this.byName) {
      if (seen.has(name)) continue;
      this.byName.delete(name);
      this.byIdMap.delete(t.id);
      this.store.forget?.(name);
    }
  }

  private save(topic: { name: string; id: string }, partitions: number, configs: Map<string, string>): Promise<void> {
    return this.meta.putTopic({ name: topic.name, id: topic.id, partitions, configs: Object.fromEntries(configs) });
  }

  /** Persists a topic's configs after they were changed in `topic.configs` (AlterConfigs). */
  saveConfigs(topic: Topic): Promise<void> {
    return this.save(topic, topic.partitions.length, topic.configs);
  }

  get(name: string): Topic | undefined {
    return this.byName.get(name);
  }

  byId(id: string): Topic | undefined {
    return this.byIdMap.get(id);
  }

  list(): IterableIterator<Topic> {
    return this.byName.values();
  }

  /** A topic whose name differs from `name` only by '.' vs '_' (they collide in metric names). */
  collision(name: string): string | null {
    const norm = name.replace(/\./g, "_");
    for (const t of this.byName.keys()) if (t !== name && t.replace(/\./g, "_") === norm) return t;
    return null;
  }

  /** Creations in progress (recorded, partitions opening), by name: a second one of the name is refused. */
  private creating = new Map<string, { topic: Promise<Topic>; partitions: number }>();

  /** The creation of `name` in progress, if any: the topic once its partitions are open. */
  creation(name: string): Promise<Topic> | undefined {
    return this.creating.get(name)?.topic;
  }

  /** Partitions of the creations in progress (max.broker.partitions counts them as held already). */
  creatingPartitions(): number {
    let n = 0;
    for (const c of this.creating.values()) n += c.partitions;
    return n;
  }

  /**
   * Creates a topic; the caller has validated name, partition count and configs. While one creation of
   * a name is in progress (not yet listed: its partitions still opening), another is refused with
   * code TOPIC_EXISTS, as when the topic exists: the name is never recorded twice under two ids.
   */
  create(name: string, partitions: number, configs: Map<string, string>, id = randomUuid()): Promise<Topic> {
    if (this.creating.has(name)) {
      return Promise.reject(Object.assign(new Error(`Topic '${name}' already exists.`), { code: "TOPIC_EXISTS" }));
    }
    const p = this.createNow(name, partitions, configs, id);
    const entry = { topic: p, partitions };
    this.creating.set(name, entry);
    const done = () => {
      if (this.creating.get(name) === entry) this.creating.delete(name);
    };
    p.then(done, done);
    return p;
  }

  private async createNow(name: string, partitions: number, configs: Map<string, string>, id: string): Promise<Topic> {
    try {
      await this.save({ name, id }, partitions, configs);
    } catch (e) {
      // Another broker of the cluster created it first: take in its topic, then report.
      if ((e as { code?: string }).code === "TOPIC_EXISTS") await this.sync().catch(() => {});
      throw e;
    }
    // Opened together (the store bounds how many load at once): one after another, a topic of thousands of
    // partitions on a data dir took a directory and its files' round trips per partition in a row.
    const opened = await Promise.allSettled(Array.from({ length: partitions }, (_, p) => this.store.open(name, p)));
    const failed = opened.find((r) => r.status === "rejected");
    if (failed) {
      // The log dir refused the partitions (offline, disk full): the topic is not created after all, and the
      // partitions made (empty) go too.
      await this.meta.deleteTopic(name).catch(() => {});
      await this.store.remove(name, partitions).catch(() => {});
      throw failed.reason;
    }
    const logs = opened.map((r) => (r as PromiseFulfilledResult<PartitionLog>).value);
    const topic: Topic = { name, id, partitions: logs, configs, internal: name.startsWith("__"), stats: topicStats() };
    this.byName.set(name, topic);
    this.byIdMap.set(id, topic);
    return topic;
  }

  private ensuring = new Map<string, Promise<Topic>>();

  /**
   * An internal topic (compacted, stored as produced), created when missing; concurrent callers
   * share one creation. `created` says whether this call made it.
   */
  async ensureInternal(name: string, partitions: number): Promise<{ topic: Topic; created: boolean }> {
    const existing = this.get(name);
    if (existing) return { topic: existing, created: false };
    let p = this.ensuring.get(name);
    const mine = p === undefined;
    if (!p) {
      p = this.create(name, partitions, new Map([["cleanup.policy", "compact"], ["compression.type", "producer"]]))
        .catch(async (e) => {
          const theirs = (e as { code?: string }).code === "TOPIC_EXISTS"
            ? this.get(name) ?? await this.creation(name)?.catch(() => undefined)
            : undefined;
          if (theirs) return theirs;
          throw e;
        })
        .finally(() => this.ensuring.delete(name));
      this.ensuring.set(name, p);
    }
    return { topic: await p, created: mine };
  }

  async addPartitions(topic: Topic, total: number): Promise<void> {
    await this.save(topic, total, topic.configs);
    // Opened together; the ones before the first that failed are the topic's (as when opened one by one).
    const from = topic.partitions.length;
    const opened = await Promise.allSettled(
      Array.from({ length: total - from }, (_, i) => this.store.open(topic.name, from + i)),
    );
    for (const r of opened) {
      if (r.status === "rejected") throw r.reason;
      topic.partitions.push(r.value);
    }
  }

  async delete(topic: Topic): Promise<void> {
    await this.meta.deleteTopic(topic.name);
    this.byName.delete(topic.name);
    this.byIdMap.delete(topic.id);
    await this.store.remove(topic.name, topic.partitions.length);
  }

  /** Broker-level values including dynamic broker configs; set by the broker (config/index.ts). */
  brokerValues: BrokerValues | null = null;

  /** The effective value of a topic config: set on the topic, else the broker's, else Kafka's default. */
  config(topic: Topic, name: string, broker: BrokerValues): string {
    return effectiveTopicConfig(topic.configs, name, this.brokerValues ?? broker);
  }
}
