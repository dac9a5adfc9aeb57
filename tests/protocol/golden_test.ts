// Request frames captured from real clients by scripts/capture_golden.ts (see each JSON file's
// `client` and `note`): kafkajs 2.2.4 and kcat 1.7.1 / librdkafka 2.0.2. Each frame is the request
// without its 4-byte size prefix. Decoding must give the values the client sent, and re-encoding
// the decoded body must reproduce the client's bytes exactly.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeRequest, decodeVersionedData, encodeRequest } from "../../src/protocol/codec.ts";
import { readRequestHeader, type RequestHeader, requestHeaderVersion } from "../../src/protocol/header.ts";
import {
  APIS,
  type ApiVersionsRequest,
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
  type FindCoordinatorRequest,
  type JoinGroupRequest,
  type MetadataRequest,
  type ProduceRequest,
  type SyncGroupRequest,
} from "../../src/protocol/messages/index.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { concatChunks, Writer } from "../../src/protocol/writer.ts";

type Golden = { client: string; note: string; frames: { apiKey: number; apiVersion: number; hex: string }[] };

function load(name: string): Golden {
  return JSON.parse(readFileSync(join(import.meta.dir, "golden", `${name}.json`), "utf8"));
}

const fromHex = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

type Decoded = { header: RequestHeader; body: any };

function decodeAll(g: Golden): Decoded[] {
  return g.frames.map((f) => {
    const bytes = fromHex(f.hex);
    const r = new Reader(bytes);
    const header = readRequestHeader(r);
    expect(header.apiKey).toBe(f.apiKey);
    expect(header.apiVersion).toBe(f.apiVersion);
    const api = APIS.get(header.apiKey)!;
    const bodyStart = r.pos;
    const body = decodeRequest(api, header.apiVersion, r);
    expect(r.remaining).toBe(0);
    // Canonical re-encoding reproduces the client's bytes.
    const w = new Writer();
    encodeRequest(api, header.apiVersion, body, w);
    expect(concatChunks(w.finish())).toEqual(bytes.subarray(bodyStart));
    return { header, body };
  });
}

/** Record batch v2 sanity: magic byte at offset 16, and the value text somewhere inside. */
function expectBatch(records: Uint8Array, value: string) {
  expect(records[16]).toBe(2);
  expect(text(records)).toContain(value);
}

describe("golden: kafkajs producer", () => {
  const g = load("kafkajs");
  test(g.client, () => {
    expect(g.client).toBe("kafkajs 2.2.4");
    const [av, md, pr] = decodeAll(g);
    expect(av.header).toEqual({ apiKey: 18, apiVersion: 2, correlationId: 0, clientId: "golden-kafkajs" });
    expect(requestHeaderVersion(18, 2)).toBe(1);
    expect(av.body as ApiVersionsRequest).toEqual({ clientSoftwareName: "", clientSoftwareVersion: "" });

    expect(md.header.apiVersion).toBe(6);
    const m = md.body as MetadataRequest;
    expect(m.topics!.map((t) => t.name)).toEqual(["golden-topic"]);
    expect(m.allowAutoTopicCreation).toBe(false);

    expect(pr.header).toEqual({ apiKey: 0, apiVersion: 7, correlationId: 2, clientId: "golden-kafkajs" });
    const p = pr.body as ProduceRequest;
    expect(p.transactionalId).toBeNull();
    expect(p.acks).toBe(1);
    expect(p.timeoutMs).toBe(30000);
    expect(p.topicData[0].name).toBe("golden-topic");
    expect(p.topicData[0].partitionData[0].index).toBe(0);
    expectBatch(p.topicData[0].partitionData[0].records!, "hello from kafkajs");
  });
});

describe("golden: kafkajs consumer group", () => {
  const g = load("kafkajs_consumer");
  test(g.client, () => {
    const frames = decodeAll(g);
    const fc = frames.find((f) => f.header.apiKey === 10)!;
    expect(fc.header.apiVersion).toBe(2);
    expect(fc.body as FindCoordinatorRequest).toEqual({ key: "golden-group", keyType: 0, coordinatorKeys: [] });

    const jg = frames.find((f) => f.header.apiKey === 11)!;
    expect(jg.header.apiVersion).toBe(5);
    const j = jg.body as JoinGroupRequest;
    expect(j.groupId).toBe("golden-group");
    expect(j.sessionTimeoutMs).toBe(30000);
    expect(j.rebalanceTimeoutMs).toBe(60000);
    expect(j.memberId).toBe("");
    expect(j.groupInstanceId).toBeNull();
    expect(j.protocolType).toBe("consumer");
    expect(j.protocols.map((p) => p.name)).toEqual(["RoundRobinAssigner"]);
    const sub = decodeVersionedData(ConsumerProtocolSubscriptionSchema, j.protocols[0].metadata);
    expect(sub.version).toBe(0);
    expect(sub.value.topics).toEqual(["golden-topic"]);
    expect(sub.value.userData).toEqual(new Uint8Array(0));

    const sg = frames.find((f) => f.header.apiKey === 14)!;
    expect(sg.header.apiVersion).toBe(3);
    const s = sg.body as SyncGroupRequest;
    expect(s.generationId).toBe(1);
    expect(s.memberId).toBe("member-1");
    expect(s.assignments[0].memberId).toBe("member-1");
    const asg = decodeVersionedData(ConsumerProtocolAssignmentSchema, s.assignments[0].assignment);
    expect(asg.version).toBe(0);
    expect(asg.value.assignedPartitions).toEqual([{ topic: "golden-topic", partitions: [0] }]);
  });
});

describe("golden: kcat / librdkafka", () => {
  test("kcat -L", () => {
    const g = load("kcat_metadata");
    expect(g.client).toContain("librdkafka 2.0.2");
    const [av, md1, md2] = decodeAll(g);
    expect(av.header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: "golden-kcat" });
    expect(requestHeaderVersion(18, 3)).toBe(2);
    expect(av.body as ApiVersionsRequest).toEqual({ clientSoftwareName: "librdkafka", clientSoftwareVersion: "2.0.2" });
    expect(md1.header.apiVersion).toBe(4);
    expect((md1.body as MetadataRequest).topics).toEqual([]);
    expect((md2.body as MetadataRequest).topics).toBeNull();
    expect((md2.body as MetadataRequest).allowAutoTopicCreation).toBe(true);
  });

  test("kcat -P", () => {
    const g = load("kcat_produce");
    const frames = decodeAll(g);
    const pr = frames.find((f) => f.header.apiKey === 0)!;
    expect(pr.header.clientId).toBe("golden-kcat");
    expect(pr.header.apiVersion).toBe(7);
    const p = pr.body as ProduceRequest;
    expect(p.acks).toBe(-1);
    expect(p.topicData[0].name).toBe("golden-topic");
    const records = p.topicData[0].partitionData[0].records!;
    expectBatch(records, "hello from kcat");
    // Zero copy: the records view aliases the frame buffer.
    expect(records.byteOffset).toBeGreaterThan(0);
  });
});
