// Confluent REST Proxy API v2 at its own paths: produce to a topic or a partition with the
// embedded formats of its content types (application/vnd.kafka.{json,binary,avro,jsonschema,protobuf}.v2+json),
// and topic metadata. Avro, JSON Schema and Protobuf values are serialized with the schema registry
// in Confluent's wire format (serialize.ts); a schema given inline is registered under
// <topic>-key / <topic>-value first (TopicNameStrategy). Errors use Confluent's codes
// (confluent_errors.ts); consumer instances (/consumers/...) are in consumers.ts.
import type { Context, Hono } from "hono";
import { AclOperation, ResourceType } from "../broker/auth/acl.ts";
import { AvroSchemaError } from "../broker/registry/avro.ts";
import { RegistryError } from "../broker/registry/registry.ts";
import type { Services } from "../broker/services.ts";
import type { Topic } from "../broker/topics.ts";
import type { RecordInput } from "../protocol/record_batch.ts";
import { base64ToBytes } from "./base64.ts";
import { defaultPartition } from "./murmur2.ts";
import { SerializeError, serializeWithSchema } from "./serialize.ts";
import { confluentProduceCode } from "./confluent_errors.ts";
import { appendRecords, type PendingRecord, produceTopic } from "./rest.ts";
import { httpAllowed, type HttpEnv } from "./security.ts";

const V2 = "application/vnd.kafka.v2+json";
const utf8 = new TextEncoder();

/** A v2 answer (here and for consumer instances): JSON in v2's content type; 204 has no body. */
export function v2Reply(c: Context, body: unknown, status = 200): Response {
  return status === 204 ? c.body(null, 204) : c.body(JSON.stringify(body), status as 200, { "content-type": V2 });
}

function v2Error(c: Context, status: number, code: number, message: string): Response {
  return v2Reply(c, { error_code: code, message }, status);
}

/** A v2 error answer thrown from inside a route: HTTP status, Confluent's error_code, message. */
export class V2Error extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }

  reply(c: Context): Response {
    return v2Error(c, this.status, this.code, this.message);
  }
}

function fromBase64(s: unknown, what: string): Uint8Array {
  if (typeof s !== "string") throw new V2Error(422, 42201, `${what} must be base64 text`);
  try {
    return base64ToBytes(s);
  } catch {
    throw new V2Error(422, 42201, `${what} is not valid base64`);
  }
}

export function confluentV2Routes(app: Hono<HttpEnv>, svc: Services): void {
  const roundRobin = new Map<string, number>();

  /** The schema id for key or value: given, or the inline schema registered under the topic's subject. */
  async function schemaId(
    body: Record<string, unknown>,
    which: "key" | "value",
    topic: string,
    schemaType: string,
  ): Promise<number | null> {
    const id = body[`${which}_schema_id`];
    if (typeof id === "number") return id;
    const schema = body[`${which}_schema`];
    if (typeof schema !== "string") return null;
    return await svc.registry.register(`${topic}-${which}`, { schema, schemaType });
  }

  async function produce(c: Context, partitionParam: string | undefined) {
    const name = c.req.param("topic") ?? "";
    const type = (c.req.header("content-type") ?? "").toLowerCase();
    const m = /^application\/vnd\.kafka\.(json|binary|avro|jsonschema|protobuf)\.v2\+json/.exec(type);
    const format = m ? m[1] : /^application\/(vnd\.kafka\.v2\+)?json/.test(type) ? "json" : null;
    if (!format) return v2Error(c, 415, 415, `Unsupported content type ${type}`);
    if (!httpAllowed(svc, c, AclOperation.WRITE, ResourceType.TOPIC, name)) {
      return v2Error(c, 403, 40301, `Not authorized to access topics: [${name}]`);
    }
    let body: Record<string, unknown>;
    try {
      body = await c.req.json();
    } catch {
      return v2Error(c, 400, 400, "The request body is not JSON");
    }
    const topic = await produceTopic(svc, c, name);
    if ("errorCode" in topic) return v2Error(c, topic.status, topic.errorCode, topic.message);
    try {
      const schemaType = format === "avro" ? "AVRO" : format === "protobuf" ? "PROTOBUF" : "JSON";
      const schemaBased = format === "avro" || format === "jsonschema" || format === "protobuf";
      const keySchemaId = schemaBased ? await schemaId(body, "key", name, schemaType) : null;
      const valueSchemaId = schemaBased ? await schemaId(body, "value", name, schemaType) : null;
      if (schemaBased && valueSchemaId === null && keySchemaId === null) {
        throw new V2Error(
          422,
          42205,
          "Request includes neither key nor value schema (value_schema or value_schema_id)",
        );
      }
      const encode = (v: unknown, id: number | null, what: string): Uint8Array | null => {
        if (v === undefined || v === null) return null;
        switch (format) {
          case "binary":
            return fromBase64(v, what);
          case "json":
            return utf8.encode(JSON.stringify(v));
          default:
            if (id === null) throw new V2Error(422, 42205, `${what} has no schema`);
            try {
              return serializeWithSchema(svc, id, v, schemaType);
            } catch (e) {
              if (e instanceof SerializeError) throw new V2Error(422, 42203, `${what}: ${e.message}`);
              throw e;
            }
        }
      };
      const records = body.records;
      if (!Array.isArray(records) || records.length === 0) {
        throw new V2Error(422, 42201, "records must be a non-empty array");
      }
      const pending = records.map((raw, index): PendingRecord => {
        const r = (raw ?? {}) as { key?: unknown; value?: unknown; partition?: unknown };
        const key = encode(r.key, keySchemaId, `records[${index}].key`);
        const value = encode(r.value, valueSchemaId, `records[${index}].value`);
        const partition = place(topic, partitionParam ?? r.partition, key, roundRobin);
        const input: RecordInput = { key, value, headers: [] };
        return { index, partition, input };
      });
      const out = await appendRecords(svc, topic, pending, false);
      // As Confluent's proxy: the request succeeds, each record says whether it was written, with
      // Confluent's error_code for the producer's exception (confluent_errors.ts).
      const offsets = out.map((o) =>
        o.error_code === null ? o : { ...o, error_code: confluentProduceCode(o.error_code) }
      );
      return v2Reply(c, { key_schema_id: keySchemaId, value_schema_id: valueSchemaId, offsets });
    } catch (e) {
      if (e instanceof V2Error) return e.reply(c);
      if (e instanceof RegistryError) return v2Error(c, e.status, e.code, e.message);
      if (e instanceof AvroSchemaError) return v2Error(c, 422, 42203, e.message);
      throw e;
    }
  }

  app.post("/topics/:topic", (c) => produce(c, undefined));
  app.post("/topics/:topic/partitions/:partition", (c) => produce(c, c.req.param("partition")));

  app.get("/topics", (c) =>
    v2Reply(
      c,
      [...svc.topics.list()].filter((t) => httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name))
        .map((t) => t.name).sort(),
    ));
  app.get("/topics/:topic", (c) => {
    const name = c.req.param("topic");
    // Authorization before existence (Kafka): a refusal says nothing of whether the topic exists.
    if (!httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) {
      return v2Error(c, 403, 40301, `Not authorized to access topics: [${name}]`);
    }
    const t = svc.topics.get(name);
    if (!t) return v2Error(c, 404, 40401, "Topic not found.");
    const node = svc.config.nodeId;
    return v2Reply(c, {
      name: t.name,
      configs: Object.fromEntries(t.configs),
      partitions: t.partitions.map((_, i) => ({
        partition: i,
        leader: node,
        replicas: [{ broker: node, leader: true, in_sync: true }],
      })),
    });
  });
}

function place(topic: Topic, given: unknown, key: Uint8Array | null, roundRobin: Map<string, number>): number {
  const n = topic.partitions.length;
  if (given !== undefined && given !== null) {
    const p = Number(given);
    if (!Number.isInteger(p) || p < 0 || p >= n) throw new V2Error(404, 40402, "Partition not found.");
    return p;
  }
  return defaultPartition(topic.name, n, key, roundRobin);
}
