// The REST proxy's produce applies the checks Produce applies (issue #14.4, #13.6): a null key on a
// compacted topic and a timestamp outside the topic's bounds get Kafka's error codes per record.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { startHttpBroker } from "../helpers/http.ts";

let broker: Broker & { lines: string[] };
let base = "";
beforeAll(async () => {
  ({ broker, base } = await startHttpBroker());
  await broker.services.topics.create("rest-compact", 1, new Map([["cleanup.policy", "compact"]]));
  await broker.services.topics.create("rest-ts", 1, new Map());
});
afterAll(async () => {
  await broker.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.json());

test("null key on a compacted topic: INVALID_RECORD; with a key: stored", async () => {
  const bad = await post("/v1/topics/rest-compact/records", { records: [{ key: null, value: 1 }] });
  expect(bad.offsets[0]).toMatchObject({ offset: null, error_code: ErrorCode.INVALID_RECORD });
  expect(bad.offsets[0].error).toContain("Compacted topic cannot accept message without key");
  const ok = await post("/v1/topics/rest-compact/records", { records: [{ key: "k", value: 1 }] });
  expect(ok.offsets[0]).toMatchObject({ offset: 0, error_code: null });
});

test("a timestamp two hours ahead: INVALID_TIMESTAMP (message.timestamp.after.max.ms, one hour)", async () => {
  const bad = await post("/v1/topics/rest-ts/records", {
    records: [{ value: 1, timestamp: Date.now() + 2 * 3600_000 }],
  });
  expect(bad.offsets[0]).toMatchObject({ offset: null, error_code: ErrorCode.INVALID_TIMESTAMP });
  const ok = await post("/v1/topics/rest-ts/records", { records: [{ value: 1, timestamp: Date.now() - 1000 }] });
  expect(ok.offsets[0]).toMatchObject({ offset: 0, error_code: null });
});
