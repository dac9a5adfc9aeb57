// Requests from this broker to another broker of the cluster (the transaction coordinator's
// WriteTxnMarkers to partition leaders), with the generated codec over the runtime's outbound TCP
// port. One connection per peer, opened on first use and again after it closed; responses come back
// in request order, as Kafka guarantees per connection. It speaks to the peer's first listener
// without SASL or TLS: inter-broker requests need a PLAINTEXT listener there (a first step). A request unanswered
// after request.timeout.ms fails and closes its connection (later answers on it would be out of step).
import { decodeResponse, encodeRequest } from "../protocol/codec.ts";
import { readResponseHeader, writeRequestHeader } from "../protocol/header.ts";
import { Reader } from "../protocol/reader.ts";
import type { Api } from "../protocol/schema.ts";
import { concatChunks, Writer } from "../protocol/writer.ts";
import type { Conn, Runtime } from "../runtime.ts";
import { WriteTxnMarkers } from "../protocol/messages/27_write_txn_markers.ts";
import { partitionKey } from "./fetch_sessions.ts";
import type { RemoteMarker } from "./txn/coordinator.ts";

type Waiter = { resolve(frame: Uint8Array): void; reject(e: Error): void };

class PeerConnection {
  conn: Conn | null = null;
  closed = false;
  #waiters: Waiter[] = [];
  #buf = new Uint8Array(0);

  data(chunk: Uint8Array): void {
    const next = new Uint8Array(this.#buf.length + chunk.length);
    next.set(this.#buf);
    next.set(chunk, this.#buf.length);
    this.#buf = next;
    while (this.#buf.length >= 4) {
      const len = new DataView(this.#buf.buffer, this.#buf.byteOffset).getInt32(0);
      if (this.#buf.length < 4 + len) return;
      const frame = this.#buf.slice(4, 4 + len);
      this.#buf = this.#buf.subarray(4 + len);
      this.#waiters.shift()?.resolve(frame);
    }
  }

  end(error?: unknown): void {
    this.closed = true;
    const e = new Error(`peer connection closed${error instanceof Error ? `: ${error.message}` : ""}`);
    for (const w of this.#waiters.splice(0)) w.reject(e);
  }

  send(frame: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.end(new Error(`no answer within ${timeoutMs} ms (request.timeout.ms)`));
        this.conn?.close();
      }, timeoutMs);
      this.#waiters.push({
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.conn!.write(frame);
    });
  }
}

export class Peers {
  #runtime: Runtime;
  #clientId: string;
  #conns = new Map<string, Promise<PeerConnection>>();
  #correlation = 1;
  #timeoutMs: number;

  constructor(runtime: Runtime, clientId: string, timeoutMs = 30_000) {
    this.#runtime = runtime;
    this.#clientId = clientId;
    this.#timeoutMs = timeoutMs;
  }

  #connect(host: string, port: number): Promise<PeerConnection> {
    const k = `${host}:${port}`;
    const have = this.#conns.get(k);
    if (have) return have;
    const p = (async () => {
      if (!this.#runtime.connect) throw new Error(`the ${this.#runtime.name} runtime cannot open TCP connections`);
      const pc = new PeerConnection();
      pc.conn = await this.#runtime.connect({ host, port }, () => ({
        data: (chunk) => pc.data(chunk),
        end: (e) => {
          pc.end(e);
          this.#conns.delete(k);
        },
      }));
      return pc;
    })();
    this.#conns.set(k, p);
    p.catch(() => this.#conns.delete(k));
    return p;
  }

  /** Sends one request to host:port and resolves with the decoded response. */
  async send<Q, S>(host: string, port: number, api: Api<Q, S>, version: number, body: Q): Promise<S> {
    let pc = await this.#connect(host, port);
    if (pc.closed) {
      // Timed out (closed by us) before its end event removed it: a new connection.
      if (this.#conns.get(`${host}:${port}`)) this.#conns.delete(`${host}:${port}`);
      pc = await this.#connect(host, port);
    }
    const w = new Writer();
    w.int32(0);
    writeRequestHeader(w, {
      apiKey: api.key,
      apiVersion: version,
      correlationId: this.#correlation++,
      clientId: this.#clientId,
    });
    encodeRequest(api, version, body, w);
    w.patchInt32(0, w.length - 4);
    const frame = await pc.send(concatChunks(w.finish()), this.#timeoutMs);
    const r = new Reader(frame);
    readResponseHeader(r, api.key, version);
    return decodeResponse(api, version, r);
  }

  close(): void {
    for (const p of this.#conns.values()) p.then((pc) => pc.conn?.close(), () => {});
    this.#conns.clear();
  }
}

/** Writes one transaction's markers on the broker at `at` (WriteTxnMarkers v1); error codes by partitionKey. */
export async function writeMarkersOn(
  peers: Peers,
  at: { host: string; port: number },
  m: RemoteMarker,
): Promise<Map<string, number>> {
  const topicsOf = new Map<string, number[]>();
  for (const p of m.partitions) topicsOf.set(p.topic, [...(topicsOf.get(p.topic) ?? []), p.partition]);
  const r = await peers.send(at.host, at.port, WriteTxnMarkers, 1, {
    markers: [{
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      transactionResult: m.commit,
      coordinatorEpoch: m.coordinatorEpoch,
      topics: [...topicsOf].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
    }],
  });
  const codes = new Map<string, number>();
  for (const t of r.markers?.[0]?.topics ?? []) {
    for (const p of t.partitions ?? []) codes.set(partitionKey(t.name!, p.partitionIndex!), p.errorCode ?? 0);
  }
  return codes;
}
