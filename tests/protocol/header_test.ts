import { describe, expect, test } from "bun:test";
import {
  readRequestHeader,
  readResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  writeRequestHeader,
  writeResponseHeader,
} from "../../src/protocol/header.ts";
import { CodecError } from "../../src/protocol/errors.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { concatChunks, Writer } from "../../src/protocol/writer.ts";

const bytesOf = (f: (w: Writer) => void) => {
  const w = new Writer();
  f(w);
  return concatChunks(w.finish());
};

describe("header versions", () => {
  test("request header", () => {
    expect(requestHeaderVersion(0, 8)).toBe(1); // Produce v8 not flexible
    expect(requestHeaderVersion(0, 9)).toBe(2);
    expect(requestHeaderVersion(18, 2)).toBe(1);
    expect(requestHeaderVersion(18, 3)).toBe(2);
    expect(requestHeaderVersion(7, 0)).toBe(0); // ControlledShutdown v0
    expect(requestHeaderVersion(7, 1)).toBe(1);
    expect(requestHeaderVersion(7, 3)).toBe(2);
    expect(requestHeaderVersion(999, 0)).toBe(1); // unknown key
    expect(requestHeaderVersion(18, 99)).toBe(1); // unknown version
  });

  test("response header", () => {
    expect(responseHeaderVersion(1, 11)).toBe(0);
    expect(responseHeaderVersion(1, 12)).toBe(1);
    for (let v = 0; v <= 4; v++) expect(responseHeaderVersion(18, v)).toBe(0); // ApiVersions always v0
    expect(responseHeaderVersion(999, 0)).toBe(0);
  });
});

describe("request header", () => {
  test("v1: int16 clientId, no tags", () => {
    const b = new Uint8Array([0, 3, 0, 6, 0, 0, 0, 42, 0, 2, 0x68, 0x69, 0xaa]);
    const r = new Reader(b);
    expect(readRequestHeader(r)).toEqual({ apiKey: 3, apiVersion: 6, correlationId: 42, clientId: "hi" });
    expect(r.pos).toBe(12);
  });

  test("v1 null clientId", () => {
    const r = new Reader(new Uint8Array([0, 3, 0, 6, 0, 0, 0, 1, 0xff, 0xff]));
    expect(readRequestHeader(r).clientId).toBeNull();
  });

  test("v2: clientId stays int16-length, then tagged fields (unknown ones skipped)", () => {
    const b = new Uint8Array([0, 18, 0, 3, 0, 0, 0, 7, 0, 1, 0x78, 1, 5, 2, 0xde, 0xad, 0x99]);
    const r = new Reader(b);
    expect(readRequestHeader(r)).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 7, clientId: "x" });
    expect(r.pos).toBe(16);
  });

  test("v0: ControlledShutdown v0 has no clientId", () => {
    const r = new Reader(new Uint8Array([0, 7, 0, 0, 0, 0, 0, 9, 0xaa]));
    expect(readRequestHeader(r)).toEqual({ apiKey: 7, apiVersion: 0, correlationId: 9, clientId: null });
    expect(r.pos).toBe(8);
  });

  test("unknown api key reads as v1 so the server can answer", () => {
    const r = new Reader(new Uint8Array([0x03, 0xe7, 0, 0, 0, 0, 0, 5, 0, 0]));
    expect(readRequestHeader(r)).toEqual({ apiKey: 999, apiVersion: 0, correlationId: 5, clientId: "" });
  });

  test("truncated header throws CodecError", () => {
    const full = bytesOf((w) =>
      writeRequestHeader(w, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: "abc" })
    );
    for (let cut = 0; cut < full.length; cut++) {
      expect(() => readRequestHeader(new Reader(full, 0, cut))).toThrow(CodecError);
    }
  });

  test("write/read round trip at every header version", () => {
    for (const [k, v] of [[7, 0], [3, 4], [3, 12], [18, 3]]) {
      const h = { apiKey: k, apiVersion: v, correlationId: 123456, clientId: k === 7 ? null : "client-é" };
      const b = bytesOf((w) => writeRequestHeader(w, h));
      const r = new Reader(b);
      expect(readRequestHeader(r)).toEqual(h);
      expect(r.remaining).toBe(0);
    }
  });
});

describe("response header", () => {
  test("v0 for non-flexible versions", () => {
    expect(bytesOf((w) => writeResponseHeader(w, 3, 8, 77))).toEqual(new Uint8Array([0, 0, 0, 77]));
  });

  test("v1 (empty tagged fields) for flexible versions", () => {
    expect(bytesOf((w) => writeResponseHeader(w, 3, 9, 77))).toEqual(new Uint8Array([0, 0, 0, 77, 0]));
  });

  test("ApiVersions responses use v0 even at flexible versions", () => {
    expect(bytesOf((w) => writeResponseHeader(w, 18, 3, 5))).toEqual(new Uint8Array([0, 0, 0, 5]));
    expect(bytesOf((w) => writeResponseHeader(w, 18, 4, 5))).toEqual(new Uint8Array([0, 0, 0, 5]));
  });

  test("readResponseHeader mirrors it", () => {
    const r = new Reader(new Uint8Array([0, 0, 0, 77, 1, 0, 1, 9, 0xee]));
    expect(readResponseHeader(r, 3, 9)).toEqual({ correlationId: 77 });
    expect(r.pos).toBe(8);
    const r0 = new Reader(new Uint8Array([0, 0, 0, 5, 0]));
    expect(readResponseHeader(r0, 18, 3)).toEqual({ correlationId: 5 });
    expect(r0.pos).toBe(4);
  });
});
