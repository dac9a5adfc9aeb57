// A protocol-level test client over real TCP: sends generated-codec requests, matches responses by
// correlation id, and can send raw bytes for bad-input tests.
import { connect as netConnect, type Socket } from "node:net";
import { decodeResponse, encodeRequest } from "../../src/protocol/codec.ts";
import { readResponseHeader, writeRequestHeader } from "../../src/protocol/header.ts";
import { Reader } from "../../src/protocol/reader.ts";
import type { Api } from "../../src/protocol/schema.ts";
import { concatChunks, Writer } from "../../src/protocol/writer.ts";
import { frameReader } from "./frames.ts";

type Pending = { resolve: (frame: Uint8Array) => void; reject: (e: Error) => void };

export class WireClient {
  private socket: Socket;
  private pending = new Map<number, Pending>();
  private nextCorrelation = 1;
  closed: Promise<void>;
  isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (d: Uint8Array) => this.onData(d));
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.isClosed = true;
        for (const p of this.pending.values()) p.reject(new Error("connection closed"));
        this.pending.clear();
        resolve();
      });
    });
    socket.on("error", () => {});
  }

  static connect(port: number, host = "127.0.0.1"): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ port, host }, () => resolve(new WireClient(s)));
      s.once("error", reject);
    });
  }

  private onData = frameReader((frame) => {
    if (this.rawWaiter) {
      const w = this.rawWaiter;
      this.rawWaiter = null;
      w(frame);
      return;
    }
    const corr = new DataView(frame.buffer).getInt32(0);
    const p = this.pending.get(corr);
    this.pending.delete(corr);
    p?.resolve(frame);
  });

  /** Encodes and sends one request; resolves with the decoded response. */
  send<Q, S>(api: Api<Q, S>, version: number, body: Q, clientId: string | null = "wire-test"): Promise<S> {
    const correlationId = this.nextCorrelation++;
    const w = new Writer();
    w.int32(0);
    writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId });
    encodeRequest(api, version, body, w);
    w.patchInt32(0, w.length - 4);
    const frame = concatChunks(w.finish());
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(correlationId, { resolve, reject });
      this.socket.write(frame);
    }).then((resp) => {
      const r = new Reader(resp);
      readResponseHeader(r, api.key, version);
      return decodeResponse(api, version, r);
    });
  }

  /** Sends a request without waiting (acks=0 produce); returns its correlation id. */
  sendNoWait<Q, S>(api: Api<Q, S>, version: number, body: Q): number {
    const correlationId = this.nextCorrelation++;
    const w = new Writer();
    w.int32(0);
    writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: "wire-test" });
    encodeRequest(api, version, body, w);
    w.patchInt32(0, w.length - 4);
    this.socket.write(concatChunks(w.finish()));
    return correlationId;
  }

  /** Raw response frame for a correlation id (for v0 ApiVersions error answers and the like). */
  expectFrame(correlationId: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => this.pending.set(correlationId, { resolve, reject }));
  }

  private rawWaiter: ((frame: Uint8Array) => void) | null = null;

  /** After SaslHandshake v0: sends a bare length-prefixed SASL token and resolves the bare answer. */
  saslToken(token: Uint8Array): Promise<Uint8Array> {
    const frame = new Uint8Array(4 + token.length);
    new DataView(frame.buffer).setInt32(0, token.length);
    frame.set(token, 4);
    return new Promise((resolve, reject) => {
      this.rawWaiter = resolve;
      this.closed.then(() => reject(new Error("connection closed")));
      this.socket.write(frame);
    });
  }

  writeRaw(bytes: Uint8Array) {
    this.socket.write(bytes);
  }

  close() {
    this.socket.destroy();
  }
}
