// Minimal reproductions of handler bugs found by schema_fuzz_test.ts, each answered with Kafka's
// error code for that input instead of a handler exception (which closes the connection).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { TransactionCoordinator } from "../../src/broker/txn/coordinator.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

let broker: Broker & { lines: string[] };
let c: WireClient;

beforeAll(async () => {
  broker = await testBroker();
  c = await WireClient.connect(broker.port);
});
afterAll(async () => {
  c.close();
  await broker.close();
});

const noErrors = () => expect(broker.lines.filter((l) => l.startsWith("error "))).toEqual([]);

test("Metadata v10-11: a null topic name or a topic id is INVALID_REQUEST (Kafka), not a failed encode", async () => {
  for (const v of [10, 11]) {
    const r = await c.send(Metadata, v, {
      topics: [{ topicId: "AB9dJwmZRau2oJgA9kz23g", name: null }, { topicId: ZERO_UUID, name: "x" }],
      allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    });
    expect(r.topics.map((t) => [t.name, t.errorCode])).toEqual([["", ErrorCode.INVALID_REQUEST], ["x", ErrorCode.INVALID_REQUEST]]);
  }
  noErrors();
});

test("txn markers: a partition deleted while its marker is appended is dropped (UNKNOWN_TOPIC_OR_PARTITION), not a storage error", async () => {
  const topics = new Map<string, { partitions: unknown[] }>();
  const log = {
    append() {
      topics.delete("gone"); // DeleteTopics closed the log under the append
      return Promise.reject(new Error("gone-0 is closed"));
    },
  };
  topics.set("gone", { partitions: [log] });
  const lines: string[] = [];
  const coordinator = new TransactionCoordinator({
    topics: topics as never, now: () => Date.now(), log: (level, m) => lines.push(`${level} ${m}`), maxTimeoutMs: 60000, checkIntervalMs: 60000,
  });
  try {
    const r = await coordinator.writeMarkers(1n, 0, true, 0, [{ topic: "gone", partition: 0 }]);
    expect([...r.values()]).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(lines.filter((l) => l.startsWith("error "))).toEqual([]);
  } finally {
    coordinator.close();
  }
});
