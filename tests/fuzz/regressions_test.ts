// Minimal reproductions of handler bugs found by schema_fuzz_test.ts, each answered with Kafka's
// error code for that input instead of a handler exception (which closes the connection).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
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
