// Connection loop: 4-byte-length framing, header decode, dispatch, responses in request order.
//
// Requests on one connection start in arrival order and may run concurrently; responses leave
// strictly in request order. What one connection can hold is bounded (issue #14):
// - Reading pauses while MAX_IN_FLIGHT requests are unanswered, while the frames of unanswered
//   requests add up to IN_FLIGHT_BYTES, or while the socket's send queue is over its high-water mark
//   (a client that does not read its responses stops being read).
// - One request at a time among those whose response is not bounded by the request's size (handlers
//   defined with LARGE_RESPONSE: Fetch, up to fetch.max.bytes; Metadata, Describe*, List*,
//   OffsetFetch of a whole group, ShareFetch): one of them is not read while another is unanswered,
//   so a connection holds at most one such response (Kafka processes one request per connection at
//   a time; here other requests, a Produce that wakes a long poll, still go past it).
// - A request that gives the event loop turns halfway through its work (yield.ts, ctx.keepOrder)
//   holds back the requests after it until it is answered, so requests still take effect in
//   arrival order (a Produce of 2,000 partitions is appended whole before the next one starts).
// - Before SASL authentication: frames over sasl.server.max.receive.size (Kafka's fix for
//   CVE-2022-34917) close the connection, one request at a time, and at most one such frame buffered.
// A malformed frame or a violation closes that connection only, with a log line (rate-limited per
// client address).
//
// Client quotas (config/quotas.ts): with any quota configured, each request is measured — Produce's
// frame size against producer_byte_rate, handler time against request_percentage, Fetch's bytes in
// its handler — and a request over a quota is answered at once with throttleTimeMs, after which the
// connection reads nothing more until that time has passed (KIP-219 muting). A Produce is recorded
// as it is read and mutes the connection before the next frame (acks=0 too, as Kafka mutes it).
// Requests read before the mute still run and answer in order. Without quotas the only cost is one
// flag check.
import { frameSizeHint } from "./frame_hint.ts";
import { decodeRequest, encodeResponse } from "../protocol/codec.ts";
import { CodecError, ErrorCode } from "../protocol/errors.ts";
import { readRequestHeader, writeResponseHeader } from "../protocol/header.ts";
import { SaslHandshake } from "../protocol/messages/17_sasl_handshake.ts";
import { ApiVersions } from "../protocol/messages/18_api_versions.ts";
import { SaslAuthenticate } from "../protocol/messages/36_sasl_authenticate.ts";
import { Reader } from "../protocol/reader.ts";
import { concatChunks, Writer } from "../protocol/writer.ts";
import type { Conn, ConnHandler } from "../runtime.ts";
import type { ConnListener, Handler, RequestContext, Session } from "./handler.ts";
import { escapeForLog } from "./log_limit.ts";
import type { Server } from "./server.ts";
import { PRODUCE, REQUEST } from "./config/quotas.ts";

const PRODUCE_KEY = 0;

/** Responses up to this size, ready together, are sent as one buffer (see writeResponses). */
const MERGE_MAX = 16 * 1024;
/** Unanswered requests per connection before reading pauses. */
const MAX_IN_FLIGHT = 128;
/** Bytes of unanswered request frames per connection before reading pauses (one larger frame still goes). */
const IN_FLIGHT_BYTES = 16 * 1024 * 1024;
/** chronik.request.max.entries default. */
const MAX_ENTRIES = 100_000;
/** Kafka's sasl.server.max.receive.size default. */
const SASL_MAX_RECEIVE = 524288;

/**
 * A frame at least this large, once half of it has arrived, gets its buffer and the rest of its bytes
 * are copied there as they arrive (see `filling`).
 */
const LARGE_FRAME = 1024 * 1024;
/** Frames below this many bytes are copied into exact-size buffers, not pooled ones. */
const SMALL_FRAME = 8 * 1024;
/** Bytes a muted (throttled) connection may still read, unparsed, before its socket is paused. */
const MUTED_READ_AHEAD = 128 * 1024;
/** Bytes that may still arrive before authentication after reading paused (adapters read ahead a little). */
const PRE_AUTH_SLACK = 64 * 1024;

/** A response's place in the connection's order; `closeReason` closes the connection once it is sent. */
type Slot = { chunks: Uint8Array[] | null; done: boolean; closeReason?: string; frameBytes: number };

/** What a SASL listener serves before authentication (Kafka's SaslServerAuthenticator). */
const BEFORE_AUTH = new Set([ApiVersions.key, SaslHandshake.key, SaslAuthenticate.key]);

export class Connection implements ConnHandler {
  private readonly server: Server;
  private readonly conn: Conn;
  private readonly session: Session;
  private readonly maxFrame: number;
  /** chronik.request.max.entries: array entries one request may hold (all its arrays together). */
  private readonly maxEntries: number;
  /** sasl.server.max.receive.size: the largest frame before authentication. */
  private readonly saslMaxFrame: number;
  /** Bytes of the frames of unanswered requests. */
  private inFlightBytes = 0;
  /** The unanswered request whose handler has largeResponse: another one is not read until it is answered. */
  private heavy: Slot | null = null;
  /** A request that yielded halfway (ctx.keepOrder): no later one starts until it is answered. */
  private ordered: Slot | null = null;
  // Received bytes not yet framed: chunks[0] starts at headPos.
  private chunks: Uint8Array[] = [];
  /**
   * A large frame being received (its 4-byte size already taken): its buffer and the bytes in it.
   * Kept as chunks, a 100 MiB frame cost one 100 MiB copy when its last byte came, with the event
   * loop stopped, and twice its size at that moment; filled as it arrives, each chunk is copied once,
   * when it arrives, and dropped. Its buffer is taken when half the frame has arrived, so a client
   * that announces a large frame and stops holds at most twice what it sent.
   */
  private filling: { frame: Uint8Array; filled: number } | null = null;
  private headPos = 0;
  private buffered = 0;
  private slots: Slot[] = [];
  private slotHead = 0;
  private paused = false;
  private waitingDrain = false;
  private closed = false;
  private stopping = false;
  private idle: (() => void) | null = null;
  /** The server's sweep count at the last byte read or written (connections.max.idle.ms). */
  lastActive: number;
  /** KIP-219: no reading until the throttle time of a throttled response has passed. */
  private muted = false;
  private mutedUntil = 0;
  private muteTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(server: Server, conn: Conn, id: number, listener: ConnListener) {
    this.server = server;
    this.lastActive = server.tick;
    this.conn = conn;
    this.maxFrame = Number(server.svc.config["socket.request.max.bytes"]);
    this.maxEntries = Number(server.svc.config["chronik.request.max.entries"] ?? MAX_ENTRIES);
    this.saslMaxFrame = Math.min(
      this.maxFrame,
      Number(server.svc.config["sasl.server.max.receive.size"] ?? SASL_MAX_RECEIVE),
    );
    this.session = {
      id,
      remote: `${conn.remoteAddress}:${conn.remotePort}`,
      clientId: null,
      clientSoftwareName: null,
      clientSoftwareVersion: null,
      principal: "User:ANONYMOUS",
      authenticated: !listener.auth.required,
      sasl: null,
      listener,
    };
  }

  /** Over a connection limit: nothing will be read or answered. */
  refuse() {
    this.closed = true;
  }

  /** Nothing in flight: no unanswered request, no queued response. */
  isIdle(): boolean {
    return !this.closed && !this.stopping && !this.waitingDrain && this.pending() === 0;
  }

  closeIdle(idleMs: number) {
    if (this.closed) return;
    this.server.svc.log(
      "debug",
      `closing connection from ${this.session.remote}: idle for more than connections.max.idle.ms (${idleMs} ms)`,
    );
    this.closed = true;
    this.chunks = [];
    this.filling = null;
    this.conn.close();
  }

  data(chunk: Uint8Array, borrowed = false): void {
    if (this.closed || this.stopping || chunk.length === 0) return;
    this.lastActive = this.server.tick;
    this.server.svc.metrics.bytesIn += chunk.length;
    const f = this.filling;
    if (f !== null) {
      const take = Math.min(chunk.length, f.frame.length - f.filled);
      f.frame.set(take === chunk.length ? chunk : chunk.subarray(0, take), f.filled);
      f.filled += take;
      if (take === chunk.length) {
        if (f.filled === f.frame.length) this.safeParse();
        return;
      }
      // The next frame starts in this chunk: go on with the rest as a chunk of its own.
      chunk = borrowed ? chunk.slice(take) : chunk.subarray(take);
      borrowed = false;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.muted && this.buffered > MUTED_READ_AHEAD) this.pause();
    // Before authentication reading stops after each request; bytes that still arrive must not pile up.
    if (!this.session.authenticated && this.buffered > 4 + this.saslMaxFrame + PRE_AUTH_SLACK) {
      this.fail(
        `${this.buffered} bytes sent before SASL authentication completed (sasl.server.max.receive.size ${this.saslMaxFrame})`,
      );
      return;
    }
    if (!borrowed) {
      this.safeParse();
      return;
    }
    // consume() copies frames out of it; what is left (a partial frame, or more while paused) is
    // copied before the adapter takes the memory back.
    this.borrowed = chunk;
    this.safeParse();
    this.borrowed = null;
    // Pushed last, so if anything of it is left it is still the last chunk.
    const i = this.chunks.length - 1;
    if (i < 0 || this.chunks[i] !== chunk) return;
    if (i === 0) {
      this.chunks[0] = chunk.slice(this.headPos);
      this.headPos = 0;
    } else {
      this.chunks[i] = chunk.slice();
    }
  }

  /** The chunk data() was given as borrowed, while it parses. */
  private borrowed: Uint8Array | null = null;

  /** A bug in decoding must cost one connection, never the broker. */
  private safeParse() {
    try {
      this.parse();
    } catch (e) {
      this.server.svc.log(
        "error",
        `unexpected error on ${this.session.remote}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      );
      this.fail("internal error while reading a request");
    }
  }

  end(error?: unknown): void {
    if (error !== undefined && !this.closed) {
      this.server.svc.log("debug", `connection ${this.session.remote} ended: ${String(error)}`);
    }
    this.closed = true;
    this.chunks = [];
    this.filling = null;
    this.unmuteTimer();
    this.server.forget(this, this.conn.remoteAddress);
    this.idle?.();
  }

  /** Graceful close: no more requests, answer those in flight, then close. */
  shutdown(): Promise<void> {
    this.stopping = true;
    this.unmuteTimer();
    this.conn.pause();
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.idle = resolve;
      this.maybeFinish();
    });
  }

  private maybeFinish() {
    if (this.stopping && this.pending() === 0 && !this.closed) {
      this.closed = true;
      this.conn.drained().then(() => {
        this.conn.close();
        this.idle?.();
      });
    }
  }

  private pending(): number {
    return this.slots.length - this.slotHead;
  }

  private fail(reason: string) {
    if (this.closed) return;
    // Reasons quote what the client sent (mechanism names, token key ids): control characters escaped.
    this.server.warnConnection(
      this.conn.remoteAddress,
      `closing connection from ${this.session.remote}: ${escapeForLog(reason, 1000)}`,
    );
    this.closed = true;
    this.chunks = [];
    this.filling = null;
    this.unmuteTimer();
    this.conn.close();
  }

  private unmuteTimer() {
    if (this.muteTimer !== null) {
      clearTimeout(this.muteTimer);
      this.muteTimer = null;
    }
  }

  /** Stops reading for `ms` (from now, or longer if already muted longer). */
  private mute(ms: number) {
    if (this.closed || this.stopping) return;
    const until = performance.now() + ms;
    if (this.muted && until <= this.mutedUntil) return;
    this.muted = true;
    this.mutedUntil = until;
    // Nothing is parsed while muted, but the socket is still read up to MUTED_READ_AHEAD: a client
    // that leaves while muted is then seen leaving, and its connection goes at once (with its timer
    // and quota binding) instead of holding a descriptor until the mute is over.
    if (this.buffered > MUTED_READ_AHEAD) this.pause();
    this.unmuteTimer();
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      this.muted = false;
      if (this.paused) this.resume();
      else this.safeParse();
    }, ms);
  }

  private parse() {
    while (!this.closed && !this.stopping && !this.muted) {
      const f = this.filling;
      if (f !== null) {
        if (f.filled < f.frame.length) return;
        // Whole, but read while responses were not being read, or behind a request that holds the next
        // ones back: it waits (resume and flush parse again), as any other frame would.
        if (!this.mayRead()) {
          this.pause();
          return;
        }
        this.filling = null;
        this.take(f.frame);
        continue;
      }
      if (this.buffered < 4) return;
      if (!this.mayRead()) {
        this.pause();
        return;
      }
      const size = this.peekInt32();
      if (!this.session.authenticated && (size < 0 || size > this.saslMaxFrame)) {
        // Kafka's SaslServerAuthenticator: InvalidReceiveException, the connection is closed.
        this.fail(
          `frame size ${size} before SASL authentication outside 0..${this.saslMaxFrame} (sasl.server.max.receive.size)`,
        );
        return;
      }
      if (size < 0 || size > this.maxFrame) {
        this.fail(`frame size ${size} outside 0..${this.maxFrame} (socket.request.max.bytes)${frameSizeHint(size)}`);
        return;
      }
      // The api key: a second largeResponse request waits for the first one's answer.
      if (
        this.heavy !== null && size >= 2 && this.buffered >= 6 && this.server.handler(this.peekInt16(4))?.largeResponse
      ) {
        this.pause();
        return;
      }
      if (this.buffered < 4 + size) {
        if (size >= LARGE_FRAME && (this.buffered - 4) * 2 >= size) {
          // Every buffered byte belongs to this frame: into its buffer, and the rest as it comes.
          this.consume(4);
          const filled = this.buffered;
          this.filling = { frame: this.consume(filled, this.server.svc.frameBuffers.acquire(size)), filled };
        }
        return;
      }
      this.consume(4);
      this.take(this.consume(size));
    }
  }

  /** One whole frame. */
  private take(frame: Uint8Array) {
    // After SaslHandshake v0 the client sends bare SASL tokens, not requests.
    if (this.session.sasl?.legacy && !this.session.authenticated) this.saslToken(frame);
    else this.dispatch(frame);
  }

  /** Whether another request may be read now (see the bounds at the top of this file). */
  private mayRead(): boolean {
    // Responses are not being read: neither are requests (a response answered at once, as most are,
    // stops the loop here rather than after every buffered frame).
    if (this.waitingDrain || this.ordered !== null) return false;
    if (!this.session.authenticated) return this.pending() === 0;
    return this.pending() < MAX_IN_FLIGHT && this.inFlightBytes < IN_FLIGHT_BYTES;
  }

  /** The buffered byte at `at` from the head (at < buffered). */
  private peekByte(at: number): number {
    let i = 0;
    let pos = this.headPos + at;
    while (pos >= this.chunks[i].length) pos -= this.chunks[i++].length;
    return this.chunks[i][pos];
  }

  private peekInt16(at: number): number {
    return (this.peekByte(at) << 8) | this.peekByte(at + 1);
  }

  private peekInt32(): number {
    const first = this.chunks[0];
    if (first.length - this.headPos >= 4) {
      const p = this.headPos;
      return ((first[p] << 24) | (first[p + 1] << 16) | (first[p + 2] << 8) | first[p + 3]);
    }
    let v = 0;
    let n = 0;
    for (let i = 0; n < 4; i++) {
      const c = this.chunks[i];
      for (let j = i === 0 ? this.headPos : 0; j < c.length && n < 4; j++, n++) v = (v << 8) | c[j];
    }
    return v | 0;
  }

  /**
   * Takes `n` buffered bytes: a view when they sit in one chunk, else one copy; or copied to the
   * start of `into` (returned), a buffer of at least n bytes.
   */
  private consume(n: number, into?: Uint8Array): Uint8Array {
    if (n === 0) return into ?? new Uint8Array(0);
    this.buffered -= n;
    const first = this.chunks[0];
    const avail = first.length - this.headPos;
    if (avail >= n && first !== this.borrowed && into === undefined) {
      const out = first.subarray(this.headPos, this.headPos + n);
      this.headPos += n;
      if (this.headPos === first.length) {
        this.chunks.shift();
        this.headPos = 0;
      }
      return out;
    }
    // Pooled: the frame goes back to the pool if its handler sets ctx.frameReusable (small frames,
    // which no handler releases, are not worth a pool buffer's grain).
    const out = into ?? (n >= SMALL_FRAME ? this.server.svc.frameBuffers.acquire(n) : new Uint8Array(n));
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      const take = Math.min(c.length - this.headPos, n - filled);
      out.set(c.subarray(this.headPos, this.headPos + take), filled);
      filled += take;
      this.headPos += take;
      if (this.headPos === c.length) {
        this.chunks.shift();
        this.headPos = 0;
      }
    }
    return out;
  }

  private dispatch(frame: Uint8Array) {
    const svc = this.server.svc;
    const reader = new Reader(frame);
    let header;
    try {
      header = readRequestHeader(reader);
    } catch (e) {
      this.fail(`malformed request header (${e instanceof Error ? e.message : String(e)})`);
      return;
    }
    const { apiKey, apiVersion, correlationId, clientId } = header;
    if (!this.session.authenticated && !BEFORE_AUTH.has(apiKey)) {
      this.fail(`unexpected request (api key ${apiKey}) before SASL authentication`);
      return;
    }
    const handler = this.server.handler(apiKey);
    if (!handler || apiVersion < handler.versions[0] || apiVersion > handler.versions[1]) {
      if (apiKey === ApiVersions.key) {
        // Any client must be able to learn our versions: answer v0 with UNSUPPORTED_VERSION.
        const slot = this.openSlot();
        this.finishSlot(
          slot,
          this.encode(ApiVersions.key, 0, correlationId, {
            errorCode: ErrorCode.UNSUPPORTED_VERSION,
            apiKeys: svc.apiVersions,
          }),
        );
        return;
      }
      this.fail(
        handler
          ? `unsupported version ${apiVersion} of api ${apiKey} (${handler.api.name} supports ${
            handler.versions.join("-")
          })`
          : `unknown api key ${apiKey}`,
      );
      return;
    }
    // Dispatch time: the latency histogram's start, and handler time for request_percentage (decoding,
    // the handler up to its first await, encoding).
    const dispatched = performance.now();
    const started = svc.quotas.active ? dispatched : 0;
    reader.entryBudget = this.maxEntries;
    let req: unknown;
    try {
      req = decodeRequest(handler.api, apiVersion, reader);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.fail(
        reader.entryBudget < 0
          ? `${handler.api.name} v${apiVersion} request with more than ${this.maxEntries} entries (chronik.request.max.entries)`
          : `malformed ${handler.api.name} v${apiVersion} request: ${e.message}`,
      );
      return;
    }
    this.session.clientId = clientId;
    if (svc.config.logLevel === "debug") {
      svc.log("debug", `${this.session.remote} ${handler.api.name} v${apiVersion} (correlation ${correlationId})`);
    }
    svc.metrics.countRequest(apiKey, apiVersion);
    const slot = this.openSlot(frame.length);
    if (handler.largeResponse) this.heavy = slot;
    const ctx: RequestContext = {
      services: svc,
      session: this.session,
      apiVersion,
      correlationId,
      clientId,
      noResponse: false,
      throttleTimeMs: 0,
      frameReusable: false,
      keepOrder: () => {
        if (!slot.done) this.ordered = slot;
      },
      closeConnection: (reason: string) => this.fail(reason),
      closeAfterResponse: (reason: string) => {
        slot.closeReason = reason;
      },
    };
    // Kafka counts a Produce's size (header and body, acks=0 included) and mutes the channel for the
    // throttle time before it reads anything more. Recording it here, before the next frame is read,
    // does the same; an acks=0 producer has no response to carry the time and is muted all the same.
    let produceThrottle = 0;
    if (apiKey === PRODUCE_KEY && svc.quotas.typeActive[PRODUCE]) {
      const now = svc.now();
      produceThrottle = svc.quotas.record(PRODUCE, svc.quotas.bind(this.session, clientId, now), frame.length, now);
      if (produceThrottle > 0) this.mute(produceThrottle);
    }
    let result: unknown;
    try {
      result = handler.handle(req, ctx);
    } catch (e) {
      this.internalError(handler, e);
      return;
    }
    const handlerMs = started === 0 ? 0 : performance.now() - started;
    if (result instanceof Promise) {
      result.then(
        (res) => this.answer(slot, handler, ctx, res, handlerMs, frame, dispatched, produceThrottle),
        (e) => this.internalError(handler, e),
      );
    } else {
      this.answer(slot, handler, ctx, result, handlerMs, frame, dispatched, produceThrottle);
    }
  }

  /** One bare SASL token of a SaslHandshake v0 exchange; the answer goes back length-prefixed. */
  private saslToken(token: Uint8Array) {
    const exchange = this.session.sasl!;
    const slot = this.openSlot();
    exchange.step(token).then((r) => {
      if (r.principal !== null) {
        this.session.principal = r.principal;
        this.session.authenticated = true;
        this.session.sasl = null;
        this.server.svc.log(
          "debug",
          `${this.session.remote} authenticated as ${escapeForLog(r.principal)} with ${exchange.mechanism}`,
        );
      }
      const frame = new Uint8Array(4 + r.response.length);
      new DataView(frame.buffer).setInt32(0, r.response.length);
      frame.set(r.response, 4);
      this.finishSlot(slot, [frame]);
    }, (e) => {
      this.session.sasl = null;
      slot.closeReason = `SASL ${exchange.mechanism} authentication failed: ${
        e instanceof Error ? e.message : String(e)
      }`;
      this.finishSlot(slot, null);
    });
  }

  private answer(
    slot: Slot,
    handler: Handler,
    ctx: RequestContext,
    res: unknown,
    handlerMs: number,
    frame: Uint8Array,
    dispatched: number,
    produceThrottle = 0,
  ) {
    // Nothing reads the request from here on: the response is encoded into fresh buffers.
    if (ctx.frameReusable) this.server.svc.frameBuffers.release(frame);
    if (this.closed && !this.stopping) return;
    const quotas = this.server.svc.quotas;
    // The connection was muted for produceThrottle at dispatch; the response still carries it.
    let throttle = ctx.throttleTimeMs;
    if (quotas.active && !BEFORE_AUTH.has(handler.api.key)) {
      throttle = Math.max(throttle, this.quotaThrottle(handler.api.key, ctx, handlerMs));
      const reported = Math.max(throttle, produceThrottle);
      if (reported > 0 && res !== null && typeof res === "object" && "throttleTimeMs" in res) {
        const r = res as { throttleTimeMs: number };
        if (r.throttleTimeMs < reported) r.throttleTimeMs = reported;
      }
    }
    let chunks: Uint8Array[] | null = null;
    if (!ctx.noResponse) {
      const started = quotas.typeActive[REQUEST] ? performance.now() : 0;
      try {
        chunks = this.encode(handler.api.key, ctx.apiVersion, ctx.correlationId, res);
      } catch (e) {
        this.internalError(handler, e);
        return;
      }
      // Kafka counts the network thread's part too, without throttling on it.
      if (started !== 0 && this.session.quota) {
        quotas.recordOnly(REQUEST, this.session.quota, performance.now() - started, this.server.svc.now());
      }
    }
    this.finishSlot(slot, chunks);
    // Kafka's TotalTimeMs ends when the response is sent; ours when it is queued for sending.
    this.server.svc.metrics.latency.record(handler.api.key, performance.now() - dispatched);
    if (throttle > 0) this.mute(throttle);
  }

  /** Records one request's handler time against request_percentage; the throttle time, or 0. */
  private quotaThrottle(apiKey: number, ctx: RequestContext, handlerMs: number): number {
    const quotas = this.server.svc.quotas;
    // Kafka leaves acks=0 Produce out of the request quota (no response to carry the time).
    if (!quotas.typeActive[REQUEST] || (apiKey === PRODUCE_KEY && ctx.noResponse)) return 0;
    const now = this.server.svc.now();
    return quotas.record(REQUEST, quotas.bind(this.session, ctx.clientId, now), handlerMs, now);
  }

  private internalError(handler: Handler, e: unknown) {
    this.server.svc.metrics.failures[handler.api.key]++;
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    this.server.svc.log("error", `${handler.api.name} failed for ${this.session.remote}: ${detail}`);
    this.fail(`internal error in ${handler.api.name}`);
  }

  private encode(apiKey: number, version: number, correlationId: number, res: unknown): Uint8Array[] {
    const w = new Writer();
    w.int32(0);
    writeResponseHeader(w, apiKey, version, correlationId);
    const handler = this.server.handler(apiKey)!;
    encodeResponse(handler.api, version, res, w);
    w.patchInt32(0, w.length - 4);
    return w.finish();
  }

  private openSlot(frameBytes = 0): Slot {
    const slot: Slot = { chunks: null, done: false, frameBytes };
    this.inFlightBytes += frameBytes;
    this.slots.push(slot);
    return slot;
  }

  private finishSlot(slot: Slot, chunks: Uint8Array[] | null) {
    slot.chunks = chunks;
    slot.done = true;
    this.inFlightBytes -= slot.frameBytes;
    slot.frameBytes = 0;
    if (this.heavy === slot) this.heavy = null;
    if (this.ordered === slot) this.ordered = null;
    this.flush();
  }

  private flush() {
    let full = false;
    let ready: Uint8Array[][] | null = null; // responses of this pass, in order
    while (this.slotHead < this.slots.length && this.slots[this.slotHead].done) {
      const slot = this.slots[this.slotHead++];
      const chunks = slot.chunks;
      slot.chunks = null;
      if (chunks && chunks.length > 0 && !(this.closed && !this.stopping)) (ready ??= []).push(chunks);
      if (slot.closeReason !== undefined) {
        if (ready !== null) this.writeResponses(ready);
        this.fail(slot.closeReason);
        return;
      }
    }
    if (ready !== null && !this.writeResponses(ready)) full = true;
    if (this.slotHead > 64 && this.slotHead * 2 >= this.slots.length) {
      this.slots = this.slots.slice(this.slotHead);
      this.slotHead = 0;
    }
    if (full && !this.waitingDrain) {
      this.waitingDrain = true;
      this.pause();
      this.conn.drained().then(() => {
        this.waitingDrain = false;
        this.resume();
      });
    } else if (this.paused && !this.waitingDrain && this.mayRead()) {
      this.resume();
    }
    this.maybeFinish();
  }

  /**
   * Writes the responses one flush found ready. A response completes out of order often (appends to
   * different partitions finish in any order), and then the ones queued behind it are ready together:
   * about half of the flushes under produce wrote two or more. Runs of small responses (Produce
   * answers) go out as one buffer, so one send instead of one each.
   */
  private writeResponses(responses: Uint8Array[][]): boolean {
    if (responses.length === 1) return this.write(responses[0]);
    let ok = true;
    let i = 0;
    while (i < responses.length) {
      let j = i;
      let bytes = 0;
      for (; j < responses.length; j++) {
        const n = this.mergeableBytes(responses[j]);
        if (n < 0 || bytes + n > MERGE_MAX) break;
        bytes += n;
      }
      if (j - i < 2) {
        if (!this.write(responses[i++])) ok = false;
        continue;
      }
      if (!this.write([concatChunks(responses.slice(i, j).flat())])) ok = false;
      i = j;
    }
    return ok;
  }

  /** A response's size when it may be copied into a merged write (small, no pooled chunk), else -1. */
  private mergeableBytes(chunks: Uint8Array[]): number {
    const pool = this.server.svc.readBuffers;
    let n = 0;
    for (const c of chunks) {
      if (pool.leased(c)) return -1;
      n += c.length;
      if (n > MERGE_MAX) return -1;
    }
    return n;
  }

  /**
   * Writes one response. Chunks that are views of pooled read buffers (Fetch records) go back to
   * the pool when the connection reports the last chunk sent, which, in write order, covers them all.
   */
  private write(chunks: Uint8Array[]): boolean {
    this.lastActive = this.server.tick;
    const pool = this.server.svc.readBuffers;
    let ok = true;
    let leased: Uint8Array[] | null = null;
    const last = chunks.length - 1;
    let bytes = 0;
    for (let i = 0; i <= last; i++) {
      const c = chunks[i];
      bytes += c.length;
      if (pool.leased(c) && (leased === null || leased[leased.length - 1].buffer !== c.buffer)) (leased ??= []).push(c);
      if (i < last) {
        if (!this.conn.write(c)) ok = false;
      } else if (leased === null) {
        if (!this.conn.write(c)) ok = false;
      } else {
        const bufs = leased;
        if (
          !this.conn.write(c, () => {
            for (const b of bufs) pool.release(b);
          })
        ) ok = false;
      }
    }
    this.server.svc.metrics.bytesOut += bytes;
    return ok;
  }

  private pause() {
    if (!this.paused) {
      this.paused = true;
      this.conn.pause();
    }
  }

  private resume() {
    if (this.muted || this.waitingDrain) return;
    if (this.paused && !this.stopping && !this.closed) {
      this.paused = false;
      this.conn.resume();
      this.safeParse();
    }
  }
}
