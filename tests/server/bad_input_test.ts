// Bad input never crashes the broker: each case gets Kafka's error or a closed connection with a
// log line, and the next client is served.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeResponse } from "../../src/protocol/codec.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

let broker: Awaited<ReturnType<typeof testBroker>>;
beforeAll(async () => {
  broker = await testBroker({ "socket.request.max.bytes": 1 << 20 });
});
afterAll(() => broker.close());

function frame(body: number[]): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

/** Request header v1: apiKey, apiVersion, correlationId, clientId "x". */
function header(apiKey: number, apiVersion: number, correlationId: number): number[] {
  return [apiKey >> 8, apiKey & 255, apiVersion >> 8, apiVersion & 255, 0, 0, 0, correlationId, 0, 1, 120];
}

async function stillServes() {
  const c = await WireClient.connect(broker.port);
  const r = await c.send(Metadata, 1, {
    topics: null,
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  expect(r.brokers!.length).toBe(1);
  c.close();
}

async function expectClosed(bytes: Uint8Array, logged: RegExp) {
  const c = await WireClient.connect(broker.port);
  c.writeRaw(bytes);
  await c.closed;
  expect(broker.lines.some((l) => logged.test(l))).toBe(true);
  await stillServes();
}

describe("bad input", () => {
  test("garbage bytes (an absurd frame length) close the connection", () =>
    expectClosed(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), /frame size/));
  test("a negative frame length", () =>
    expectClosed(new Uint8Array([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]), /frame size -16/));
  test("a frame over socket.request.max.bytes", () =>
    expectClosed(new Uint8Array([0x7f, 0, 0, 0]), /socket.request.max.bytes/));
  test("an unknown api key", () => expectClosed(frame(header(999, 0, 1)), /unknown api key 999/));
  test("an unsupported version of a known api", () =>
    expectClosed(frame(header(3, 99, 1)), /unsupported version 99 of api 3/));
  test("a truncated body", () => expectClosed(frame([...header(19, 1, 1), 0, 0, 0, 5]), /malformed CreateTopics v1/));
  test("a truncated header", () => expectClosed(frame([0, 3, 0]), /malformed request header/));
  test("an empty frame", () => expectClosed(frame([]), /malformed request header/));

  test("ApiVersions at an unknown version gets the v0 UNSUPPORTED_VERSION answer", async () => {
    const c = await WireClient.connect(broker.port);
    const got = c.expectFrame(7);
    c.writeRaw(frame(header(18, 77, 7)));
    const resp = await got;
    const r = new Reader(resp, 4); // v0 response header: correlation id only
    const body = decodeResponse(ApiVersions, 0, r);
    expect(body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(body.apiKeys!.find((k) => k.apiKey === 18)!.maxVersion).toBe(4);
    c.close();
  });

  test("a frame split into single bytes is reassembled", async () => {
    const c = await WireClient.connect(broker.port);
    const got = c.expectFrame(9);
    const bytes = frame([...header(18, 0, 9)]);
    for (const b of bytes) {
      c.writeRaw(new Uint8Array([b]));
      await Bun.sleep(1);
    }
    const resp = await got;
    expect(decodeResponse(ApiVersions, 0, new Reader(resp, 4)).errorCode).toBe(0);
    c.close();
  });

  test("many pipelined requests are answered in order", async () => {
    const c = await WireClient.connect(broker.port);
    const all = [];
    for (let i = 0; i < 500; i++) {
      all.push(c.send(ApiVersions, i % 4, { clientSoftwareName: "x", clientSoftwareVersion: "1" }));
    }
    const rs = await Promise.all(all);
    expect(rs.every((r) => r.errorCode === 0)).toBe(true);
    c.close();
  });
});
