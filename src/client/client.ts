// A small Kafka client for the admin CLI: a bootstrap connection, one connection per broker as
// Metadata names them, coordinators by FindCoordinator. No retries beyond what a person at a
// terminal wants (one re-lookup of a coordinator).
import { ZERO_UUID } from "../protocol/codec.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { FindCoordinator } from "../protocol/messages/10_find_coordinator.ts";
import type { MetadataResponse } from "../protocol/messages/03_metadata.ts";
import { Metadata } from "../protocol/messages/03_metadata.ts";
import type { Runtime } from "../runtime.ts";
import type { ConnectionOptions } from "./connection.ts";
import { KafkaConnection } from "./connection.ts";
import { check, KafkaError } from "./errors.ts";

export type HostPort = { host: string; port: number };

/** `host:port[,host:port…]`; the port defaults to 9092. Throws on a malformed entry. */
export function parseBrokers(list: string): HostPort[] {
  const out: HostPort[] = [];
  for (const item of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(item);
    if (!m) throw new KafkaError("INVALID_REQUEST", `bad broker address "${item}"`, "use host:port");
    out.push({ host: m[1].replace(/^\[|\]$/g, ""), port: m[2] ? Number(m[2]) : 9092 });
  }
  if (out.length === 0) throw new KafkaError("INVALID_REQUEST", "no broker address given", "use -b host:port");
  return out;
}

export type TopicMeta = {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: { partition: number; leader: number; replicas: number[]; isr: number[]; errorCode: number }[];
  errorCode: number;
};

export class KafkaClient {
  private readonly runtime: Runtime;
  private readonly bootstrap: HostPort[];
  private readonly options: ConnectionOptions;
  private readonly conns = new Map<string, Promise<KafkaConnection>>();
  private brokers = new Map<number, HostPort>();
  private boot: Promise<KafkaConnection> | null = null;

  constructor(runtime: Runtime, bootstrap: HostPort[], options: ConnectionOptions = {}) {
    this.runtime = runtime;
    this.bootstrap = bootstrap;
    this.options = options;
  }

  private open(hp: HostPort): Promise<KafkaConnection> {
    const key = `${hp.host}:${hp.port}`;
    let c = this.conns.get(key);
    if (!c) {
      c = KafkaConnection.open(this.runtime, hp.host, hp.port, this.options);
      this.conns.set(key, c);
      c.catch(() => this.conns.delete(key));
    }
    return c;
  }

  /** A connection to any broker (the first bootstrap address that answers). */
  any(): Promise<KafkaConnection> {
    this.boot ??= (async () => {
      let last: unknown;
      for (const hp of this.bootstrap) {
        try {
          return await this.open(hp);
        } catch (e) {
          last = e;
        }
      }
      this.boot = null;
      throw last;
    })();
    return this.boot;
  }

  /** A connection to broker `nodeId` (from the last Metadata). */
  async broker(nodeId: number): Promise<KafkaConnection> {
    if (!this.brokers.has(nodeId)) await this.metadata([]);
    const hp = this.brokers.get(nodeId);
    if (!hp) throw new KafkaError("BROKER_NOT_AVAILABLE", `broker ${nodeId} is not in the cluster's metadata`);
    try {
      return await this.open(hp);
    } catch (e) {
      // An advertised address this machine cannot reach: a one-broker cluster is reachable the way we came in.
      if (this.brokers.size === 1) return this.any();
      throw e;
    }
  }

  /** Metadata of some topics (all when null), remembering the brokers. */
  async metadata(topics: string[] | null, allowAutoTopicCreation = false): Promise<Required<MetadataResponse>> {
    const c = await this.any();
    const r = await c.request(Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ topicId: ZERO_UUID, name })),
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }, 12);
    this.brokers = new Map((r.brokers ?? []).map((b) => [b.nodeId!, { host: b.host!, port: b.port! }]));
    return r as Required<MetadataResponse>;
  }

  /** Topics as Metadata describes them, sorted by name; `names` null for all. */
  async topics(names: string[] | null, autoCreate = false): Promise<TopicMeta[]> {
    const r = await this.metadata(names, autoCreate);
    return (r.topics ?? []).map((t) => ({
      name: t.name ?? "",
      topicId: t.topicId ?? "",
      internal: t.isInternal ?? false,
      errorCode: t.errorCode ?? 0,
      partitions: (t.partitions ?? []).map((p) => ({
        partition: p.partitionIndex ?? 0,
        leader: p.leaderId ?? -1,
        replicas: p.replicaNodes ?? [],
        isr: p.isrNodes ?? [],
        errorCode: p.errorCode ?? 0,
      })).sort((a, b) => a.partition - b.partition),
    })).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * One topic's metadata; throws UNKNOWN_TOPIC_OR_PARTITION when it does not exist. `autoCreate`
   * asks the broker to create it (as producers do, when auto.create.topics.enable allows).
   */
  async topic(name: string, autoCreate = false): Promise<TopicMeta> {
    let t: TopicMeta | undefined;
    // A topic just auto-created may have no leader for a moment (LEADER_NOT_AVAILABLE): ask again.
    for (let attempt = 0; attempt < 20; attempt++) {
      [t] = await this.topics([name], autoCreate);
      if (t?.errorCode !== ErrorCode.LEADER_NOT_AVAILABLE) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!t || t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
      throw new KafkaError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} does not exist`);
    }
    check(t.errorCode, null, `looking up topic ${name}`);
    return t;
  }

  /** The coordinator of a group (keyType 0) or transactional id (1). */
  async coordinator(key: string, keyType: 0 | 1): Promise<KafkaConnection> {
    const c = await this.any();
    const v = c.version(FindCoordinator as never);
    const r = await c.send(FindCoordinator, v, { key, keyType, coordinatorKeys: [key] });
    let nodeId: number, errorCode: number, errorMessage: string | null;
    if (v >= 4) {
      const k = r.coordinators?.[0];
      nodeId = k?.nodeId ?? -1;
      errorCode = k?.errorCode ?? 0;
      errorMessage = k?.errorMessage ?? null;
    } else {
      nodeId = r.nodeId ?? -1;
      errorCode = r.errorCode ?? 0;
      errorMessage = r.errorMessage ?? null;
    }
    check(errorCode, errorMessage, `finding the coordinator of ${key}`);
    return this.broker(nodeId);
  }

  /** Every broker's id. */
  async brokerIds(): Promise<number[]> {
    await this.metadata([]);
    return [...this.brokers.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    for (const c of this.conns.values()) {
      try {
        (await c).close();
      } catch {
        // never opened
      }
    }
    this.conns.clear();
  }
}
