// Authentication: the listener's security protocol, the enabled SASL mechanisms, PLAIN users
// (Kafka's JAAS `user_<name>="<password>"` entries) and SCRAM credentials (AlterUserScramCredentials,
// `--add-scram`, kept in the admin store), and the per-connection SASL exchange.
//
// Configs (Kafka's names): `listeners` (its scheme: PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL;
// TLS settings in tls.ts), `listener.security.protocol.map`, `sasl.enabled.mechanisms` (Kafka: GSSAPI;
// here PLAIN,SCRAM-SHA-256,SCRAM-SHA-512, GSSAPI and OAUTHBEARER are not available),
// `listener.name.<listener>.plain.sasl.jaas.config` or `sasl.jaas.config` for PLAIN users.
import type { BrokerConfig } from "../../config.ts";
import type { FileSystem } from "../../runtime.ts";
import { oauthSettings, OAuthValidator, parseInitialResponse } from "./oauthbearer.ts";
import type { ScramCredential, ScramMechanism } from "./sasl.ts";
import {
  checkPlain,
  credentialFromPassword,
  isScram,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  plainUsersFromJaas,
  SaslError,
  SCRAM_MECHANISMS,
  ScramServer,
} from "./sasl.ts";

export type SecurityProtocol = "PLAINTEXT" | "SASL_PLAINTEXT" | "SSL" | "SASL_SSL";
export const SECURITY_PROTOCOLS: readonly string[] = ["PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL"];

export const SUPPORTED_MECHANISMS = ["PLAIN", ...SCRAM_MECHANISMS, "OAUTHBEARER"] as const;
/** Enabled when sasl.enabled.mechanisms is unset; OAUTHBEARER must be named (its unsecured default accepts unsigned tokens). */
export const DEFAULT_MECHANISMS = ["PLAIN", ...SCRAM_MECHANISMS] as const;

export type ListenerSpec = { name: string; protocol: string; host: string | null; port: number | null };

function protocolMap(config: BrokerConfig): Map<string, string> {
  const map = new Map<string, string>([
    ["PLAINTEXT", "PLAINTEXT"],
    ["SSL", "SSL"],
    ["SASL_PLAINTEXT", "SASL_PLAINTEXT"],
    ["SASL_SSL", "SASL_SSL"],
  ]);
  const configured = config["listener.security.protocol.map"];
  if (typeof configured === "string") {
    for (const pair of configured.split(",")) {
      const [k, v] = pair.split(":").map((s) => s.trim().toUpperCase());
      if (k && v) map.set(k, v);
    }
  }
  return map;
}

/** `NAME://host:port` entries of a listeners-style config (Kafka's form); [] when unset. Throws on a bad entry. */
export function parseListeners(raw: unknown, config: BrokerConfig, what = "listeners"): ListenerSpec[] {
  const items = typeof raw === "string" ? raw.split(",") : Array.isArray(raw) ? raw.map(String) : [];
  const map = protocolMap(config);
  const out: ListenerSpec[] = [];
  for (const item of items.map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(item);
    if (!m) throw new Error(`${what}: "${item}" is not NAME://host:port`);
    const name = m[1].toUpperCase();
    if (out.some((l) => l.name === name)) throw new Error(`${what}: listener name ${name} appears twice`);
    out.push({
      name,
      protocol: map.get(name) ?? name,
      host: m[2] === "" ? null : m[2].replace(/^\[|\]$/g, ""),
      port: Number(m[3]),
    });
  }
  return out;
}

/** The SCRAM credentials of all users: user -> mechanism -> credential. */
export type ScramSnapshot = {
  user: string;
  mechanism: ScramMechanism;
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}[];

const b64 = (b: Uint8Array) => {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
};
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

export class ScramCredentials {
  private readonly users = new Map<string, Map<ScramMechanism, ScramCredential>>();
  /** Called after every change (persistence). */
  onChange: () => Promise<void> | void = () => {};
  /**
   * Runs one change (the broker wires it to the admin store: in a cluster it first adopts the stored state and
   * runs the change again if another broker stored one meanwhile).
   */
  transact: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();
  /** set/delete calls not stored yet: `changed` replays them onto the latest stored state, then stores it. */
  private pending: [string, ScramMechanism, ScramCredential | null][] = [];

  get(user: string, mechanism: ScramMechanism): ScramCredential | null {
    return this.users.get(user)?.get(mechanism) ?? null;
  }

  /** Users with their mechanisms and iteration counts (DescribeUserScramCredentials). */
  describe(user: string): { mechanism: ScramMechanism; iterations: number }[] | null {
    const m = this.users.get(user);
    if (!m || m.size === 0) return null;
    return [...m].map(([mechanism, c]) => ({ mechanism, iterations: c.iterations }));
  }

  userNames(): string[] {
    return [...this.users.keys()].sort();
  }

  has(user: string, mechanism: ScramMechanism): boolean {
    return this.users.get(user)?.has(mechanism) ?? false;
  }

  set(user: string, mechanism: ScramMechanism, c: ScramCredential) {
    this.pending.push([user, mechanism, c]);
    this.put(user, mechanism, c);
  }

  private put(user: string, mechanism: ScramMechanism, c: ScramCredential) {
    let m = this.users.get(user);
    if (!m) this.users.set(user, m = new Map());
    m.set(mechanism, c);
  }

  delete(user: string, mechanism: ScramMechanism): boolean {
    this.pending.push([user, mechanism, null]);
    return this.remove(user, mechanism);
  }

  private remove(user: string, mechanism: ScramMechanism): boolean {
    const m = this.users.get(user);
    if (!m || !m.delete(mechanism)) return false;
    if (m.size === 0) this.users.delete(user);
    return true;
  }

  /** Stores the changes made by set/delete since the last call. */
  async changed() {
    const ops = this.pending;
    this.pending = [];
    await this.transact(async () => {
      for (const [user, mechanism, c] of ops) {
        if (c === null) this.remove(user, mechanism);
        else this.put(user, mechanism, c);
      }
      await this.onChange();
    });
  }

  snapshot(): ScramSnapshot {
    const out: ScramSnapshot = [];
    for (const [user, m] of this.users) {
      for (const [mechanism, c] of m) {
        out.push({
          user,
          mechanism,
          salt: b64(c.salt),
          iterations: c.iterations,
          storedKey: b64(c.storedKey),
          serverKey: b64(c.serverKey),
        });
      }
    }
    return out;
  }

  restore(s: ScramSnapshot) {
    this.users.clear();
    for (const x of s) {
      if (!isScram(x.mechanism)) continue;
      this.put(x.user, x.mechanism, {
        salt: unb64(x.salt),
        iterations: x.iterations,
        storedKey: unb64(x.storedKey),
        serverKey: unb64(x.serverKey),
      });
    }
  }
}

/** One connection's SASL exchange, from SaslHandshake to the last SaslAuthenticate. */
export class SaslExchange {
  private scram: ScramServer | null = null;
  private done = false;
  /** SaslHandshake v0: the tokens then travel as bare length-prefixed frames, not SaslAuthenticate. */
  readonly legacy: boolean;

  constructor(readonly mechanism: string, legacy: boolean, private readonly auth: ListenerAuth) {
    this.legacy = legacy;
    if (isScram(mechanism)) this.scram = new ScramServer(mechanism, (u, m) => auth.scram.get(u, m));
  }

  /**
   * One client token in, the server's token out, and the principal once authenticated.
   * Throws SaslError when authentication failed (the connection is then closed).
   */
  async step(token: Uint8Array): Promise<{ response: Uint8Array; principal: string | null }> {
    if (this.done) throw new SaslError("Authentication already completed");
    if (this.mechanism === "PLAIN") {
      this.done = true;
      const user = checkPlain(token, this.auth.plainUsers);
      return { response: new Uint8Array(0), principal: `User:${user}` };
    }
    if (this.mechanism === "OAUTHBEARER") {
      this.done = true;
      const { token: bearer, authzid } = parseInitialResponse(token);
      const sub = await this.auth.oauth().validate(bearer);
      if (authzid !== null && authzid !== "" && authzid !== sub) {
        throw new SaslError("Authentication failed: the authorization id is not the token's principal");
      }
      return { response: new Uint8Array(0), principal: `User:${sub}` };
    }
    if (!this.scram) throw new SaslError(`Unsupported SASL mechanism ${this.mechanism}`);
    try {
      const response = await this.scram.step(token);
      if (this.scram.complete) {
        this.done = true;
        return { response, principal: `User:${this.scram.username}` };
      }
      return { response, principal: null };
    } catch (e) {
      this.done = true;
      throw e;
    }
  }
}

/**
 * One `--add-scram` value in kafka-storage's form: `SCRAM-SHA-256=[name=alice,password=alice-secret]`,
 * optionally with `iterations=8192`. Throws with a message for the user.
 */
export function parseAddScram(
  spec: string,
): { mechanism: ScramMechanism; name: string; password: string; iterations: number } {
  const m = /^\s*(SCRAM-SHA-(?:256|512))=\[(.*)\]\s*$/s.exec(spec);
  if (!m) {
    throw new Error(`--add-scram expects SCRAM-SHA-256=[name=...,password=...] (or SCRAM-SHA-512), got "${spec}"`);
  }
  const fields = new Map<string, string>();
  for (const part of m[2].split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`--add-scram: "${part}" is not key=value`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim().replace(/^"(.*)"$/s, "$1"));
  }
  const name = fields.get("name") ?? "";
  const password = fields.get("password") ?? "";
  const iterations = fields.has("iterations") ? Number(fields.get("iterations")) : MIN_ITERATIONS;
  if (name === "" || password === "") throw new Error(`--add-scram: name and password are required in "${spec}"`);
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new Error(
      `--add-scram: iterations must be in [${MIN_ITERATIONS}, ${MAX_ITERATIONS}], got ${fields.get("iterations")}`,
    );
  }
  return { mechanism: m[1] as ScramMechanism, name, password, iterations };
}

/** One listener's authentication: its security protocol, SASL mechanisms and PLAIN users. */
export class ListenerAuth {
  readonly plainUsers: ReadonlyMap<string, string>;

  private validator: OAuthValidator | null = null;

  constructor(
    readonly name: string,
    readonly protocol: string,
    readonly scram: ScramCredentials,
    private readonly config: BrokerConfig,
    private readonly env: { fs: FileSystem; now: () => number },
  ) {
    const jaas = config[`listener.name.${name.toLowerCase()}.plain.sasl.jaas.config`] ?? config["sasl.jaas.config"];
    this.plainUsers = typeof jaas === "string" ? plainUsersFromJaas(jaas) : new Map();
  }

  /** Connections must authenticate before anything but ApiVersions and the SASL requests. */
  get required(): boolean {
    return this.protocol === "SASL_PLAINTEXT" || this.protocol === "SASL_SSL";
  }

  /** The listener speaks TLS. */
  get tls(): boolean {
    return this.protocol === "SSL" || this.protocol === "SASL_SSL";
  }

  /** `[listener.name.<listener>.]sasl.enabled.mechanisms`, restricted to what this broker implements. */
  get mechanisms(): string[] {
    const raw = this.config[`listener.name.${this.name.toLowerCase()}.sasl.enabled.mechanisms`] ??
      this.config["sasl.enabled.mechanisms"];
    const list = raw === undefined || raw === null
      ? [...DEFAULT_MECHANISMS]
      : Array.isArray(raw)
      ? raw.map(String)
      : String(raw).split(",");
    return list.map((s) => s.trim().toUpperCase()).filter((s) =>
      (SUPPORTED_MECHANISMS as readonly string[]).includes(s)
    );
  }

  /** OAUTHBEARER's token validator for this listener (secured with a JWKS, else unsecured). */
  oauth(): OAuthValidator {
    return (this.validator ??= new OAuthValidator(oauthSettings(this.config, this.name), this.env.fs, this.env.now));
  }

  /** A new exchange, or null for a mechanism that is not enabled. */
  exchange(mechanism: string, legacy: boolean): SaslExchange | null {
    return this.mechanisms.includes(mechanism) ? new SaslExchange(mechanism, legacy, this) : null;
  }
}

export class Authentication {
  readonly scram = new ScramCredentials();
  /** Every listener of `listeners` (one PLAINTEXT listener when unset), in order. */
  readonly listeners: ListenerAuth[];

  constructor(config: BrokerConfig, env: { fs: FileSystem; now: () => number }) {
    const specs = parseListeners(config.listeners, config);
    const named = specs.length ? specs : [{ name: "PLAINTEXT", protocol: "PLAINTEXT" }];
    this.listeners = named.map((l) => new ListenerAuth(l.name, l.protocol, this.scram, config, env));
  }

  /** The first listener's security protocol (what a single-listener broker has). */
  get securityProtocol(): string {
    return this.listeners[0].protocol;
  }

  /**
   * `--add-scram` (config chronik.add.scram): creates each credential whose user has none for
   * that mechanism yet, as kafka-storage format does once; later changes go through
   * AlterUserScramCredentials.
   */
  async bootstrap(specs: unknown): Promise<void> {
    const list = specs === undefined || specs === null
      ? []
      : Array.isArray(specs)
      ? specs.map(String)
      : [String(specs)];
    let added = false;
    for (const spec of list) {
      const { mechanism, name, password, iterations } = parseAddScram(spec);
      if (this.scram.has(name, mechanism)) continue;
      this.scram.set(name, mechanism, await credentialFromPassword(mechanism, password, iterations));
      added = true;
    }
    if (added) await this.scram.changed();
  }
}
