// REST Proxy protobuf with types from elsewhere: a schema that imports another registered schema (a
// registry reference) and protobuf's well-known types (wrappers, Any, Timestamp, Duration), produced
// from protobuf's JSON mapping through v2 and v3, checked by decoding the stored bytes with protobufjs,
// and read back as JSON by a v2 consumer instance in the protobuf format.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import protobuf from "protobufjs";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { httpBase, httpJson } from "../helpers/http.ts";

let broker: Broker & { lines: string[] };
let base = "";
let v3 = "";
const call = (method: string, path: string, body?: unknown, type = "application/json") =>
  httpJson(method, `${base}${path}`, body, { type });
const V2 = "application/vnd.kafka.v2+json";
const PROTO2 = "application/vnd.kafka.protobuf.v2+json";

const COMMON = `syntax = "proto3";
package common;
message Money { string currency = 1; int64 units = 2; }
enum Level { LOW = 0; HIGH = 1; }`;
const PAYMENT = `syntax = "proto3";
package shop;
import "common.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/any.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
message Payment {
  common.Money amount = 1;
  google.protobuf.Int32Value retries = 2;
  google.protobuf.StringValue note = 3;
  google.protobuf.Any detail = 4;
  google.protobuf.Timestamp at = 5;
  google.protobuf.Duration took = 6;
  .common.Level level = 7;
  repeated google.protobuf.Any extras = 8;
  google.protobuf.Int64Value big = 9;
}`;
const payment = {
  amount: { currency: "EUR", units: "12" },
  retries: 3,
  note: "hello",
  detail: { "@type": "type.googleapis.com/common.Money", currency: "USD", units: "5" },
  at: "2026-12-03T10:20:30.250Z",
  took: "1.5s",
  level: "HIGH",
  extras: [{ "@type": "type.googleapis.com/google.protobuf.Int32Value", value: 7 }],
  big: "9007199254740993",
};

let Payment: protobuf.Type;
let paymentId = 0;

beforeAll(async () => {
  broker = await testBroker({ "chronik.http.port": 0 });
  base = await httpBase(() => broker.lines.join("\n"));
  v3 = `/v3/clusters/${broker.services.clusterId}`;
  const common = await call("POST", "/subjects/common/versions", { schemaType: "PROTOBUF", schema: COMMON });
  expect(common.status).toBe(200);
  const reg = await call("POST", "/subjects/payments-value/versions", {
    schemaType: "PROTOBUF",
    schema: PAYMENT,
    references: [{ name: "common.proto", subject: "common", version: 1 }],
  });
  expect(reg.status).toBe(200);
  paymentId = reg.json.id as number;
  // protobufjs knows the well-known types; the referenced file is parsed into the same root.
  const root = new protobuf.Root();
  for (const f of ["wrappers", "any", "timestamp", "duration"]) {
    root.addJSON(protobuf.common.get(`google/protobuf/${f}.proto`)!.nested!);
  }
  protobuf.parse(COMMON, root);
  protobuf.parse(PAYMENT, root);
  root.resolveAll();
  Payment = root.lookupType("shop.Payment");
});
afterAll(async () => {
  await broker.close();
});

/** The first `n` values of a topic as a v2 consumer instance of `format` reads them. */
async function consume(topic: string, format: string, n: number): Promise<unknown[]> {
  const group = `${topic}-${format}`;
  await call("POST", `/consumers/${group}`, { name: "c", format, "auto.offset.reset": "earliest" }, V2);
  await call("POST", `/consumers/${group}/instances/c/subscription`, { topics: [topic] }, V2);
  const seen: unknown[] = [];
  for (let i = 0; i < 20 && seen.length < n; i++) {
    const r = await call("GET", `/consumers/${group}/instances/c/records?timeout=300`);
    for (const x of r.json as unknown as { value: unknown }[]) seen.push(x.value);
  }
  await call("DELETE", `/consumers/${group}/instances/c`);
  return seen;
}

/** The stored values of a topic, decoded with protobufjs as plain objects. */
async function stored(topic: string, n: number): Promise<Record<string, unknown>[]> {
  return (await consume(topic, "binary", n)).map((b64) => {
    const v = Uint8Array.from(atob(b64 as string), (ch) => ch.charCodeAt(0));
    // Confluent's wire format: magic 0, the schema id, message indexes [0] as a single 0.
    expect([v[0], new DataView(v.buffer).getInt32(1), v[5]]).toEqual([0, paymentId, 0]);
    return Payment.toObject(Payment.decode(v.subarray(6)), { longs: String, enums: String }) as Record<
      string,
      unknown
    >;
  });
}

describe("protobuf with imported and well-known types", () => {
  test("v2 and v3 produce write what protobufjs decodes; a v2 consumer reads the JSON mapping back", async () => {
    const r2 = await call(
      "POST",
      "/topics/payments",
      { value_schema_id: paymentId, records: [{ value: payment }] },
      PROTO2,
    );
    expect(r2.json.offsets).toEqual([{ partition: 0, offset: 0, error_code: null, error: null }]);
    const r3 = await call("POST", `${v3}/topics/payments/records`, { value: { schema_id: paymentId, data: payment } });
    expect(r3.json).toMatchObject({ error_code: 200, offset: 1 });

    const [a, b] = await stored("payments", 2);
    expect(a).toEqual(b);
    expect(a).toMatchObject({
      amount: { currency: "EUR", units: "12" },
      retries: { value: 3 },
      note: { value: "hello" },
      at: { seconds: String(Date.parse("2026-12-03T10:20:30Z") / 1000), nanos: 250_000_000 },
      took: { seconds: "1", nanos: 500_000_000 },
      level: "HIGH",
      big: { value: "9007199254740993" },
    });
    const detail = a.detail as { type_url: string; value: Uint8Array };
    expect(detail.type_url).toBe("type.googleapis.com/common.Money");
    const Money = Payment.root.lookupType("common.Money");
    expect(Money.toObject(Money.decode(detail.value), { longs: String })).toEqual({ currency: "USD", units: "5" });

    // Timestamps and durations come back with 0, 3, 6 or 9 fractional digits (protobuf's JSON printers).
    const back = { ...payment, took: "1.500s" };
    expect(await consume("payments", "protobuf", 2)).toEqual([back, back]);
  }, 30_000);

  test("data a well-known type cannot take, or an Any of an unknown type, is refused with a message", async () => {
    for (
      const [value, message] of [
        [{ at: "yesterday" }, "RFC 3339"],
        [{ took: "5 minutes" }, "duration"],
        [{ detail: { "@type": "type.googleapis.com/nope.Missing" } }, "nope.Missing"],
        [{ retries: "three" }, "integer"],
      ] as const
    ) {
      const r = await call("POST", "/topics/payments", { value_schema_id: paymentId, records: [{ value }] }, PROTO2);
      expect([r.status, r.json.error_code]).toEqual([422, 42203]);
      expect(String(r.json.message)).toContain(message);
    }
  });
});
