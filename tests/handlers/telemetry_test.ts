// Client telemetry (KIP-714) over TCP: a client-metrics subscription set as a CLIENT_METRICS config
// resource, GetTelemetrySubscriptions matching on the client id, PushTelemetry of a gzip-compressed
// OTLP payload (built here with a few lines of protobuf), its errors, and the pushed value on /metrics.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";
import { compress } from "../../src/protocol/compression/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { GetTelemetrySubscriptions } from "../../src/protocol/messages/71_get_telemetry_subscriptions.ts";
import { PushTelemetry } from "../../src/protocol/messages/72_push_telemetry.ts";
import { ListConfigResources } from "../../src/protocol/messages/74_list_config_resources.ts";
import { prometheus } from "../../src/http/prometheus.ts";
import { readOtlpMetrics } from "../../src/broker/telemetry/otlp.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

let broker: Broker;
let c: WireClient;
beforeAll(async () => {
  broker = await testBroker({});
  c = await WireClient.connect(broker.port);
});
afterAll(async () => {
  c.close();
  await broker.close();
});

// ---- a few lines of protobuf to build OTLP test payloads ----
const te = new TextEncoder();
function varint(n: number): number[] {
  const out = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (f: number, bytes: Uint8Array | number[]) => [...varint(f * 8 + 2), ...varint(bytes.length), ...bytes];
const str = (f: number, s: string) => field(f, te.encode(s));
function double(f: number, v: number) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return [...varint(f * 8 + 1), ...b];
}
const kv = (k: string, v: string) => field(7, [...str(1, k), ...field(2, str(1, v))]);
function gauge(name: string, value: number, attrs: Record<string, string>) {
  const point = [...Object.entries(attrs).flatMap(([k, v]) => kv(k, v)), ...double(4, value)];
  const metric = [...str(1, name), ...field(5, field(1, point))];
  return new Uint8Array(field(1, field(2, field(2, metric)))); // MetricsData.resource_metrics.scope_metrics.metrics
}

const PREFIX = "org.apache.kafka.producer.";

describe("client telemetry", () => {
  test("the OTLP reader reads what the builder wrote", () => {
    expect(readOtlpMetrics(gauge(`${PREFIX}x`, 1.5, { a: "b" }))).toEqual([
      { name: `${PREFIX}x`, attributes: { a: "b" }, value: 1.5 },
    ]);
  });

  test("an int64 attribute reads exactly, negative ones too", () => {
    const minus1 = [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // AnyValue.int_value = -1
    const point = [...field(7, [...str(1, "n"), ...field(2, minus1)]), ...double(4, 2)];
    const metric = [...str(1, `${PREFIX}y`), ...field(5, field(1, point))];
    expect(readOtlpMetrics(new Uint8Array(field(1, field(2, field(2, metric)))))).toEqual([
      { name: `${PREFIX}y`, attributes: { n: "-1" }, value: 2 },
    ]);
  });

  test("subscription, get, push, errors, /metrics", async () => {
    const set = await c.send(IncrementalAlterConfigs, 1, {
      resources: [{
        resourceType: 16,
        resourceName: "sub1",
        configs: [
          { name: "metrics", configOperation: 0, value: PREFIX },
          { name: "interval.ms", configOperation: 0, value: "60000" },
          { name: "match", configOperation: 0, value: "client_id=tele-.*" },
        ],
      }],
      validateOnly: false,
    });
    expect(set.responses![0].errorCode).toBe(ErrorCode.NONE);
    const bad = await c.send(IncrementalAlterConfigs, 1, {
      resources: [{
        resourceType: 16,
        resourceName: "sub2",
        configs: [{ name: "interval.ms", configOperation: 0, value: "5" }],
      }],
      validateOnly: false,
    });
    expect(bad.responses![0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const listed = await c.send(ListConfigResources, 1, { resourceTypes: [16] });
    expect(listed.configResources).toEqual([{ resourceName: "sub1", resourceType: 16 }]);

    // A client the subscription does not match is asked for nothing.
    const other = await c.send(GetTelemetrySubscriptions, 0, { clientInstanceId: ZERO_UUID }, "someone-else");
    expect(other.requestedMetrics).toEqual([]);

    const sub = await c.send(GetTelemetrySubscriptions, 0, { clientInstanceId: ZERO_UUID }, "tele-1");
    expect(sub.errorCode).toBe(ErrorCode.NONE);
    expect(sub.clientInstanceId).not.toBe(ZERO_UUID);
    expect(sub.requestedMetrics).toEqual([PREFIX]);
    expect(sub.pushIntervalMs).toBe(60000);
    expect(sub.acceptedCompressionTypes).toContain(1);
    const id = sub.clientInstanceId!;
    const payload = compress(1, gauge(`${PREFIX}record.send.rate`, 42.5, { "client.id": "tele-1" }));
    const push = (subscriptionId: number, terminating = false) =>
      c.send(PushTelemetry, 0, {
        clientInstanceId: id,
        subscriptionId,
        terminating,
        compressionType: 1,
        metrics: payload,
      }, "tele-1");
    expect((await push(sub.subscriptionId! + 1)).errorCode).toBe(ErrorCode.UNKNOWN_SUBSCRIPTION_ID);
    expect((await push(sub.subscriptionId!)).errorCode).toBe(ErrorCode.NONE);
    // Again before the interval: throttled.
    expect((await push(sub.subscriptionId!)).errorCode).toBe(ErrorCode.THROTTLING_QUOTA_EXCEEDED);
    const text = prometheus(broker.services);
    expect(text).toContain(`metric="${PREFIX}record.send.rate"`);
    expect(text).toMatch(/chronik_client_metric\{[^}]*client_id="tele-1"[^}]*\} 42\.5/);
    // A terminating push is always taken, and the client is forgotten.
    expect((await push(sub.subscriptionId!, true)).errorCode).toBe(ErrorCode.NONE);
    expect((await push(sub.subscriptionId!)).errorCode).toBe(ErrorCode.UNKNOWN_SUBSCRIPTION_ID);
  });
});
