// Confluent REST Proxy API v3 (/v3/clusters/...): the cluster, brokers and broker configs, topics
// (list, create, describe, delete) with partitions and configs (list, get, set, reset, batch alter),
// producing records (one JSON object, or a stream of them in one request, answered by a stream of
// results), consumer groups with their consumers, lag summary and per-partition lags, and ACLs.
// Shapes follow Confluent's v3 reference (kind, metadata.self, related links, error_code as the
// HTTP status); every action is authorized like the Kafka API it stands for.
import type { Context, Hono } from "hono";
import { type AclBinding, AclOperation, AclPermission, PatternType, ResourceType } from "../broker/auth/acl.ts";
import { ConfigSource, type DescribedConfig, ResourceType as ConfigType } from "../broker/config/configs.ts";
import type { Services } from "../broker/services.ts";
import { createTopic, deleteTopic } from "../broker/topic_admin.ts";
import type { Topic } from "../broker/topics.ts";
import { errorName } from "../client/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { RecordInput } from "../protocol/record_batch.ts";
import { RegistryError } from "../broker/registry/registry.ts";
import { base64ToBytes } from "./base64.ts";
import { schemaRecordName, SerializeError, serializeWithSchema } from "./serialize.ts";
import { defaultPartition } from "./murmur2.ts";
import { groupLags } from "./lag.ts";
import { appendRecords, type ProduceOffset } from "./rest.ts";
import { httpAllowed, httpClusterAllowed, type HttpEnv } from "./security.ts";

const utf8 = new TextEncoder();

class V3Error extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** v3's schema types, as the registry names them. */
const SCHEMA_TYPES: Record<string, string | undefined> = { AVRO: "AVRO", JSONSCHEMA: "JSON", PROTOBUF: "PROTOBUF" };

/** A produced key or value in v3's result: its type and size, and the schema it was serialized with. */
const dataView = (d: { type: string; schemaId?: number }, bytes: Uint8Array) => ({
  type: d.type,
  size: bytes.length,
  ...(d.schemaId !== undefined ? { schema_id: d.schemaId } : {}),
});

const enumName = (o: Record<string, number>, v: number) => Object.entries(o).find(([, x]) => x === v)?.[0] ?? "UNKNOWN";

/** The fields a broker config and a topic config share in v3, from a DescribeConfigs entry. */
const configFields = (x: DescribedConfig) => ({
  name: x.name,
  value: x.value,
  is_default: x.isDefault,
  is_read_only: x.readOnly,
  is_sensitive: x.isSensitive,
  source: enumName(ConfigSource, x.configSource),
  synonyms: x.synonyms.map((s) => ({ name: s.name, value: s.value, source: enumName(ConfigSource, s.source) })),
});

export function confluentV3Routes(app: Hono<HttpEnv>, svc: Services): void {
  const id = () => svc.clusterId;
  const base = (c: Context) => `${new URL(c.req.url).origin}/v3/clusters/${id()}`;
  const rel = (c: Context, path: string) => ({ related: `${base(c)}${path}` });
  const meta = (c: Context, path: string, crn: string) => ({
    self: `${base(c)}${path}`,
    resource_name: `crn:///kafka=${id()}${crn}`,
  });
  const list = (c: Context, kind: string, path: string, data: unknown[]) =>
    c.json({ kind, metadata: { self: `${base(c)}${path}`, next: null }, data });
  const route = (fn: (c: Context) => Promise<Response> | Response) => async (c: Context) => {
    try {
      if (c.req.param("cluster") !== undefined && c.req.param("cluster") !== id()) {
        throw new V3Error(404, "Cluster not found.");
      }
      return await fn(c);
    } catch (e) {
      if (e instanceof V3Error) return c.json({ error_code: e.status, message: e.message }, e.status as 404);
      throw e;
    }
  };
  const need = (ok: boolean, message = "Request is not authorized.") => {
    if (!ok) throw new V3Error(403, message);
  };
  // Authorization before existence (Kafka): a refusal says nothing of whether the topic or group exists.
  const topicOf = (c: Context): Topic => {
    const name = c.req.param("topic") ?? "";
    need(
      httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.TOPIC, name),
      `Not authorized to access topics: [${name}]`,
    );
    const t = svc.topics.get(name);
    if (!t) throw new V3Error(404, "This server does not host this topic-partition.");
    return t;
  };
  const body = async (c: Context) => {
    try {
      return await c.req.json() as Record<string, unknown>;
    } catch {
      throw new V3Error(400, "The request body is not JSON.");
    }
  };

  const cluster = (c: Context) => ({
    kind: "KafkaCluster",
    metadata: meta(c, "", ""),
    cluster_id: id(),
    controller: rel(c, `/brokers/${svc.config.nodeId}`),
    acls: rel(c, "/acls"),
    brokers: rel(c, "/brokers"),
    broker_configs: rel(c, "/broker-configs"),
    consumer_groups: rel(c, "/consumer-groups"),
    topics: rel(c, "/topics"),
    partition_reassignments: rel(c, "/topics/-/partitions/-/reassignment"),
  });
  app.get("/v3/clusters", route((c) => list(c, "KafkaClusterList", "", [cluster(c)])));
  app.get("/v3/clusters/:cluster", route((c) => c.json(cluster(c))));

  // ---- brokers ----
  const broker = (c: Context) => ({
    kind: "KafkaBroker",
    metadata: meta(c, `/brokers/${svc.config.nodeId}`, `/broker=${svc.config.nodeId}`),
    cluster_id: id(),
    broker_id: svc.config.nodeId,
    host: svc.advertised.host,
    port: svc.advertised.port,
    rack_id: null,
    configs: rel(c, `/brokers/${svc.config.nodeId}/configs`),
    partition_replicas: rel(c, `/brokers/${svc.config.nodeId}/partition-replicas`),
  });
  app.get("/v3/clusters/:cluster/brokers", route((c) => list(c, "KafkaBrokerList", "/brokers", [broker(c)])));
  app.get(
    "/v3/clusters/:cluster/brokers/:broker",
    route((c) => {
      if (c.req.param("broker") !== String(svc.config.nodeId)) throw new V3Error(404, "Broker not found.");
      return c.json(broker(c));
    }),
  );
  const brokerConfigs = (c: Context, kind: string) => {
    need(httpClusterAllowed(svc, c, AclOperation.DESCRIBE_CONFIGS));
    const cluster = kind === "KafkaClusterConfig";
    return svc.configs.describe(ConfigType.BROKER, String(svc.config.nodeId), null, true, false).configs.map((x) => ({
      kind,
      metadata: cluster
        ? meta(c, `/broker-configs/${x.name}`, `/broker-config=${x.name}`)
        : meta(c, `/brokers/${svc.config.nodeId}/configs/${x.name}`, `/broker=${svc.config.nodeId}/config=${x.name}`),
      cluster_id: id(),
      ...(cluster ? { config_type: "BROKER" } : { broker_id: svc.config.nodeId }),
      ...configFields(x),
    }));
  };
  app.get(
    "/v3/clusters/:cluster/brokers/:broker/configs",
    route((c) => {
      if (c.req.param("broker") !== String(svc.config.nodeId)) throw new V3Error(404, "Broker not found.");
      return list(
        c,
        "KafkaBrokerConfigList",
        `/brokers/${svc.config.nodeId}/configs`,
        brokerConfigs(c, "KafkaBrokerConfig"),
      );
    }),
  );
  app.get(
    "/v3/clusters/:cluster/broker-configs",
    route((c) => list(c, "KafkaClusterConfigList", "/broker-configs", brokerConfigs(c, "KafkaClusterConfig"))),
  );
  // Changes as IncrementalAlterConfigs makes them (ALTER_CONFIGS on the cluster): this broker's
  // configs, or the cluster-wide default (Kafka's BROKER resource with the empty name).
  const thisBroker = (c: Context) => {
    if (c.req.param("broker") !== String(svc.config.nodeId)) throw new V3Error(404, "Broker not found.");
    return String(svc.config.nodeId);
  };
  const alterBroker = async (
    resource: string,
    c: Context,
    ops: { name: string; op: number; value: string | null }[],
  ) => {
    need(httpClusterAllowed(svc, c, AclOperation.ALTER_CONFIGS));
    const out = await svc.configs.alter(ConfigType.BROKER, resource, ops, true, false);
    if (out.errorCode !== ErrorCode.NONE) throw new V3Error(400, out.errorMessage ?? errorName(out.errorCode));
    return c.body(null, 204);
  };
  const alterOps = (b: Record<string, unknown>) =>
    (Array.isArray(b.data) ? b.data as { name: string; value?: string; operation?: string }[] : []).map((x) => ({
      name: String(x.name),
      op: x.operation?.toUpperCase() === "DELETE" ? 1 : 0,
      value: x.operation?.toUpperCase() === "DELETE" ? null : String(x.value ?? ""),
    }));
  for (
    const [path, resource, kind] of [
      ["/v3/clusters/:cluster/brokers/:broker/configs", thisBroker, "KafkaBrokerConfig"],
      ["/v3/clusters/:cluster/broker-configs", () => "", "KafkaClusterConfig"],
    ] as const
  ) {
    app.get(
      `${path}/:name`,
      route((c) => {
        resource(c);
        const x = brokerConfigs(c, kind).find((x) => x.name === c.req.param("name"));
        if (!x) throw new V3Error(404, `Config ${c.req.param("name")} not found.`);
        return c.json(x);
      }),
    );
    app.put(
      `${path}/:name`,
      route(async (c) => {
        const b = await body(c);
        return alterBroker(resource(c), c, [{ name: c.req.param("name") ?? "", op: 0, value: String(b.value ?? "") }]);
      }),
    );
    app.delete(
      `${path}/:name`,
      route((c) => alterBroker(resource(c), c, [{ name: c.req.param("name") ?? "", op: 1, value: null }])),
    );
    app.post(`${path}:alter`, route(async (c) => alterBroker(resource(c), c, alterOps(await body(c)))));
  }

  // ---- topics ----
  const topicView = (c: Context, t: Topic) => ({
    kind: "KafkaTopic",
    metadata: meta(c, `/topics/${t.name}`, `/topic=${t.name}`),
    cluster_id: id(),
    topic_name: t.name,
    is_internal: t.internal,
    replication_factor: 1,
    partitions_count: t.partitions.length,
    partitions: rel(c, `/topics/${t.name}/partitions`),
    configs: rel(c, `/topics/${t.name}/configs`),
    partition_reassignments: rel(c, `/topics/${t.name}/partitions/-/reassignment`),
    authorized_operations: [],
  });
  app.get(
    "/v3/clusters/:cluster/topics",
    route((c) =>
      list(
        c,
        "KafkaTopicList",
        "/topics",
        [...svc.topics.list()].filter((t) => httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name))
          .sort((a, b) => (a.name < b.name ? -1 : 1)).map((t) => topicView(c, t)),
      )
    ),
  );
  app.post(
    "/v3/clusters/:cluster/topics",
    route(async (c) => {
      const b = await body(c);
      const name = String(b.topic_name ?? "");
      need(
        httpClusterAllowed(svc, c, AclOperation.CREATE) ||
          httpAllowed(svc, c, AclOperation.CREATE, ResourceType.TOPIC, name),
      );
      const out = await createTopic(svc, {
        name,
        numPartitions: typeof b.partitions_count === "number" ? b.partitions_count : -1,
        replicationFactor: typeof b.replication_factor === "number" ? b.replication_factor : -1,
        assignments: [],
        configs: Array.isArray(b.configs)
          ? (b.configs as { name: string; value: string | null }[]).map((x) => ({ name: x.name, value: x.value }))
          : [],
      }, b.validate_only === true);
      if (out.errorCode !== ErrorCode.NONE) {
        throw new V3Error(400, out.errorMessage ?? errorName(out.errorCode));
      }
      const t = svc.topics.get(name);
      return c.json(t ? topicView(c, t) : { topic_name: name }, 201);
    }),
  );
  app.get("/v3/clusters/:cluster/topics/:topic", route((c) => c.json(topicView(c, topicOf(c)))));
  app.delete(
    "/v3/clusters/:cluster/topics/:topic",
    route(async (c) => {
      const t = topicOf(c);
      need(httpAllowed(svc, c, AclOperation.DELETE, ResourceType.TOPIC, t.name));
      if (t.internal) throw new V3Error(400, "Internal topics cannot be deleted.");
      const out = await deleteTopic(svc, t, "REST v3");
      if (out.errorCode !== ErrorCode.NONE) throw new V3Error(500, out.errorMessage ?? errorName(out.errorCode));
      return c.body(null, 204);
    }),
  );
  const partitionView = (c: Context, t: Topic, p: number) => ({
    kind: "KafkaPartition",
    metadata: meta(c, `/topics/${t.name}/partitions/${p}`, `/topic=${t.name}/partition=${p}`),
    cluster_id: id(),
    topic_name: t.name,
    partition_id: p,
    leader: rel(c, `/topics/${t.name}/partitions/${p}/replicas/${svc.config.nodeId}`),
    replicas: rel(c, `/topics/${t.name}/partitions/${p}/replicas`),
    reassignment: rel(c, `/topics/${t.name}/partitions/${p}/reassignment`),
  });
  app.get(
    "/v3/clusters/:cluster/topics/:topic/partitions",
    route((c) => {
      const t = topicOf(c);
      return list(
        c,
        "KafkaPartitionList",
        `/topics/${t.name}/partitions`,
        t.partitions.map((_, i) => partitionView(c, t, i)),
      );
    }),
  );
  app.get(
    "/v3/clusters/:cluster/topics/:topic/partitions/:partition",
    route((c) => {
      const t = topicOf(c);
      const p = Number(c.req.param("partition"));
      if (!t.partitions[p]) throw new V3Error(404, "This server does not host this topic-partition.");
      return c.json(partitionView(c, t, p));
    }),
  );

  // ---- topic configs ----
  const topicConfigs = (c: Context, t: Topic) =>
    svc.configs.describe(ConfigType.TOPIC, t.name, null, true, false).configs.map((x) => ({
      kind: "KafkaTopicConfig",
      metadata: meta(c, `/topics/${t.name}/configs/${x.name}`, `/topic=${t.name}/config=${x.name}`),
      cluster_id: id(),
      topic_name: t.name,
      ...configFields(x),
    }));
  const alter = async (c: Context, t: Topic, ops: { name: string; op: number; value: string | null }[]) => {
    need(httpAllowed(svc, c, AclOperation.ALTER_CONFIGS, ResourceType.TOPIC, t.name));
    const out = await svc.configs.alter(ConfigType.TOPIC, t.name, ops, true, false);
    if (out.errorCode !== ErrorCode.NONE) throw new V3Error(400, out.errorMessage ?? "Invalid config.");
  };
  app.get(
    "/v3/clusters/:cluster/topics/:topic/configs",
    route((c) => {
      const t = topicOf(c);
      need(httpAllowed(svc, c, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, t.name));
      return list(c, "KafkaTopicConfigList", `/topics/${t.name}/configs`, topicConfigs(c, t));
    }),
  );
  app.get(
    "/v3/clusters/:cluster/topics/:topic/configs/:name",
    route((c) => {
      const t = topicOf(c);
      need(httpAllowed(svc, c, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, t.name));
      const x = topicConfigs(c, t).find((x) => x.name === c.req.param("name"));
      if (!x) throw new V3Error(404, `Config ${c.req.param("name")} not found.`);
      return c.json(x);
    }),
  );
  app.put(
    "/v3/clusters/:cluster/topics/:topic/configs/:name",
    route(async (c) => {
      const t = topicOf(c);
      const b = await body(c);
      await alter(c, t, [{ name: c.req.param("name") ?? "", op: 0, value: String(b.value ?? "") }]);
      return c.body(null, 204);
    }),
  );
  app.delete(
    "/v3/clusters/:cluster/topics/:topic/configs/:name",
    route(async (c) => {
      await alter(c, topicOf(c), [{ name: c.req.param("name") ?? "", op: 1, value: null }]);
      return c.body(null, 204);
    }),
  );
  app.post(
    "/v3/clusters/:cluster/topics/:topic/configs:alter",
    route(async (c) => {
      await alter(c, topicOf(c), alterOps(await body(c)));
      return c.body(null, 204);
    }),
  );

  // ---- records ----
  const roundRobin = new Map<string, number>();
  /**
   * A record's key or value as v3 sends it, in bytes: {type: JSON|BINARY|STRING, data}, or serialized
   * with a registered schema (serialize.ts) named by schema_id, by an inline schema (registered under
   * the subject first, as v2 does), or by subject (explicit, or TopicNameStrategy's <topic>-key|value)
   * with schema_version (default: the latest). RECORD_NAME strategies need a schema_id or a subject.
   */
  const recordData = async (
    t: Topic,
    part: unknown,
    what: "key" | "value",
    registered: Map<string, number>,
  ): Promise<{ bytes: Uint8Array | null; type: string; schemaId?: number }> => {
    if (part === undefined || part === null) return { bytes: null, type: "NONE" };
    if (typeof part !== "object" || Array.isArray(part)) throw new V3Error(400, `${what} must be an object`);
    const p = part as {
      type?: unknown;
      data?: unknown;
      schema_id?: unknown;
      schema_version?: unknown;
      schema?: unknown;
      subject?: unknown;
      subject_name_strategy?: unknown;
    };
    const schemaFields = p.schema_id !== undefined || p.schema_version !== undefined || p.schema !== undefined ||
      p.subject !== undefined || p.subject_name_strategy !== undefined;
    const type = String(p.type ?? (schemaFields ? "" : "JSON")).toUpperCase();
    const registryType = SCHEMA_TYPES[type];
    if (schemaFields || registryType) {
      if (type && !registryType) throw new V3Error(400, `${what}.type ${type} cannot be used with a schema`);
      let id: number;
      try {
        if (p.schema_id !== undefined) {
          if (!Number.isInteger(p.schema_id)) throw new V3Error(400, `${what}.schema_id must be an integer`);
          id = p.schema_id as number;
        } else {
          const strategy = String(p.subject_name_strategy ?? "TOPIC_NAME").toUpperCase();
          let subject: string;
          if (typeof p.subject === "string") subject = p.subject;
          else if (strategy === "TOPIC_NAME") subject = `${t.name}-${what}`;
          else if (strategy === "RECORD_NAME" || strategy === "TOPIC_RECORD_NAME") {
            // The record's name comes from the schema given with it (none to look up otherwise).
            const name = typeof p.schema === "string" && registryType ? schemaRecordName(registryType, p.schema) : null;
            if (name === null) {
              throw new V3Error(400, `${what}: subject_name_strategy ${strategy} needs a schema naming its record`);
            }
            subject = strategy === "RECORD_NAME" ? name : `${t.name}-${name}`;
          } else throw new V3Error(400, `${what}.subject_name_strategy ${strategy} is not known`);
          if (typeof p.schema === "string") {
            if (!registryType) throw new V3Error(400, `${what}.type must be AVRO, JSONSCHEMA or PROTOBUF`);
            // Once per group of records (each registration catches up with the registry's log).
            const k = `${subject}\u0000${registryType}\u0000${p.schema}`;
            id = registered.get(k) ??
              await svc.registry.register(subject, { schema: p.schema, schemaType: registryType });
            registered.set(k, id);
          } else {
            const version = p.schema_version === undefined ? "latest" : String(p.schema_version);
            id = svc.registry.version(subject, version).id;
          }
        }
        const bytes = serializeWithSchema(svc, id, p.data ?? null, registryType);
        const stored = svc.registry.parsedById(id).type;
        return { bytes, type: type || (stored === "JSON" ? "JSONSCHEMA" : stored), schemaId: id };
      } catch (e) {
        if (e instanceof SerializeError) throw new V3Error(400, `${what}: ${e.message}`);
        if (e instanceof RegistryError) throw new V3Error(e.status === 404 ? 404 : 400, `${what}: ${e.message}`);
        throw e;
      }
    }
    if (p.data === null || p.data === undefined) return { bytes: null, type };
    if (type === "BINARY") {
      try {
        return { bytes: base64ToBytes(String(p.data)), type };
      } catch {
        throw new V3Error(400, `${what}.data is not valid base64`);
      }
    }
    if (type === "STRING") return { bytes: utf8.encode(String(p.data)), type };
    if (type === "JSON") return { bytes: utf8.encode(JSON.stringify(p.data)), type };
    throw new V3Error(400, `${what}.type ${type} is not one of JSON, BINARY, STRING, AVRO, JSONSCHEMA, PROTOBUF`);
  };
  /** One record of a produce request, checked and placed; a V3Error for the client's mistakes. */
  const parseRecord = async (t: Topic, r: Record<string, unknown>, registered: Map<string, number>) => {
    const key = await recordData(t, r.key, "key", registered);
    const value = await recordData(t, r.value, "value", registered);
    const n = t.partitions.length;
    let partition: number;
    if (typeof r.partition_id === "number") {
      if (r.partition_id < 0 || r.partition_id >= n) {
        throw new V3Error(404, "This server does not host this topic-partition.");
      }
      partition = r.partition_id;
    } else partition = defaultPartition(t.name, n, key.bytes, roundRobin);
    const headers = Array.isArray(r.headers)
      ? (r.headers as { name: string; value: string | null }[]).map((h, i) => {
        if (h === null || typeof h !== "object" || typeof h.name !== "string") {
          throw new V3Error(400, `headers[${i}] must be an object with a name`);
        }
        if (h.value === null || h.value === undefined) return { key: h.name, value: null };
        try {
          return { key: h.name, value: base64ToBytes(String(h.value)) };
        } catch {
          throw new V3Error(400, `headers[${i}].value is not valid base64`);
        }
      })
      : [];
    const input: RecordInput = { key: key.bytes, value: value.bytes, headers };
    if (typeof r.timestamp === "string") {
      const ts = Date.parse(r.timestamp);
      if (Number.isNaN(ts)) throw new V3Error(400, "timestamp is not an ISO-8601 date-time");
      input.timestamp = ts;
    }
    return { key, value, partition, input };
  };
  // The record's own fault (Kafka's validation) is the client's error; the rest are the server's.
  const CLIENT_FAULTS: number[] = [
    ErrorCode.INVALID_RECORD,
    ErrorCode.INVALID_TIMESTAMP,
    ErrorCode.CORRUPT_MESSAGE,
    ErrorCode.MESSAGE_TOO_LARGE,
  ];
  /**
   * Produces the records that arrived together: one append (one batch and, under acks=all's fsync,
   * one sync) per partition; results in request order. A partition whose batch is refused (one
   * record's fault, or too large together) is appended record by record, so only the faulty record fails.
   */
  const produceGroup = async (t: Topic, objects: Record<string, unknown>[]): Promise<Record<string, unknown>[]> => {
    const results: Record<string, unknown>[] = new Array(objects.length);
    const parsed: (Awaited<ReturnType<typeof parseRecord>> & { index: number })[] = [];
    const registered = new Map<string, number>();
    for (let index = 0; index < objects.length; index++) {
      try {
        parsed.push({ ...await parseRecord(t, objects[index], registered), index });
      } catch (e) {
        if (!(e instanceof V3Error)) throw e;
        results[index] = { error_code: e.status, message: e.message };
      }
    }
    const settle = (p: (typeof parsed)[number], o: ProduceOffset | { error_code: number; error: string | null }) => {
      results[p.index] = o.error_code !== null
        ? { error_code: CLIENT_FAULTS.includes(o.error_code) ? 400 : 500, message: o.error }
        : {
          error_code: 200,
          cluster_id: id(),
          topic_name: t.name,
          partition_id: p.partition,
          offset: (o as ProduceOffset).offset,
          timestamp: new Date(Number(p.input.timestamp ?? svc.now())).toISOString(),
          ...(p.key.bytes ? { key: dataView(p.key, p.key.bytes) } : {}),
          ...(p.value.bytes ? { value: dataView(p.value, p.value.bytes) } : {}),
        };
    };
    const append = (list: typeof parsed) => appendRecords(svc, t, list, true);
    const together = parsed.length ? await append(parsed) : [];
    for (let i = 0; i < parsed.length; i++) {
      const o = together[i];
      // Only a refusal before anything was appended (a record's fault, too large together) is
      // retried record by record; a storage error is not, as the batch may be partly written.
      if (o.error_code === null || parsed.length === 1 || !CLIENT_FAULTS.includes(o.error_code)) settle(parsed[i], o);
      else settle(parsed[i], (await append([parsed[i]]))[0]);
    }
    return results;
  };
  app.post(
    "/v3/clusters/:cluster/topics/:topic/records",
    route(async (c) => {
      const t = topicOf(c);
      need(httpAllowed(svc, c, AclOperation.WRITE, ResourceType.TOPIC, t.name));
      const stream = c.req.raw.body;
      if (!stream) throw new V3Error(400, "The request body is not JSON.");
      const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
      const splitter = new JsonObjectSplitter();
      /** The objects complete after the next chunk(s); null at the end of the body; an Error when it does not parse. */
      const next = async (): Promise<Record<string, unknown>[] | Error | null> => {
        for (;;) {
          const { done, value } = await reader.read();
          const out = done ? splitter.end() : splitter.push(value);
          if (out instanceof Error || out.length || done) return out instanceof Error || out.length ? out : null;
        }
      };
      const first = await next();
      if (first === null || first instanceof Error) throw new V3Error(400, "The request body is not JSON.");
      // One record sent whole: one JSON answer with the result's HTTP status. Anything else is the
      // streaming form, answered 200 with one result per line as each group of records is appended.
      const rest = first.length === 1 && c.req.header("content-length") !== undefined ? await next() : undefined;
      if (rest === null) {
        const [r] = await produceGroup(t, first);
        return c.json(r, r.error_code as 200);
      }
      const lines = (rs: Record<string, unknown>[]) => utf8.encode(rs.map((r) => JSON.stringify(r) + "\n").join(""));
      // One group of records per pull, so each group's results leave before the next group is read.
      const read: (Record<string, unknown>[] | Error | null)[] = rest === undefined ? [first] : [first, rest];
      const body = new ReadableStream<Uint8Array>({
        async pull(ctl) {
          try {
            const more = read.length ? read.shift()! : await next();
            if (more === null) return ctl.close();
            if (more instanceof Error) {
              // The stream cannot be resynchronized after bytes that are not JSON: say so and stop.
              ctl.enqueue(lines([{ error_code: 400, message: `The request body is not JSON: ${more.message}` }]));
              await reader.cancel().catch(() => {});
              return ctl.close();
            }
            ctl.enqueue(lines(await produceGroup(t, more)));
          } catch (e) {
            svc.log("error", `REST v3 produce to ${t.name}: ${e instanceof Error ? e.message : String(e)}`);
            ctl.enqueue(lines([{ error_code: 500, message: "Internal error; the stream ends here." }]));
            ctl.close();
          }
        },
      }, { highWaterMark: 0 });
      return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
    }),
  );

  // ---- consumer groups ----
  const groupOf = (c: Context) => {
    const name = c.req.param("group") ?? "";
    need(
      httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.GROUP, name),
      `Not authorized to access group: ${name}`,
    );
    const g = svc.groups.group(name);
    if (!g || g.state === "Dead") throw new V3Error(404, "Consumer group not found.");
    return g;
  };
  const groupView = (c: Context, g: NonNullable<ReturnType<typeof svc.groups.group>>) => ({
    kind: "KafkaConsumerGroup",
    metadata: meta(c, `/consumer-groups/${g.groupId}`, `/consumer-group=${g.groupId}`),
    cluster_id: id(),
    consumer_group_id: g.groupId,
    is_simple: g.kind === "classic" && g.members.size === 0 && !g.protocolType,
    partition_assignor: g.kind === "consumer" ? g.assignorName() : g.protocolName ?? "",
    state: g.state.toUpperCase(),
    type: g.kind.toUpperCase(),
    coordinator: rel(c, `/brokers/${svc.config.nodeId}`),
    consumers: rel(c, `/consumer-groups/${g.groupId}/consumers`),
    lag_summary: rel(c, `/consumer-groups/${g.groupId}/lag-summary`),
  });
  // A partition that no longer exists shows its committed offset as the end (lag 0).
  // Only the topics the principal may describe, as Kafka's OffsetFetch of a whole group.
  const lags = (c: Context, g: NonNullable<ReturnType<typeof svc.groups.group>>) =>
    groupLags(svc, g.offsets, (t) => httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.TOPIC, t)).map((x) => ({
      topic: x.topic,
      partition: x.partition,
      current: x.committed,
      end: x.end ?? x.committed,
      lag: x.lag ?? 0,
    }));
  app.get(
    "/v3/clusters/:cluster/consumer-groups",
    route((c) =>
      list(
        c,
        "KafkaConsumerGroupList",
        "/consumer-groups",
        svc.groups.listGroups([], []).map((x) => svc.groups.group(x.groupId)!).filter((g) =>
          httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId)
        ).map((g) => groupView(c, g)),
      )
    ),
  );
  app.get("/v3/clusters/:cluster/consumer-groups/:group", route((c) => c.json(groupView(c, groupOf(c)))));
  app.get(
    "/v3/clusters/:cluster/consumer-groups/:group/consumers",
    route((c) => {
      const g = groupOf(c);
      return list(
        c,
        "KafkaConsumerList",
        `/consumer-groups/${g.groupId}/consumers`,
        [...g.members.values()].map((m) => ({
          kind: "KafkaConsumer",
          metadata: meta(
            c,
            `/consumer-groups/${g.groupId}/consumers/${m.memberId}`,
            `/consumer-group=${g.groupId}/consumer=${m.memberId}`,
          ),
          cluster_id: id(),
          consumer_group_id: g.groupId,
          consumer_id: m.memberId,
          instance_id: ("instanceId" in m ? m.instanceId : null) ?? null,
          client_id: m.clientId,
          assignments: rel(c, `/consumer-groups/${g.groupId}/consumers/${m.memberId}/assignments`),
        })),
      );
    }),
  );
  app.get(
    "/v3/clusters/:cluster/consumer-groups/:group/lag-summary",
    route((c) => {
      const g = groupOf(c);
      const all = lags(c, g);
      const max = all.reduce((a, b) => (b.lag > a.lag ? b : a), {
        topic: "",
        partition: -1,
        current: 0,
        end: 0,
        lag: 0,
      });
      return c.json({
        kind: "KafkaConsumerGroupLagSummary",
        metadata: meta(c, `/consumer-groups/${g.groupId}/lag-summary`, `/consumer-group=${g.groupId}/lag-summary`),
        cluster_id: id(),
        consumer_group_id: g.groupId,
        max_lag_consumer_id: "",
        max_lag_instance_id: null,
        max_lag_client_id: "",
        max_lag_topic_name: max.topic,
        max_lag_partition_id: max.partition,
        max_lag: max.lag,
        total_lag: all.reduce((n, x) => n + x.lag, 0),
        max_lag_consumer: rel(c, `/consumer-groups/${g.groupId}/consumers/`),
        max_lag_partition: rel(c, `/topics/${max.topic}/partitions/${max.partition}`),
      });
    }),
  );
  const lagView = (c: Context, groupId: string, x: ReturnType<typeof lags>[number]) => ({
    kind: "KafkaConsumerLag",
    metadata: meta(
      c,
      `/consumer-groups/${groupId}/lags/${x.topic}/partitions/${x.partition}`,
      `/consumer-group=${groupId}/lag=${x.topic}/partition=${x.partition}`,
    ),
    cluster_id: id(),
    consumer_group_id: groupId,
    topic_name: x.topic,
    partition_id: x.partition,
    current_offset: x.current,
    log_end_offset: x.end,
    lag: x.lag,
    consumer_id: "",
    instance_id: null,
    client_id: "",
  });
  app.get(
    "/v3/clusters/:cluster/consumer-groups/:group/lags",
    route((c) => {
      const g = groupOf(c);
      return list(
        c,
        "KafkaConsumerLagList",
        `/consumer-groups/${g.groupId}/lags`,
        lags(c, g).map((x) => lagView(c, g.groupId, x)),
      );
    }),
  );
  app.get(
    "/v3/clusters/:cluster/consumer-groups/:group/lags/:topic/partitions/:partition",
    route((c) => {
      const g = groupOf(c);
      const x = lags(c, g).find((x) =>
        x.topic === c.req.param("topic") && String(x.partition) === c.req.param("partition")
      );
      if (!x) throw new V3Error(404, "Consumer lag not found.");
      return c.json(lagView(c, g.groupId, x));
    }),
  );

  // ---- ACLs ----
  const aclView = (c: Context, b: AclBinding) => ({
    kind: "KafkaAcl",
    metadata: { self: `${base(c)}/acls` },
    cluster_id: id(),
    resource_type: enumName(ResourceType, b.resourceType),
    resource_name: b.resourceName,
    pattern_type: enumName(PatternType, b.patternType),
    principal: b.principal,
    host: b.host,
    operation: enumName(AclOperation, b.operation),
    permission: enumName(AclPermission, b.permissionType),
  });
  const aclFromQuery = (q: Record<string, string | undefined>) => ({
    resourceType: q.resource_type
      ? ResourceType[q.resource_type.toUpperCase() as keyof typeof ResourceType] ?? -1
      : ResourceType.ANY,
    resourceName: q.resource_name ?? null,
    patternType: q.pattern_type
      ? PatternType[q.pattern_type.toUpperCase() as keyof typeof PatternType] ?? -1
      : PatternType.ANY,
    principal: q.principal ?? null,
    host: q.host ?? null,
    operation: q.operation
      ? AclOperation[q.operation.toUpperCase() as keyof typeof AclOperation] ?? -1
      : AclOperation.ANY,
    permissionType: q.permission
      ? AclPermission[q.permission.toUpperCase() as keyof typeof AclPermission] ?? -1
      : AclPermission.ANY,
  });
  app.get(
    "/v3/clusters/:cluster/acls",
    route((c) => {
      need(httpClusterAllowed(svc, c, AclOperation.DESCRIBE));
      if (!svc.acls.enabled) throw new V3Error(400, "No Authorizer is configured.");
      return list(c, "KafkaAclList", "/acls", svc.acls.describe(aclFromQuery(c.req.query())).map((b) => aclView(c, b)));
    }),
  );
  app.post(
    "/v3/clusters/:cluster/acls",
    route(async (c) => {
      need(httpClusterAllowed(svc, c, AclOperation.ALTER));
      if (!svc.acls.enabled) throw new V3Error(400, "No Authorizer is configured.");
      const b = await body(c) as Record<string, string | undefined>;
      const q = aclFromQuery(b);
      const errors = await svc.acls.create([{
        resourceType: q.resourceType,
        resourceName: q.resourceName ?? "",
        patternType: q.patternType === PatternType.ANY ? PatternType.LITERAL : q.patternType,
        principal: q.principal ?? "",
        host: q.host ?? "*",
        operation: q.operation,
        permissionType: q.permissionType,
      }]);
      if (errors[0]) throw new V3Error(400, errors[0]);
      return c.body(null, 201);
    }),
  );
  app.delete(
    "/v3/clusters/:cluster/acls",
    route(async (c) => {
      need(httpClusterAllowed(svc, c, AclOperation.ALTER));
      if (!svc.acls.enabled) throw new V3Error(400, "No Authorizer is configured.");
      const [result] = await svc.acls.delete([aclFromQuery(c.req.query())]);
      if ("error" in result) throw new V3Error(400, result.error);
      return list(c, "KafkaAclList", "/acls", result.removed.map((b) => aclView(c, b)));
    }),
  );
}

const MAX_OBJECT_CHARS = 64 << 20;

/**
 * Splits a body of concatenated JSON objects (v3's streaming produce) as it arrives: push() gives the
 * objects completed by a chunk, an Error for bytes that are not a JSON object.
 */
class JsonObjectSplitter {
  private buf = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  push(text: string): Record<string, unknown>[] | Error {
    this.buf += text;
    const out: Record<string, unknown>[] = [];
    let i = this.scanned;
    for (; i < this.buf.length; i++) {
      const ch = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === "\\") this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === "{") {
        if (this.depth++ === 0) this.start = i;
      } else if (ch === "}") {
        if (--this.depth === 0) {
          try {
            out.push(JSON.parse(this.buf.slice(this.start, i + 1)));
          } catch (e) {
            return e instanceof Error ? e : new Error(String(e));
          }
          this.buf = this.buf.slice(i + 1);
          i = -1;
        } else if (this.depth < 0) return new Error("unbalanced }");
      } else if (this.depth === 0 && !/\s/.test(ch)) return new Error(`unexpected ${JSON.stringify(ch)}`);
    }
    this.scanned = i;
    // One record's JSON is bounded (as /v1's body): an object that never closes cannot hold memory.
    if (this.buf.length > MAX_OBJECT_CHARS) return new Error(`a record over ${MAX_OBJECT_CHARS} characters`);
    return out;
  }

  end(): Record<string, unknown>[] | Error {
    return this.depth !== 0 || this.inString ? new Error("the body ends inside an object") : [];
  }
}
