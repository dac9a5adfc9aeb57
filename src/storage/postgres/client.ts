// A small PostgreSQL client over the runtime's outbound TCP port (Runtime.connect): startup,
// authentication (trust, cleartext password, SCRAM-SHA-256 on Web Crypto; md5 is refused: it needs
// MD5, which Web Crypto lacks), the extended query protocol with binary parameters and results, and
// pipelining (statements are sent without waiting; replies come back in order, one Sync each, so
// every statement is its own implicit transaction unless it runs inside BEGIN/COMMIT).
// No TLS: the engine talks to PostgreSQL on a trusted network (sslmode=disable).
// A request timeout (chronik.postgres.request.timeout.ms): a connection whose statements get no reply for that
// long, or that does not finish its startup in that time (a hung server: SIGSTOP, a stalled disk, a dead
// host behind a live TCP peer), is failed and closed like a broken one (PgConnectionError: outcome unknown),
// and the pool opens a new one when asked. The same bound is the server's statement_timeout, so a statement
// stuck on a lock is cancelled by PostgreSQL too rather than committing long after its caller gave up.
import type { Conn, ConnHandler, LogLevel, Runtime } from "../../runtime.ts";
import type { PgParam } from "./wire.ts";
import { MessageReader, MessageWriter, readColumn, readCstr, readFields, writeParam } from "./wire.ts";

export type PgConfig = {
  host: string;
  port: number;
  user: string;
  password: string | null;
  database: string;
  /** Statements per connection (size of the pool). */
  poolSize: number;
  /** chronik.postgres.request.timeout.ms (default PG_REQUEST_TIMEOUT_MS; 0: none). */
  timeoutMs?: number;
};

/** Default of chronik.postgres.request.timeout.ms: well inside Kafka clients' request.timeout.ms (30 s). */
export const PG_REQUEST_TIMEOUT_MS = 10_000;

/** postgres://user:pass@host:port/db?pool=N (also postgresql://). */
export function parsePostgresUrl(url: string): PgConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`storage URL ${redact(url)} is not a valid postgres:// URL`);
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new Error(`storage URL ${redact(url)}: expected postgres://`);
  }
  const user = decodeURIComponent(u.username) || "postgres";
  const pool = Number(u.searchParams.get("pool") ?? "4");
  if (!Number.isInteger(pool) || pool < 1 || pool > 64) throw new Error(`storage URL: pool=${pool} is not 1..64`);
  for (const k of u.searchParams.keys()) {
    if (k !== "pool" && k !== "sslmode") throw new Error(`storage URL: unknown parameter ${k}`);
  }
  const sslmode = u.searchParams.get("sslmode");
  if (sslmode !== null && sslmode !== "disable") {
    throw new Error(`storage URL: sslmode=${sslmode} is not supported (the client speaks plain TCP)`);
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: u.port === "" ? 5432 : Number(u.port),
    user,
    password: u.password === "" ? null : decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")) || user,
    poolSize: pool,
  };
}

/** The URL with its password hidden, for logs and errors. */
export function redact(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]*):[^@/]*@/, "$1:***@");
}

/** An error PostgreSQL reported (ErrorResponse); `code` is the SQLSTATE. */
export class PgError extends Error {
  readonly code: string;
  readonly severity: string;
  constructor(fields: Map<string, string>) {
    super(`PostgreSQL: ${fields.get("M") ?? "error"}${fields.get("D") ? ` (${fields.get("D")})` : ""}`);
    this.code = fields.get("C") ?? "XX000";
    this.severity = fields.get("S") ?? "ERROR";
  }
}

/**
 * The connection failed or closed before the reply: a statement in flight may or may not have run.
 * `code` is "PGCONN" so callers can tell it from a statement error.
 */
export class PgConnectionError extends Error {
  readonly code = "PGCONN";
}

export type PgResult = { rows: unknown[][]; command: string };

type Pending = {
  resolve(r: PgResult): void;
  reject(e: Error): void;
  types: number[] | null;
  rows: unknown[][];
  command: string;
  error: Error | null;
  /** The statement name this query prepared, forgotten if it fails. */
  prepared: string | null;
};

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One connection. Statements are pipelined; each settles once its Sync's ReadyForQuery arrives. */
export class PgConnection {
  #conn: Conn | null = null;
  #reader = new MessageReader();
  #w = new MessageWriter();
  #pending: Pending[] = [];
  #statements = new Map<string, string>();
  #startup: { resolve(): void; reject(e: Error): void } | null = null;
  #scram: ScramClient | null = null;
  #cfg: PgConfig;
  #timeoutMs: number;
  /** When a reply (any bytes) last arrived, or the queue last went from empty to busy. */
  #lastActivity = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #now: () => number = Date.now;
  broken = false;

  private constructor(cfg: PgConfig) {
    this.#cfg = cfg;
    this.#timeoutMs = cfg.timeoutMs ?? PG_REQUEST_TIMEOUT_MS;
  }

  static async open(runtime: Runtime, cfg: PgConfig): Promise<PgConnection> {
    if (!runtime.connect) throw new Error(`the ${runtime.name} runtime cannot open TCP connections (PostgreSQL)`);
    const c = new PgConnection(cfg);
    c.#now = () => runtime.now();
    const started = new Promise<void>((resolve, reject) => (c.#startup = { resolve, reject }));
    started.catch(() => {}); // awaited below; it may fail (timeout) while still connecting
    // Connecting and the startup exchange are bounded by the request timeout too (a hung server accepts TCP).
    let timer: ReturnType<typeof setTimeout> | null = null;
    if (c.#timeoutMs > 0) {
      timer = setTimeout(
        () =>
          c.#fail(new PgConnectionError(`PostgreSQL at ${cfg.host}:${cfg.port}: no answer within ${c.#timeoutMs} ms`)),
        c.#timeoutMs,
      );
    }
    try {
      let conn: Conn;
      try {
        conn = await runtime.connect({ host: cfg.host, port: cfg.port }, (k) => c.#handler(k));
      } catch (e) {
        throw new PgConnectionError(
          `PostgreSQL at ${cfg.host}:${cfg.port}: cannot connect (${e instanceof Error ? e.message : String(e)})`,
        );
      }
      c.#conn = conn;
      if (c.broken) {
        throw new PgConnectionError(`PostgreSQL at ${cfg.host}:${cfg.port}: no answer within ${c.#timeoutMs} ms`);
      }
      const w = c.#w.begin("").i32(196608).cstr("user").cstr(cfg.user).cstr("database").cstr(cfg.database);
      w.cstr("application_name").cstr("chronik").cstr("client_encoding").cstr("UTF8");
      if (c.#timeoutMs > 0) w.cstr("statement_timeout").cstr(String(c.#timeoutMs));
      w.u8(0).end();
      conn.write(w.take());
      await started;
    } catch (e) {
      c.close();
      throw e;
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
    return c;
  }

  /** Fails the connection once its oldest statement has waited `timeoutMs` without any reply arriving. */
  #watch(): void {
    if (this.#timer !== null || this.#timeoutMs <= 0 || this.broken) return;
    const left = this.#lastActivity + this.#timeoutMs - this.#now();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#pending.length === 0 || this.broken) return;
      if (this.#now() - this.#lastActivity >= this.#timeoutMs) {
        this.#fail(
          new PgConnectionError(
            `PostgreSQL at ${this.#cfg.host}:${this.#cfg.port}: no reply within ${this.#timeoutMs} ms (chronik.postgres.request.timeout.ms); ${this.#pending.length} statement(s) of unknown outcome`,
          ),
        );
      } else this.#watch();
    }, Math.max(left, 1));
  }

  #handler(conn: Conn): ConnHandler {
    this.#conn = conn;
    return {
      data: (chunk) => {
        this.#lastActivity = this.#now();
        try {
          this.#reader.push(chunk);
          for (let m = this.#reader.next(); m !== null; m = this.#reader.next()) this.#message(m.type, m.body);
        } catch (e) {
          this.#fail(e instanceof Error ? e : new Error(String(e)));
        }
      },
      end: (error) => {
        const why = error instanceof Error ? `: ${error.message}` : "";
        this.#fail(new PgConnectionError(`PostgreSQL at ${this.#cfg.host}:${this.#cfg.port}: connection closed${why}`));
      },
    };
  }

  #fail(e: Error): void {
    if (!(e instanceof PgConnectionError)) e = new PgConnectionError(e.message);
    this.broken = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const pending = this.#pending;
    this.#pending = [];
    this.#startup?.reject(e);
    this.#startup = null;
    for (const p of pending) p.reject(e);
    this.#conn?.close();
  }

  #message(type: string, body: Uint8Array): void {
    const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    switch (type) {
      case "D": { // DataRow
        const p = this.#pending[0];
        const n = v.getInt16(0);
        const row: unknown[] = new Array(n);
        let at = 2;
        for (let i = 0; i < n; i++) {
          const len = v.getInt32(at);
          at += 4;
          if (len < 0) row[i] = null;
          else {
            row[i] = readColumn(p.types?.[i] ?? 0, body.subarray(at, at + len));
            at += len;
          }
        }
        p.rows.push(row);
        return;
      }
      case "T": { // RowDescription
        const n = v.getInt16(0);
        const types: number[] = [];
        let at = 2;
        for (let i = 0; i < n; i++) {
          at = readCstr(body, at)[1];
          types.push(v.getInt32(at + 6));
          at += 18;
        }
        this.#pending[0].types = types;
        return;
      }
      case "C": // CommandComplete
        this.#pending[0].command = readCstr(body, 0)[0];
        return;
      case "Z": { // ReadyForQuery
        if (this.#startup) {
          this.#startup.resolve();
          this.#startup = null;
          return;
        }
        const p = this.#pending.shift();
        if (!p) return;
        if (p.error) {
          if (p.prepared) this.#statements.delete(p.prepared);
          p.reject(p.error);
        } else p.resolve({ rows: p.rows, command: p.command });
        return;
      }
      case "E": { // ErrorResponse
        const err = new PgError(readFields(body));
        if (this.#startup) {
          this.#startup.reject(err);
          this.#startup = null;
          this.#conn?.close();
          return;
        }
        if (this.#pending[0]) this.#pending[0].error ??= err;
        return;
      }
      case "R":
        this.#auth(v.getInt32(0), body.subarray(4));
        return;
      case "1": // ParseComplete
      case "2": // BindComplete
      case "n": // NoData
      case "I": // EmptyQueryResponse
      case "S": // ParameterStatus
      case "K": // BackendKeyData
      case "N": // NoticeResponse
      case "A": // NotificationResponse
      case "s": // PortalSuspended
        return;
      default:
        throw new Error(`unexpected PostgreSQL message '${type}'`);
    }
  }

  #auth(kind: number, rest: Uint8Array): void {
    const cfg = this.#cfg;
    const need = () => {
      if (cfg.password === null) throw new PgError(new Map([["M", `user ${cfg.user} needs a password`]]));
      return cfg.password;
    };
    switch (kind) {
      case 0: // AuthenticationOk
        return;
      case 3: // cleartext
        this.#send(this.#w.begin("p").cstr(need()).end().take());
        return;
      case 10: { // SASL: mechanism list
        const mechs = dec.decode(rest).split("\0").filter((s) => s !== "");
        if (!mechs.includes("SCRAM-SHA-256")) {
          throw new Error(`PostgreSQL offers only ${mechs.join(", ")}; the client supports SCRAM-SHA-256`);
        }
        this.#scram = new ScramClient(need());
        const first = enc.encode(this.#scram.first());
        this.#send(this.#w.begin("p").cstr("SCRAM-SHA-256").i32(first.length).bytes(first).end().take());
        return;
      }
      case 11: { // SASLContinue
        const scram = this.#scram!;
        scram.final(dec.decode(rest)).then(
          (msg) => this.#send(this.#w.begin("p").bytes(enc.encode(msg)).end().take()),
          (e) => this.#fail(e),
        );
        return;
      }
      case 12: { // SASLFinal
        this.#scram!.verify(dec.decode(rest)).then(
          (ok) => {
            if (!ok) this.#fail(new Error("PostgreSQL's SCRAM server signature does not match"));
          },
          (e) => this.#fail(e),
        );
        return;
      }
      case 5:
        throw new Error("PostgreSQL asks for md5 password authentication; use scram-sha-256 (or trust)");
      default:
        throw new Error(`PostgreSQL asks for an unsupported authentication method (${kind})`);
    }
  }

  #send(bytes: Uint8Array): void {
    this.#conn?.write(bytes);
  }

  /** Queued statements not yet answered. */
  get inFlight(): number {
    return this.#pending.length;
  }

  /**
   * Runs one statement with binary parameters of the given type OIDs; binary results. The
   * statement is prepared once per connection (by its text) and pipelined behind any in flight.
   */
  query(sql: string, params: readonly PgParam[] = [], types: readonly number[] = []): Promise<PgResult> {
    if (this.broken) return Promise.reject(new PgConnectionError("PostgreSQL connection is closed"));
    const w = this.#w;
    let name = this.#statements.get(sql);
    let prepared: string | null = null;
    if (name === undefined) {
      name = `s${this.#statements.size}_${Math.random().toString(36).slice(2, 8)}`;
      this.#statements.set(sql, name);
      prepared = sql;
      w.begin("P").cstr(name).cstr(sql).i16(types.length);
      for (const t of types) w.i32(t);
      w.end();
    }
    w.begin("B").cstr("").cstr(name).i16(1).i16(1).i16(params.length);
    for (let i = 0; i < params.length; i++) writeParam(w, types[i], params[i]);
    w.i16(1).i16(1).end();
    w.begin("D").u8(0x50).cstr("").end(); // Describe the portal: its RowDescription gives the column types
    w.begin("E").cstr("").i32(0).end();
    w.begin("S").end();
    return this.#enqueue(w.takeChunks(), prepared);
  }

  /** Runs SQL with the simple query protocol (DDL, several statements, no parameters; text results). */
  simple(sql: string): Promise<PgResult> {
    if (this.broken) return Promise.reject(new PgConnectionError("PostgreSQL connection is closed"));
    return this.#enqueue(this.#w.begin("Q").cstr(sql).end().takeChunks(), null, true);
  }

  #enqueue(chunks: Uint8Array[], prepared: string | null, text = false): Promise<PgResult> {
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) this.#lastActivity = this.#now();
      this.#pending.push({
        resolve,
        reject,
        types: text ? [] : null,
        rows: [],
        command: "",
        error: null,
        prepared,
      });
      for (const c of chunks) this.#conn!.write(c);
      this.#watch();
    });
  }

  close(): void {
    if (this.#conn && !this.broken) {
      this.#conn.write(this.#w.begin("X").end().take());
    }
    this.broken = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#conn?.close();
  }
}

/** SCRAM-SHA-256 client (RFC 5802/7677) as PostgreSQL runs it: the user name goes in the startup message. */
class ScramClient {
  #password: string;
  #nonce: string;
  #firstBare = "";
  #serverKey: Uint8Array | null = null;
  #authMessage = "";

  constructor(password: string) {
    this.#password = password;
    this.#nonce = b64(crypto.getRandomValues(new Uint8Array(18)));
  }

  first(): string {
    this.#firstBare = `n=*,r=${this.#nonce}`;
    return `n,,${this.#firstBare}`;
  }

  async final(serverFirst: string): Promise<string> {
    const attrs = new Map(serverFirst.split(",").map((p) => [p[0], p.slice(2)] as [string, string]));
    const nonce = attrs.get("r") ?? "";
    const salt = unb64(attrs.get("s") ?? "");
    const iterations = Number(attrs.get("i"));
    if (!nonce.startsWith(this.#nonce) || !Number.isInteger(iterations) || iterations < 1) {
      throw new Error("PostgreSQL sent a malformed SCRAM server-first message");
    }
    const key = await crypto.subtle.importKey(
      "raw",
      enc.encode(this.#password) as BufferSource,
      "PBKDF2",
      false,
      ["deriveBits"],
    );
    const salted = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
        key,
        256,
      ),
    );
    const clientKey = await hmac(salted, "Client Key");
    const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey as BufferSource));
    const withoutProof = `c=biws,r=${nonce}`;
    this.#authMessage = `${this.#firstBare},${serverFirst},${withoutProof}`;
    const signature = await hmac(storedKey, this.#authMessage);
    const proof = clientKey.map((b, i) => b ^ signature[i]);
    this.#serverKey = await hmac(salted, "Server Key");
    return `${withoutProof},p=${b64(proof)}`;
  }

  async verify(serverFinal: string): Promise<boolean> {
    const v = serverFinal.split(",").find((p) => p.startsWith("v="));
    if (!v || !this.#serverKey) return false;
    return b64(await hmac(this.#serverKey, this.#authMessage)) === v.slice(2);
  }
}

async function hmac(key: Uint8Array, data: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(data) as BufferSource));
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unb64(s: string): Uint8Array {
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * A fixed set of connections, each opened on first use and again after it broke (at most one
 * attempt per RETRY_MS while PostgreSQL is unreachable: statements fail fast meanwhile).
 * Statements with the same `lane` go down the same connection, so they run in call order.
 */
export class PgPool {
  #runtime: Runtime;
  #cfg: PgConfig;
  #log: (level: LogLevel, message: string) => void;
  #slots: { conn: PgConnection | null; opening: Promise<PgConnection> | null; failedAt: number; error: Error | null }[];
  #closed = false;
  #next = 0;
  /** Statements sent (for metrics and benchmarks). */
  statements = 0;

  constructor(runtime: Runtime, cfg: PgConfig, log: (level: LogLevel, message: string) => void = () => {}) {
    this.#runtime = runtime;
    this.#cfg = cfg;
    this.#log = log;
    this.#slots = Array.from({ length: cfg.poolSize }, () => ({ conn: null, opening: null, failedAt: 0, error: null }));
  }

  get size(): number {
    return this.#slots.length;
  }

  /** The connection of slot `i`, opened if needed. */
  connection(i: number): Promise<PgConnection> {
    if (this.#closed) return Promise.reject(new PgConnectionError("PostgreSQL pool is closed"));
    const s = this.#slots[i % this.#slots.length];
    if (s.conn && !s.conn.broken) return Promise.resolve(s.conn);
    if (s.opening) return s.opening;
    const now = this.#runtime.now();
    if (s.error && now - s.failedAt < RETRY_MS) return Promise.reject(s.error);
    const wasDown = s.error !== null || s.conn !== null;
    s.conn = null;
    s.opening = PgConnection.open(this.#runtime, this.#cfg).then(
      (c) => {
        s.opening = null;
        s.error = null;
        if (this.#closed) c.close();
        s.conn = c;
        if (wasDown) this.#log("info", `PostgreSQL connection ${i} re-established`);
        return c;
      },
      (e: Error) => {
        s.opening = null;
        if (!s.error) this.#log("warn", `PostgreSQL connection ${i}: ${e.message}`);
        s.error = e;
        s.failedAt = this.#runtime.now();
        throw e;
      },
    );
    return s.opening;
  }

  /** Runs a statement; `lane` pins it to one connection (ordering), else the least busy one. */
  async query(sql: string, params: readonly PgParam[] = [], types: readonly number[] = [], lane?: number) {
    this.statements++;
    const i = lane ?? this.#leastBusy();
    const c = await this.connection(i);
    return c.query(sql, params, types);
  }

  async simple(sql: string): Promise<PgResult> {
    const c = await this.connection(this.#leastBusy());
    return c.simple(sql);
  }

  #leastBusy(): number {
    let best = this.#next++ % this.#slots.length;
    for (let i = 0; i < this.#slots.length; i++) {
      const c = this.#slots[i].conn;
      if (c && !c.broken && c.inFlight === 0) return i;
      if (c && !c.broken && (this.#slots[best].conn?.inFlight ?? Infinity) > c.inFlight) best = i;
    }
    return best;
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#slots) s.conn?.close();
  }
}

const RETRY_MS = 250;
