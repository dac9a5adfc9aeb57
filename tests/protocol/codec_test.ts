// Codec behaviour beyond round trips: exact bytes, tagged fields, defaults, nulls, pass-through
// chunks, data schemas.
import { describe, expect, test } from "bun:test";
import {
  decodeData,
  decodeRequest,
  decodeResponse,
  decodeVersionedData,
  encodeData,
  encodeRequest,
  encodeResponse,
  encodeVersionedData,
  ZERO_UUID,
} from "../../src/protocol/codec.ts";
import { CodecError } from "../../src/protocol/errors.ts";
import {
  ApiVersions,
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
  Fetch,
  type FetchResponse,
  Heartbeat,
  Metadata,
  Produce,
} from "../../src/protocol/messages/index.ts";
import { Reader } from "../../src/protocol/reader.ts";
import type { DataSchema } from "../../src/protocol/schema.ts";
import { concatChunks, Writer } from "../../src/protocol/writer.ts";
import { Sampler } from "./sample.ts";

const enc = (f: (w: Writer) => void) => {
  const w = new Writer();
  f(w);
  return concatChunks(w.finish());
};

describe("exact bytes", () => {
  test("Heartbeat v3 (classic) and v4 (flexible)", () => {
    const req = { groupId: "g", generationId: 2, memberId: "m", groupInstanceId: null };
    expect(enc((w) => encodeRequest(Heartbeat, 3, req, w))).toEqual(
      new Uint8Array([0, 1, 0x67, 0, 0, 0, 2, 0, 1, 0x6d, 0xff, 0xff]),
    );
    expect(enc((w) => encodeRequest(Heartbeat, 4, req, w))).toEqual(
      new Uint8Array([2, 0x67, 0, 0, 0, 2, 2, 0x6d, 0, 0]),
    );
    // v0 has no groupInstanceId: the field is skipped on encode, defaulted on decode.
    expect(enc((w) => encodeRequest(Heartbeat, 0, { ...req, groupInstanceId: "x" }, w))).toEqual(
      new Uint8Array([0, 1, 0x67, 0, 0, 0, 2, 0, 1, 0x6d]),
    );
    expect(decodeRequest(Heartbeat, 0, new Reader(new Uint8Array([0, 1, 0x67, 0, 0, 0, 2, 0, 1, 0x6d])))).toEqual(req);
  });

  test("ApiVersions v0 error response (what a server sends for an unknown version)", () => {
    expect(
      enc((w) =>
        encodeResponse(ApiVersions, 0, { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] }, w)
      ),
    )
      .toEqual(new Uint8Array([0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 4]));
  });

  test("empty response object encodes all defaults", () => {
    expect(enc((w) => encodeResponse(Heartbeat, 4, {}, w))).toEqual(new Uint8Array([0, 0, 0, 0, 0, 0, 0]));
    const r = decodeResponse(Fetch, 12, new Reader(enc((w) => encodeResponse(Fetch, 12, {}, w))));
    expect(r).toEqual({ throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [], nodeEndpoints: [] });
  });
});

describe("tagged fields", () => {
  const partition = (extra: object) => ({
    responses: [{ topic: "t", partitions: [{ partitionIndex: 0, records: new Uint8Array(0), ...extra }] }],
  });

  test("written only when different from the default", () => {
    const plain = enc((w) => encodeResponse(Fetch, 12, partition({}), w));
    const sameAsDefault = enc((w) =>
      encodeResponse(Fetch, 12, partition({ currentLeader: { leaderId: -1, leaderEpoch: -1 } }), w)
    );
    expect(sameAsDefault).toEqual(plain);
    const tagged = enc((w) =>
      encodeResponse(Fetch, 12, partition({ currentLeader: { leaderId: 5, leaderEpoch: 3 } }), w)
    );
    expect(tagged.length).toBeGreaterThan(plain.length);
    const back = decodeResponse(Fetch, 12, new Reader(tagged)) as FetchResponse;
    const p = back.responses![0].partitions![0];
    expect(p.currentLeader).toEqual({ leaderId: 5, leaderEpoch: 3 });
    expect(p.divergingEpoch).toEqual({ epoch: -1, endOffset: -1n }); // default struct filled
    expect(p.snapshotId).toEqual({ endOffset: -1n, epoch: -1 });
  });

  test("unknown tags are skipped, known tags decoded", () => {
    // Heartbeat v4 request with two tagged fields at top level: unknown tags 3 and 9.
    const b = new Uint8Array([2, 0x67, 0, 0, 0, 2, 2, 0x6d, 0, 2, 3, 1, 0xaa, 9, 2, 0xbb, 0xcc]);
    const r = new Reader(b);
    expect(decodeRequest(Heartbeat, 4, r)).toEqual({
      groupId: "g",
      generationId: 2,
      memberId: "m",
      groupInstanceId: null,
    });
    expect(r.remaining).toBe(0);
  });

  test("a tagged value cannot read beyond its declared size", () => {
    // Fetch v12 request: clusterId tag 0 declares size 1 but the compact string claims 5 bytes.
    const w = new Writer();
    encodeRequest(Fetch, 12, { maxWaitMs: 1, minBytes: 1, topics: [], forgottenTopicsData: [] } as never, w);
    const base = concatChunks(w.finish());
    const evil = new Uint8Array([...base.subarray(0, base.length - 1), 1, 0, 1, 6, 0x61, 0x61, 0x61, 0x61, 0x61]);
    expect(() => decodeRequest(Fetch, 12, new Reader(evil))).toThrow(CodecError);
  });
});

describe("nulls and defaults", () => {
  test("null where the version does not allow it throws CodecError", () => {
    expect(() => enc((w) => encodeRequest(Heartbeat, 3, { groupId: null } as never, w))).toThrow(CodecError);
    // Metadata topics are nullable from v1 only.
    expect(() => enc((w) => encodeRequest(Metadata, 0, { topics: null } as never, w))).toThrow(CodecError);
    expect(enc((w) => encodeRequest(Metadata, 1, { topics: null } as never, w))).toEqual(
      new Uint8Array([0xff, 0xff, 0xff, 0xff]),
    );
  });

  test("decode fills schema defaults for fields absent at the version", () => {
    const r = decodeRequest(
      Fetch,
      3,
      new Reader(
        enc((w) => encodeRequest(Fetch, 3, { maxWaitMs: 1, minBytes: 2, maxBytes: 3, topics: [] } as never, w)),
      ),
    );
    expect(r.isolationLevel).toBe(0);
    expect(r.sessionEpoch).toBe(-1);
    expect(r.clusterId).toBeNull();
    expect(r.replicaState).toEqual({ replicaId: -1, replicaEpoch: -1n });
    expect(r.rackId).toBe("");
    expect(r.forgottenTopicsData).toEqual([]);
  });

  test("unsupported version throws CodecError", () => {
    expect(() => decodeRequest(Heartbeat, 5, new Reader(new Uint8Array(10)))).toThrow(CodecError);
    expect(() => enc((w) => encodeResponse(Heartbeat, -1, {}, w))).toThrow(CodecError);
  });
});

describe("zero copy", () => {
  test("records given as chunk lists are passed through, with one length prefix", () => {
    const a = new Uint8Array(100).fill(1);
    const b = new Uint8Array(5000).fill(2);
    const w = new Writer();
    encodeResponse(Fetch, 4, { responses: [{ topic: "t", partitions: [{ partitionIndex: 0, records: [a, b] }] }] }, w);
    const chunks = w.finish();
    expect(chunks).toContain(a);
    expect(chunks).toContain(b);
    const back = decodeResponse(Fetch, 4, new Reader(concatChunks(chunks)));
    const rec = back.responses![0].partitions![0].records as Uint8Array;
    expect(rec.length).toBe(5100);
    expect(rec[99]).toBe(1);
    expect(rec[100]).toBe(2);
  });

  test("large single records value is passed through; decoded records alias the input", () => {
    const big = new Uint8Array(4096).fill(7);
    const w = new Writer();
    encodeRequest(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: "t", topicId: ZERO_UUID, partitionData: [{ index: 0, records: big }] }],
    }, w);
    const chunks = w.finish();
    expect(chunks).toContain(big);
    const bytes = concatChunks(chunks);
    const req = decodeRequest(Produce, 9, new Reader(bytes));
    const rec = req.topicData[0].partitionData[0].records!;
    expect(rec.buffer).toBe(bytes.buffer);
    expect(rec.length).toBe(4096);
  });
});

describe("data schemas (consumer protocol)", () => {
  test("round trip every version", () => {
    const schemas: DataSchema[] = [ConsumerProtocolSubscriptionSchema, ConsumerProtocolAssignmentSchema];
    for (const schema of schemas) {
      for (let v = schema.versions[0]; v <= schema.versions[1]; v++) {
        for (const nulls of [false, true]) {
          const sample = new Sampler({ seed: v + 1, nulls }).object(schema.fields, v);
          const w = new Writer();
          encodeData(schema, v, sample as never, w);
          const bytes = concatChunks(w.finish());
          const r = new Reader(bytes);
          expect(decodeData(schema, v, r)).toEqual(sample as never);
          expect(r.remaining).toBe(0);
        }
      }
    }
  });

  test("versioned form: int16 prefix; newer versions read with the newest layout", () => {
    const value = {
      topics: ["a", "b"],
      userData: null,
      ownedPartitions: [{ topic: "a", partitions: [1, 2] }],
      generationId: 4,
      rackId: "r1",
    };
    const bytes = encodeVersionedData(ConsumerProtocolSubscriptionSchema, 3, value);
    expect(bytes[0]).toBe(0);
    expect(bytes[1]).toBe(3);
    expect(decodeVersionedData(ConsumerProtocolSubscriptionSchema, bytes)).toEqual({ version: 3, value });
    const future = bytes.slice();
    future[1] = 9;
    const extended = new Uint8Array([...future, 1, 2, 3]); // v9 appended a field we don't know
    expect(decodeVersionedData(ConsumerProtocolSubscriptionSchema, extended)).toEqual({ version: 9, value });
  });

  test("v0 subscription absent fields get defaults", () => {
    const bytes = encodeVersionedData(
      ConsumerProtocolSubscriptionSchema,
      0,
      { topics: ["t"], userData: new Uint8Array([1]) } as never,
    );
    expect(decodeVersionedData(ConsumerProtocolSubscriptionSchema, bytes).value).toEqual({
      topics: ["t"],
      userData: new Uint8Array([1]),
      ownedPartitions: [],
      generationId: -1,
      rackId: null,
    });
  });
});

test("ZERO_UUID is the default uuid", () => {
  const r = decodeRequest(
    Fetch,
    13,
    new Reader(enc((w) => encodeRequest(Fetch, 13, { topics: [{ partitions: [] }] } as never, w))),
  );
  expect(r.topics[0].topicId).toBe(ZERO_UUID);
});
