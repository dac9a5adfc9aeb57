// Issue #14.7's yielding must not cost Kafka's per-connection order. A Produce naming more than 1000
// partitions gives the event loop turns halfway through its entries (yield.ts); the requests
// pipelined behind it on its connection must still take effect after all of it, and every response
// must leave in request order. One connection writes 1,500 requests at once, mixing large-response
// APIs (Fetch, Metadata, ListOffsets... one at a time per connection) with small ones, and Produces
// of 2,000 partitions each followed at once by a Produce to the last of those partitions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import type { Broker } from "../../src/broker/broker.ts";
import { decodeResponse } from "../../src/protocol/codec.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { readResponseHeader } from "../../src/protocol/header.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { ListOffsets } from "../../src/protocol/messages/02_list_offsets.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { Reader } from "../../src/protocol/reader.ts";
import type { Api } from "../../src/protocol/schema.ts";
import { testBroker } from "../helpers/broker.ts";
import { frameReader } from "../helpers/frames.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { createTopic, fetchBody, frame } from "./harness.ts";

const WIDE = 2000;
const REQUESTS = 1500;
let broker: Broker;

beforeAll(async () => {
  broker = await testBroker({ logLevel: "info" });
  const c = await WireClient.connect(broker.port);
  expect((await createTopic(c, "wide", WIDE)).errorCode).toBe(ErrorCode.NONE);
  expect((await createTopic(c, "line")).errorCode).toBe(ErrorCode.NONE);
  c.close();
}, 60_000);
afterAll(async () => {
  await broker?.close();
});

const batch = (n: number) =>
  buildRecordBatch({ records: [{ key: null, value: new Uint8Array([n & 255]), timestamp: 0 }] });
const produce = (topic: string, partitions: number[], n: number) => ({
  transactionalId: null,
  acks: 1,
  timeoutMs: 5000,
  topicData: [{ name: topic, partitionData: partitions.map((index) => ({ index, records: batch(n) })) }],
});

type Sent = { api: Api<unknown, unknown>; version: number; kind: "wide" | "last" | "line" | "other" };

describe("per-connection order", () => {
  test("1,500 pipelined requests, some yielding halfway: effects and responses in request order", async () => {
    const all = Array.from({ length: WIDE }, (_, i) => i);
    const sent: Sent[] = [];
    const frames: Uint8Array[] = [];
    const add = (api: Api<any, any>, version: number, body: unknown, kind: Sent["kind"] = "other") => {
      sent.push({ api, version, kind });
      frames.push(frame(api, version, body, sent.length));
    };
    for (let i = 0; sent.length < REQUESTS; i++) {
      switch (i % 8) {
        case 0:
          if (i % 128 === 0) {
            // Yields after its first 1000 partitions; the next request names its last partition.
            add(Produce, 9, produce("wide", all, i), "wide");
            add(Produce, 9, produce("wide", [WIDE - 1], i), "last");
          } else add(Produce, 9, produce("line", [0], i), "line");
          break;
        case 1:
          add(Fetch, 11, fetchBody("line", 0, 0n, 1024));
          break;
        case 2:
          add(Metadata, 12, {
            topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "line" }],
            allowAutoTopicCreation: false,
            includeTopicAuthorizedOperations: false,
          });
          break;
        case 3:
          add(ApiVersions, 3, { clientSoftwareName: "order", clientSoftwareVersion: "1" });
          break;
        case 4:
          add(ListOffsets, 5, {
            replicaId: -1,
            isolationLevel: 0,
            topics: [{
              name: "line",
              partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
            }],
          });
          break;
        default:
          add(Produce, 9, produce("line", [0], i), "line");
      }
    }
    const s = await new Promise<ReturnType<typeof connect>>((resolve) => {
      const sock = connect({ port: broker.port, host: "127.0.0.1" }, () => resolve(sock));
    });
    const got: Uint8Array[] = [];
    const done = new Promise<void>((resolve, reject) => {
      s.on("error", reject);
      s.on("close", () => reject(new Error(`closed after ${got.length} responses`)));
      s.on(
        "data",
        frameReader((f) => {
          got.push(f);
          if (got.length === sent.length) resolve();
        }),
      );
    });
    // All at once: the broker reads them as fast as its bounds allow.
    let total = 0;
    for (const f of frames) total += f.length;
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const f of frames) {
      bytes.set(f, at);
      at += f.length;
    }
    s.write(bytes);
    await done;
    s.removeAllListeners("close");
    s.destroy();

    let lineOffset = -1n;
    let wideLast = -1n;
    let pairs = 0;
    for (let i = 0; i < got.length; i++) {
      const { api, version, kind } = sent[i];
      const r = new Reader(got[i]);
      // Responses in request order: correlation ids 1, 2, 3, ...
      expect(readResponseHeader(r, api.key, version).correlationId).toBe(i + 1);
      if (kind === "other") continue;
      const res = decodeResponse(Produce, version, r);
      const parts = res.responses!.flatMap((t) => t.partitionResponses!);
      for (const p of parts) expect(p.errorCode).toBe(ErrorCode.NONE);
      if (kind === "line") {
        // Appends in request order: each after the one before.
        expect(parts[0].baseOffset).toBeGreaterThan(lineOffset);
        lineOffset = parts[0].baseOffset!;
      } else if (kind === "wide") {
        expect(parts.length).toBe(WIDE);
        wideLast = parts.find((p) => p.index === WIDE - 1)!.baseOffset!;
      } else {
        // The small Produce behind the big one is appended after all of it.
        expect(parts[0].baseOffset).toBeGreaterThan(wideLast);
        pairs++;
      }
    }
    expect(pairs).toBeGreaterThan(5);
  }, 60_000);
});
