// The schema registry: compatibility rules per schema type, the Confluent REST API (recorded
// request/response shapes from Confluent's API reference), persistence in `_schemas` across a
// restart, and @kafkajs/confluent-schema-registry end to end: register, produce encoded records
// with kafkajs, consume and decode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SchemaRegistry as RegistryClient, SchemaType } from "@kafkajs/confluent-schema-registry";
import type { Broker } from "../../src/broker/broker.ts";
import { avroIncompatibilities, parseAvro } from "../../src/broker/registry/avro.ts";
import { jsonIncompatibilities, parseJsonSchema } from "../../src/broker/registry/json_schema.ts";
import { parseProto, protoIncompatibilities } from "../../src/broker/registry/protobuf.ts";
import { startHttpBroker } from "../helpers/http.ts";
import { consumeCount, quietKafka } from "../helpers/kafkajs.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const record = (fields: unknown[]) => JSON.stringify({ type: "record", name: "User", namespace: "t", fields });
const V1 = record([{ name: "name", type: "string" }]);
const V2 = record([{ name: "name", type: "string" }, { name: "age", type: "int", default: 0 }]);
const V3_BAD = record([{ name: "name", type: "string" }, { name: "email", type: "string" }]);

describe("compatibility rules", () => {
  test("Avro: a field added with a default reads old data; without one it does not; promotions", () => {
    expect(avroIncompatibilities(parseAvro(V2), parseAvro(V1))).toEqual([]);
    expect(avroIncompatibilities(parseAvro(V3_BAD), parseAvro(V1))).toHaveLength(1);
    expect(avroIncompatibilities(parseAvro('"long"'), parseAvro('"int"'))).toEqual([]);
    expect(avroIncompatibilities(parseAvro('"int"'), parseAvro('"long"'))).toHaveLength(1);
    expect(avroIncompatibilities(parseAvro('["null","string"]'), parseAvro('"string"'))).toEqual([]);
    const e1 = '{"type":"enum","name":"E","symbols":["A","B"]}';
    const e2 = '{"type":"enum","name":"E","symbols":["A"]}';
    expect(avroIncompatibilities(parseAvro(e1), parseAvro(e2))).toEqual([]);
    expect(avroIncompatibilities(parseAvro(e2), parseAvro(e1))).toHaveLength(1);
  });

  test("JSON Schema: new required properties, closed content and narrowed types are incompatible", () => {
    const open = parseJsonSchema('{"type":"object","properties":{"a":{"type":"string"}}}');
    const required = parseJsonSchema('{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}');
    const narrowed = parseJsonSchema('{"type":"object","properties":{"a":{"type":"string","maxLength":3}}}');
    const wider = parseJsonSchema('{"type":"object","properties":{"a":{"type":["string","null"]}}}');
    expect(jsonIncompatibilities(wider, open)).toEqual([]);
    expect(jsonIncompatibilities(required, open)).toHaveLength(1);
    expect(jsonIncompatibilities(narrowed, open)).toHaveLength(1);
    expect(jsonIncompatibilities(parseJsonSchema('{"type":"number"}'), parseJsonSchema('{"type":"integer"}')))
      .toEqual([]);
    expect(jsonIncompatibilities(parseJsonSchema('{"type":"integer"}'), parseJsonSchema('{"type":"number"}')))
      .toHaveLength(1);
  });

  test("Protobuf: fields added and removed are fine; a type change or a removed message is not", () => {
    const v1 = parseProto('syntax = "proto3"; package p; message M { string a = 1; int32 b = 2; } message N {}');
    const added = parseProto('syntax = "proto3"; package p; message M { string a = 1; int64 b = 2; bool c = 3; }');
    const changed = parseProto('syntax = "proto3"; package p; message M { string a = 1; double b = 2; } message N {}');
    expect(protoIncompatibilities(added, v1)).toEqual(["MESSAGE_REMOVED: N"]);
    expect(protoIncompatibilities(changed, v1)).toEqual(["FIELD_SCALAR_KIND_CHANGED: M.b (2): int32 -> double"]);
    expect(() => parseProto("message {")).toThrow();
  });
});

let dir: string;
let broker: Broker & { lines: string[] };
let base: string;
const sr = (path: string, method = "GET", body?: unknown) =>
  fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/vnd.schemaregistry.v1+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "chronik-registry-"));
  ({ broker, base } = await startHttpBroker({ dataDir: dir }));
});
afterAll(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("REST API", () => {
  test("register, look up, versions, ids, compatibility, config, modes, deletes", async () => {
    expect(await sr("/schemas/types")).toEqual({ status: 200, body: ["AVRO", "JSON", "PROTOBUF"] });
    expect(await sr("/config")).toEqual({ status: 200, body: { compatibilityLevel: "BACKWARD" } });
    const one = await sr("/subjects/users-value/versions", "POST", { schema: V1 });
    expect(one).toEqual({ status: 200, body: { id: 1 } });
    // The same schema again (whitespace aside) keeps its id; under another subject too.
    expect(
      (await sr("/subjects/users-value/versions", "POST", { schema: JSON.stringify(JSON.parse(V1), null, 2) })).body,
    )
      .toEqual({ id: 1 });
    expect((await sr("/subjects/other-value/versions", "POST", { schema: V1 })).body).toEqual({ id: 1 });
    expect((await sr("/subjects/users-value/versions", "POST", { schema: V2 })).body).toEqual({ id: 2 });
    const bad = await sr("/subjects/users-value/versions", "POST", { schema: V3_BAD });
    expect(bad.status).toBe(409);
    expect(bad.body.error_code).toBe(409);
    const invalid = await sr("/subjects/users-value/versions", "POST", { schema: "{not json" });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error_code).toBe(42201);
    expect((await sr("/subjects")).body).toEqual(["other-value", "users-value"]);
    expect((await sr("/subjects/users-value/versions")).body).toEqual([1, 2]);
    expect((await sr("/subjects/users-value/versions/latest")).body).toEqual({
      subject: "users-value",
      version: 2,
      id: 2,
      schema: V2,
    });
    expect((await sr("/schemas/ids/1")).body).toEqual({ schema: V1 });
    expect((await sr("/schemas/ids/1/versions")).body).toEqual([
      { subject: "other-value", version: 1 },
      { subject: "users-value", version: 1 },
    ]);
    expect((await sr("/schemas/ids/99")).body.error_code).toBe(40403);
    expect((await sr("/subjects/nope/versions")).body.error_code).toBe(40401);
    expect((await sr("/subjects/users-value", "POST", { schema: V1 })).body).toMatchObject({ version: 1, id: 1 });
    expect((await sr("/compatibility/subjects/users-value/versions/latest", "POST", { schema: V3_BAD })).body)
      .toEqual({ is_compatible: false });
    expect(
      (await sr("/compatibility/subjects/users-value/versions/latest?verbose=true", "POST", { schema: V2 }))
        .body,
    ).toEqual({ is_compatible: true, messages: [] });
    // Per-subject NONE lets the incompatible schema in.
    expect((await sr("/config/users-value", "PUT", { compatibility: "NONE" })).body).toEqual({ compatibility: "NONE" });
    expect((await sr("/config/users-value")).body).toEqual({ compatibilityLevel: "NONE" });
    expect((await sr("/subjects/users-value/versions", "POST", { schema: V3_BAD })).body).toEqual({ id: 3 });
    expect((await sr("/config/users-value", "PUT", { compatibility: "SOMETIMES" })).body.error_code).toBe(42203);
    // JSON and Protobuf schemas.
    const json = await sr("/subjects/j-value/versions", "POST", {
      schemaType: "JSON",
      schema: '{"type":"object","properties":{"a":{"type":"string"}}}',
    });
    expect(json.body).toEqual({ id: 4 });
    expect((await sr("/schemas/ids/4")).body.schemaType).toBe("JSON");
    const proto = await sr("/subjects/p-value/versions", "POST", {
      schemaType: "PROTOBUF",
      schema: 'syntax = "proto3"; message M { string a = 1; }',
    });
    expect(proto.body).toEqual({ id: 5 });
    expect(
      (await sr("/subjects/p-value/versions", "POST", {
        schemaType: "PROTOBUF",
        schema: 'syntax = "proto3"; message M { int32 a = 1; }',
      })).status,
    ).toBe(409);
    // Modes.
    expect((await sr("/mode/p-value", "PUT", { mode: "READONLY" })).body).toEqual({ mode: "READONLY" });
    expect(
      (await sr("/subjects/p-value/versions", "POST", {
        schemaType: "PROTOBUF",
        schema: 'syntax = "proto3"; message M { string a = 1; string b = 2; }',
      })).body.error_code,
    ).toBe(42205);
    expect((await sr("/mode/p-value", "DELETE")).body).toEqual({ mode: "READONLY" });
    expect((await sr("/mode", "PUT", { mode: "IMPORT" })).body.error_code).toBe(42205); // not empty
    // Soft, then hard delete.
    expect((await sr("/subjects/other-value?permanent=true", "DELETE")).body.error_code).toBe(40405);
    expect((await sr("/subjects/other-value", "DELETE")).body).toEqual([1]);
    expect((await sr("/subjects")).body).not.toContain("other-value");
    expect((await sr("/subjects?deleted=true")).body).toContain("other-value");
    expect((await sr("/subjects/other-value?permanent=true", "DELETE")).body).toEqual([1]);
    expect((await sr("/subjects?deleted=true")).body).not.toContain("other-value");
  });

  test("state survives a restart (the _schemas topic)", async () => {
    await broker.close();
    ({ broker, base } = await startHttpBroker({ dataDir: dir }));
    expect((await sr("/subjects/users-value/versions")).body).toEqual([1, 2, 3]);
    expect((await sr("/config/users-value")).body).toEqual({ compatibilityLevel: "NONE" });
    expect((await sr("/subjects/users-value/versions", "POST", { schema: V2 })).body).toEqual({ id: 2 });
  });
});

describe("@kafkajs/confluent-schema-registry", () => {
  test("register, encode, produce with kafkajs, consume, decode", async () => {
    const registry = new RegistryClient({ host: base });
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: record([{ name: "name", type: "string" }, { name: "n", type: "int" }]) },
      { subject: "people-value" },
    );
    expect(id).toBeGreaterThan(0);
    const kafka = quietKafka(broker.port, "sr");
    const producer = kafka.producer();
    await producer.connect();
    const values = await Promise.all([1, 2, 3].map((n) => registry.encode(id, { name: `p${n}`, n })));
    await producer.send({ topic: "people", messages: values.map((value) => ({ value })) });
    await producer.disconnect();
    const read = await consumeCount(kafka, "people", 3, "sr-group");
    const seen = await Promise.all(read.map((r) => registry.decode(r.message.value!)));
    expect(seen).toEqual([{ name: "p1", n: 1 }, { name: "p2", n: 2 }, { name: "p3", n: 3 }]);
    expect(await registry.getLatestSchemaId("people-value")).toBe(id);
  }, 60_000);
});

describe("broker-side validation (confluent.value.schema.validation)", () => {
  test("a value without a registered schema id is refused; an encoded one is stored", async () => {
    const kafka = quietKafka(broker.port, "sv");
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: "validated", configEntries: [{ name: "confluent.value.schema.validation", value: "true" }] }],
    });
    await admin.disconnect();
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    let error: unknown = null;
    try {
      await producer.send({ topic: "validated", messages: [{ value: "plain text" }] });
    } catch (e) {
      error = e;
    }
    expect(String((error as Error)?.message ?? error)).toMatch(/invalid|record/i);
    const registry = new RegistryClient({ host: base });
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: V1 }, { subject: "validated-value" });
    const r = await producer.send({
      topic: "validated",
      messages: [{ value: await registry.encode(id, { name: "ok" }) }],
    });
    expect(r[0].errorCode).toBe(0);
    await producer.disconnect();
  }, 60_000);
});
