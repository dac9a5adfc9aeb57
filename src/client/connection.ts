// One connection to a Kafka broker, client side: frames requests with the generated codec,
// matches responses by correlation id, negotiates versions (ApiVersions) and authenticates (SASL
// PLAIN, SCRAM-SHA-256/512, OAUTHBEARER with a given token). Any Kafka-compatible broker will do.
import { decodeResponse, encodeRequest } from "../protocol/codec.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { readResponseHeader, writeRequestHeader } from "../protocol/header.ts";
import { ApiVersions } from "../protocol/messages/18_api_versions.ts";
import { SaslAuthenticate } from "../protocol/messages/36_sasl_authenticate.ts";
import { SaslHandshake } from "../protocol/messages/17_sasl_handshake.ts";
import { Reader } from "../protocol/reader.ts";
import type { Api } from "../protocol/schema.ts";
import { concatChunks, Writer } from "../protocol/writer.ts";
import type { ClientTlsOptions, Conn, Runtime } from "../runtime.ts";
import { VERSION_STRING } from "../version.ts";
import { KafkaError } from "./errors.ts";
import { scramClient } from "./scram.ts";

export type SaslOptions = {
  mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" | "OAUTHBEARER";
  username?: string;
  password?: string;
  /** OAUTHBEARER: the bearer token (a JWT). */
  token?: string;
};

export type ConnectionOptions = {
  clientId?: string;
  tls?: ClientTlsOptions;
  sasl?: SaslOptions;
  /** Per request, in ms (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * TCP connect plus TLS handshake, in ms (Kafka's socket.connection.setup.timeout.ms, default 10 s): a host that
   * accepts but never answers (a stopped process behind a listening socket) fails the open instead of hanging it.
   */
  connectTimeoutMs?: number;
};

/**
 * A request body where any field may be left out: the codec writes a missing field as its default
 * (as the schema gives it). Fields added to a request in newer protocol versions (topic ids, new
 * filters) then need no code here, and requests stay valid as the generated types grow.
 */
export type Loose<T> = T extends Uint8Array ? T
  : T extends readonly (infer U)[] ? Loose<U>[]
  : T extends object ? { [K in keyof T]?: Loose<T[K]> }
  : T;

type Pending = {
  resolve: (frame: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
};

export class KafkaConnection {
  readonly host: string;
  readonly port: number;
  private conn!: Conn;
  private readonly clientId: string;
  private readonly timeoutMs: number;
  private pending = new Map<number, Pending>();
  private nextCorrelation = 1;
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  private ended: Error | null = null;
  /** ApiVersions of the broker: key → [min, max]. */
  readonly versions = new Map<number, [number, number]>();
  /** Features the broker supports and has finalized (ApiVersions v3+): name → levels. */
  readonly features = new Map<string, { supported: [number, number] | null; finalized: number | null }>();

  private constructor(host: string, port: number, options: ConnectionOptions) {
    this.host = host;
    this.port = port;
    this.clientId = options.clientId ?? "chronik-cli";
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  static async open(runtime: Runtime, host: string, port: number, options: ConnectionOptions = {}) {
    if (!runtime.connect) throw new Error(`the ${runtime.name} runtime cannot open connections`);
    const c = new KafkaConnection(host, port, options);
    const connecting = runtime.connect({ host, port, tls: options.tls }, () => ({
      data: (chunk, borrowed) => c.onData(borrowed ? chunk.slice() : chunk),
      end: (error) => c.onEnd(error),
    }));
    const setupMs = options.connectTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no connection within ${setupMs} ms`)), setupMs);
    });
    try {
      c.conn = await Promise.race([connecting, late]);
    } catch (e) {
      // A connection that completes after the deadline (the stopped peer resumed) is closed as it arrives.
      connecting.then((conn) => conn.close(), () => {});
      throw new KafkaError(
        "NETWORK_EXCEPTION",
        `cannot connect to ${host}:${port}: ${e instanceof Error ? e.message : String(e)}`,
        "check -b/--brokers (or CHRONIK_BROKERS) and that the broker is running",
      );
    } finally {
      clearTimeout(timer);
    }
    try {
      await c.negotiate();
      if (options.sasl) await c.authenticate(options.sasl);
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  private onData(chunk: Uint8Array): void {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    for (;;) {
      if (this.bufferedBytes < 4) return;
      if (this.buffered[0].length < 4) this.buffered = [concatChunks(this.buffered)];
      const head = this.buffered[0];
      const size = new DataView(head.buffer, head.byteOffset, 4).getInt32(0);
      if (this.bufferedBytes < 4 + size) return;
      // Joined only once the whole frame is here: joining at every chunk of a large response copies it over and over.
      let all = this.buffered.length === 1 ? head : concatChunks(this.buffered);
      const frame = all.subarray(4, 4 + size);
      all = all.subarray(4 + size);
      this.buffered = all.length ? [all] : [];
      this.bufferedBytes = all.length;
      const corr = new DataView(frame.buffer, frame.byteOffset, 4).getInt32(0);
      const p = this.pending.get(corr);
      if (p) {
        this.pending.delete(corr);
        clearTimeout(p.timer);
        p.resolve(frame);
      }
    }
  }

  private onEnd(error?: unknown): void {
    this.ended = new KafkaError(
      "NETWORK_EXCEPTION",
      `connection to ${this.host}:${this.port} closed${error ? `: ${String(error)}` : ""}`,
      "the broker closed the connection: check its log (TLS or SASL settings, request size)",
    );
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.ended);
    }
    this.pending.clear();
  }

  /** The version to use: the highest both sides know, at most `max`. Throws when there is none. */
  version(api: Api<unknown, unknown>, max = api.versions[1], min = api.versions[0]): number {
    const theirs = this.versions.get(api.key);
    if (!theirs) throw new KafkaError("UNSUPPORTED_VERSION", `the broker does not support ${api.name ?? api.key}`);
    const v = Math.min(max, theirs[1], api.versions[1]);
    if (v < Math.max(min, theirs[0], api.versions[0])) {
      throw new KafkaError("UNSUPPORTED_VERSION", `no common version of ${api.name ?? api.key} with the broker`);
    }
    return v;
  }

  /** Sends one request at `version` and decodes the response. */
  send<Q, S>(api: Api<Q, S>, version: number, body: Loose<Q>): Promise<S> {
    if (this.ended) return Promise.reject(this.ended);
    const correlationId = this.nextCorrelation++;
    const w = new Writer();
    w.int32(0);
    writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: this.clientId });
    encodeRequest(api, version, body as Q, w);
    w.patchInt32(0, w.length - 4);
    const frame = concatChunks(w.finish());
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(
          new KafkaError(
            "REQUEST_TIMED_OUT",
            `no answer from ${this.host}:${this.port} within ${this.timeoutMs} ms`,
            "the broker is busy or unreachable; retry, or raise --timeout",
          ),
        );
      }, this.timeoutMs);
      this.pending.set(correlationId, { resolve, reject, timer });
      this.conn.write(frame);
    }).then((resp) => {
      const r = new Reader(resp);
      readResponseHeader(r, api.key, version);
      return decodeResponse(api, version, r);
    });
  }

  /** Sends at the best common version (at most `max`). */
  request<Q, S>(api: Api<Q, S>, body: Loose<Q>, max?: number): Promise<S> {
    return this.send(api, this.version(api as Api<unknown, unknown>, max), body);
  }

  private async negotiate(): Promise<void> {
    let r = await this.send(ApiVersions, 3, {
      clientSoftwareName: "chronik-cli",
      clientSoftwareVersion: VERSION_STRING,
    });
    if (r.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      r = await this.send(ApiVersions, 0, { clientSoftwareName: "", clientSoftwareVersion: "" });
    }
    if ((r.errorCode ?? 0) !== ErrorCode.NONE) throw KafkaError.of(r.errorCode ?? -1, null, "ApiVersions");
    for (const k of r.apiKeys ?? []) this.versions.set(k.apiKey ?? -1, [k.minVersion ?? 0, k.maxVersion ?? 0]);
    for (const f of r.supportedFeatures ?? []) {
      this.features.set(f.name ?? "", { supported: [f.minVersion ?? 0, f.maxVersion ?? 0], finalized: null });
    }
    for (const f of r.finalizedFeatures ?? []) {
      const e = this.features.get(f.name ?? "") ?? { supported: null, finalized: null };
      e.finalized = f.maxVersionLevel ?? null;
      this.features.set(f.name ?? "", e);
    }
  }

  private async authenticate(sasl: SaslOptions): Promise<void> {
    const hs = await this.send(SaslHandshake, 1, { mechanism: sasl.mechanism });
    if ((hs.errorCode ?? 0) !== ErrorCode.NONE) {
      throw KafkaError.of(
        hs.errorCode ?? -1,
        `the broker offers ${(hs.mechanisms ?? []).join(", ") || "no SASL mechanism"} on this listener`,
        "SaslHandshake",
      );
    }
    const enc = new TextEncoder();
    const step = async (authBytes: Uint8Array): Promise<Uint8Array> => {
      const r = await this.request(SaslAuthenticate, { authBytes });
      if ((r.errorCode ?? 0) !== ErrorCode.NONE) {
        throw new KafkaError(
          "SASL_AUTHENTICATION_FAILED",
          r.errorMessage ?? "authentication failed",
          "check --user/--password (or the token) and the mechanism",
        );
      }
      return r.authBytes ?? new Uint8Array(0);
    };
    switch (sasl.mechanism) {
      case "PLAIN":
        await step(enc.encode(`\u0000${sasl.username ?? ""}\u0000${sasl.password ?? ""}`));
        return;
      case "OAUTHBEARER":
        await step(enc.encode(`n,,\u0001auth=Bearer ${sasl.token ?? ""}\u0001\u0001`));
        return;
      default: {
        const s = await scramClient(sasl.mechanism, sasl.username ?? "", sasl.password ?? "");
        const first = await step(s.first);
        await step(await s.final(new TextDecoder().decode(first)));
      }
    }
  }

  close(): void {
    if (!this.ended) this.onEnd();
    this.conn?.close();
  }
}
