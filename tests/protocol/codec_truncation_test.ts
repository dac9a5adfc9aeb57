// Truncation: a sample of every API/version/direction, encoded, then decoded from every proper
// prefix. Each attempt must throw CodecError (never RangeError or anything else), and must not
// read past the Reader's end: the bytes after the cut are still in the underlying buffer, so a
// read past `end` would succeed instead of throwing.
import { describe, expect, test } from "bun:test";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "../../src/protocol/codec.ts";
import { CodecError } from "../../src/protocol/errors.ts";
import { API_LIST } from "../../src/protocol/messages/index.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { concatChunks, Writer } from "../../src/protocol/writer.ts";
import { Sampler } from "./sample.ts";

describe("truncated frames throw CodecError", () => {
  for (const api of API_LIST) {
    test(`${api.key} ${api.name}`, () => {
      let attempts = 0;
      for (let v = api.versions[0]; v <= api.versions[1]; v++) {
        for (const dir of ["request", "response"] as const) {
          for (const nulls of [false, true]) {
            const fields = dir === "request" ? api.request : api.response;
            const sample = new Sampler({ seed: 7 + v, nulls }).object(fields, v);
            const w = new Writer();
            (dir === "request" ? encodeRequest : encodeResponse)(api, v, sample, w);
            const bytes = concatChunks(w.finish());
            const dec = dir === "request" ? decodeRequest : decodeResponse;
            for (let cut = 0; cut < bytes.length; cut++) {
              attempts++;
              let err: unknown;
              try {
                dec(api, v, new Reader(bytes, 0, cut));
              } catch (e) {
                err = e;
              }
              if (!(err instanceof CodecError)) {
                throw new Error(
                  `${api.name} v${v} ${dir} cut at ${cut}/${bytes.length}: ${
                    err === undefined ? "decoded without error" : String(err)
                  }`,
                );
              }
            }
          }
        }
      }
      expect(attempts).toBeGreaterThan(0);
    });
  }
});

describe("hostile lengths", () => {
  test("huge array / string / bytes lengths are rejected before allocating", () => {
    const api = API_LIST[0]; // Produce v3: transactionalId (int16 string), acks, timeout, topicData array
    const bytes = new Uint8Array([0xff, 0xff, 0, 1, 0, 0, 0, 10, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => decodeRequest(api, 3, new Reader(bytes))).toThrow(CodecError);
    const negArray = new Uint8Array([0xff, 0xff, 0, 1, 0, 0, 0, 10, 0xff, 0xff, 0xff, 0xfe]);
    expect(() => decodeRequest(api, 3, new Reader(negArray))).toThrow(CodecError);
    const negString = new Uint8Array([0xff, 0xfe, 0, 1, 0, 0, 0, 10, 0, 0, 0, 0]);
    expect(() => decodeRequest(api, 3, new Reader(negString))).toThrow(CodecError);
    // Null array where not nullable (topicData).
    const nullArray = new Uint8Array([0xff, 0xff, 0, 1, 0, 0, 0, 10, 0xff, 0xff, 0xff, 0xff]);
    expect(() => decodeRequest(api, 3, new Reader(nullArray))).toThrow(CodecError);
  });

  test("random garbage only ever throws CodecError", () => {
    let x = 12345;
    const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (const api of API_LIST) {
      for (let v = api.versions[0]; v <= api.versions[1]; v++) {
        for (let i = 0; i < 20; i++) {
          const b = Uint8Array.from({ length: 1 + (rnd() % 64) }, rnd);
          for (const dec of [decodeRequest, decodeResponse]) {
            try {
              dec(api, v, new Reader(b));
            } catch (e) {
              if (!(e instanceof CodecError)) throw new Error(`${api.name} v${v}: ${e}`);
            }
          }
        }
      }
    }
  });
});
