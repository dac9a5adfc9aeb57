// SASL mechanisms of the broker: PLAIN (RFC 4616) and
// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) on Web Crypto, as Kafka's ScramSaslServer
// runs them: the broker keeps, per user and mechanism, a salt, an iteration count, StoredKey and
// ServerKey (never the password); a client proves it knows the password without sending it.
// As in Kafka the client-final nonce only has to end with the nonce of the server-first message
// (librdkafka before 2.6.1 relies on that), channel binding is not supported (gs2 "n" or "y"), an
// authorization id must name the authenticated user, and the "tokenauth" extension (delegation
// tokens) is refused.

export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

/** Kafka's SCRAM mechanism type ids (DescribeUserScramCredentials / AlterUserScramCredentials). */
export const SCRAM_TYPE: Readonly<Record<ScramMechanism, number>> = { "SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2 };
export const MIN_ITERATIONS = 4096;
export const MAX_ITERATIONS = 16384;

export type ScramCredential = { salt: Uint8Array; iterations: number; storedKey: Uint8Array; serverKey: Uint8Array };

const HASH: Readonly<Record<ScramMechanism, { name: "SHA-256" | "SHA-512"; bits: number }>> = {
  "SCRAM-SHA-256": { name: "SHA-256", bits: 256 },
  "SCRAM-SHA-512": { name: "SHA-512", bits: 512 },
};

export function isScram(mechanism: string): mechanism is ScramMechanism {
  return mechanism === "SCRAM-SHA-256" || mechanism === "SCRAM-SHA-512";
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** HMAC with the mechanism's hash (RFC 5802 HMAC()); the SCRAM client (src/client/scram.ts) shares it. */
export async function hmac(mechanism: ScramMechanism, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: HASH[mechanism].name },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data as BufferSource));
}

/** H() of RFC 5802. */
export async function digest(mechanism: ScramMechanism, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(HASH[mechanism].name, data as BufferSource));
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2 with HMAC of the mechanism's hash. */
export async function saltedPassword(
  mechanism: ScramMechanism,
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", enc.encode(password) as BufferSource, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: HASH[mechanism].name, salt: salt as BufferSource, iterations },
    k,
    HASH[mechanism].bits,
  );
  return new Uint8Array(bits);
}

/** StoredKey and ServerKey from a salted password (what AlterUserScramCredentials sends). */
export async function credentialFromSalted(
  mechanism: ScramMechanism,
  salted: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<ScramCredential> {
  const clientKey = await hmac(mechanism, salted, enc.encode("Client Key"));
  return {
    salt,
    iterations,
    storedKey: await digest(mechanism, clientKey),
    serverKey: await hmac(mechanism, salted, enc.encode("Server Key")),
  };
}

/** A new credential for a password, with a random 32-byte salt. */
export async function credentialFromPassword(
  mechanism: ScramMechanism,
  password: string,
  iterations = MIN_ITERATIONS,
  salt?: Uint8Array,
): Promise<ScramCredential> {
  const s = salt ?? crypto.getRandomValues(new Uint8Array(32));
  return credentialFromSalted(mechanism, await saltedPassword(mechanism, password, s, iterations), s, iterations);
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unb64(s: string): Uint8Array | null {
  try {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** Compares in time that depends on the length only (passwords, SCRAM keys). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** saslname of RFC 5802: "=2C" is ",", "=3D" is "="; any other "=" is malformed. */
function unescapeName(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

/** "k=v" attributes of a SCRAM message, in order. */
function attributes(msg: string): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const part of msg.split(",")) {
    if (part.length < 2 || part[1] !== "=" || !/[a-zA-Z]/.test(part[0])) return null;
    if (!out.has(part[0])) out.set(part[0], part.slice(2));
  }
  return out;
}

export class SaslError extends Error {
  override name = "SaslError";
}

/** This process's key for made-up credentials of unknown users (never stored, never sent). */
let fakeKey: Uint8Array | null = null;

/**
 * The credential an unknown user is answered with, as PostgreSQL and Kafka do: derived from the
 * user name with a key of this process, so the same name always gets the same salt (no probing by
 * comparing salts) and the exchange costs what it costs for a real user with a wrong password.
 */
export async function fakeCredential(mechanism: ScramMechanism, user: string): Promise<ScramCredential> {
  fakeKey ??= crypto.getRandomValues(new Uint8Array(32));
  const seed = await hmac(mechanism, fakeKey, enc.encode(`${mechanism}\u0000${user}`));
  return {
    salt: seed.slice(0, 32),
    iterations: MIN_ITERATIONS,
    storedKey: await digest(mechanism, seed),
    serverKey: await hmac(mechanism, seed, enc.encode("Server Key")),
  };
}

/** Looks a user's credential up; null when the user has none for the mechanism. */
export type CredentialLookup = (user: string, mechanism: ScramMechanism) => ScramCredential | null;

/**
 * One SCRAM exchange on the server side: two client messages in, two server messages out.
 * `step` throws SaslError with the reason Kafka would give; the exchange is then over.
 */
export class ScramServer {
  private state: "first" | "final" | "done" = "first";
  private ok = false;
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";
  private gs2 = "";
  private user = "";
  private credential: ScramCredential | null = null;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: CredentialLookup,
    private readonly serverNonce: () => string = () =>
      b64(crypto.getRandomValues(new Uint8Array(24))).replace(/[+/=]/g, ""),
  ) {}

  /** The authenticated user, once complete. */
  get username(): string | null {
    return this.ok ? this.user : null;
  }

  get complete(): boolean {
    return this.ok;
  }

  async step(input: Uint8Array): Promise<Uint8Array> {
    let text: string;
    try {
      text = dec.decode(input);
    } catch {
      throw new SaslError("Invalid SCRAM message: not UTF-8");
    }
    if (this.state === "first") return enc.encode(await this.first(text));
    if (this.state === "final") return enc.encode(await this.final(text));
    throw new SaslError("Unexpected SCRAM message after authentication completed");
  }

  private async first(text: string): Promise<string> {
    // gs2-header: "n,," / "y,," (no channel binding), optionally with "a=authzid".
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (!m) {
      throw new SaslError(
        text.startsWith("p=") ? "Channel binding is not supported" : "Invalid SCRAM client first message",
      );
    }
    const bare = m[3];
    const attrs = attributes(bare);
    if (!attrs || !attrs.has("n") || !attrs.has("r") || bare.indexOf("n=") !== 0) {
      throw new SaslError("Invalid SCRAM client first message");
    }
    if (attrs.has("m")) throw new SaslError("SCRAM mandatory extensions are not supported");
    const user = unescapeName(attrs.get("n")!);
    if (user === null || user === "") throw new SaslError("Invalid SCRAM user name");
    if (m[2] !== undefined) {
      const authzid = unescapeName(m[2].slice(2));
      if (authzid !== "" && authzid !== user) {
        throw new SaslError(
          "Authentication failed: Client requested an authorization id that is different from username",
        );
      }
    }
    // Extensions after the nonce (e.g. tokenauth=true for delegation tokens).
    for (const part of bare.split(",").slice(2)) {
      const [k, v] = [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)];
      if (k === "tokenauth" && v === "true") {
        throw new SaslError("Authentication failed: delegation tokens are not supported");
      }
    }
    const clientNonce = attrs.get("r")!;
    if (clientNonce === "" || /[^\x21-\x2b\x2d-\x7e]/.test(clientNonce)) {
      throw new SaslError("Invalid SCRAM client nonce");
    }
    this.user = user;
    this.gs2 = text.slice(0, text.length - bare.length);
    this.clientFirstBare = bare;
    // An unknown user goes on with a made-up credential, so the failure comes at the proof, after the
    // same work as a wrong password (no user probing by answer or time). It is computed for every
    // user, so that the first message costs the same too.
    const fake = await fakeCredential(this.mechanism, user);
    const cred = this.lookup(user, this.mechanism) ?? fake;
    this.credential = cred;
    this.nonce = clientNonce + this.serverNonce();
    this.serverFirst = `r=${this.nonce},s=${b64(cred.salt)},i=${cred.iterations}`;
    this.state = "final";
    return this.serverFirst;
  }

  private async final(text: string): Promise<string> {
    this.state = "done";
    const pIndex = text.lastIndexOf(",p=");
    const attrs = attributes(text);
    if (pIndex < 0 || !attrs || !attrs.has("c") || !attrs.has("r") || !attrs.has("p")) {
      throw new SaslError("Invalid SCRAM client final message");
    }
    const binding = unb64(attrs.get("c")!);
    if (binding === null || new TextDecoder().decode(binding) !== this.gs2) {
      throw new SaslError("Invalid SCRAM channel binding");
    }
    if (!attrs.get("r")!.endsWith(this.nonce)) throw new SaslError("Invalid client nonce in the final client message.");
    const proof = unb64(attrs.get("p")!);
    const cred = this.credential;
    const fail = new SaslError(
      `Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`,
    );
    if (!cred) throw fail;
    // A proof of the wrong length is checked all the same (as a zero proof), to cost the same.
    const given = proof && proof.length === cred.storedKey.length ? proof : new Uint8Array(cred.storedKey.length);
    const authMessage = enc.encode(`${this.clientFirstBare},${this.serverFirst},${text.slice(0, pIndex)}`);
    const clientSignature = await hmac(this.mechanism, cred.storedKey, authMessage);
    const clientKey = given.map((b, i) => b ^ clientSignature[i]);
    if (!equalBytes(await digest(this.mechanism, clientKey), cred.storedKey) || given !== proof) throw fail;
    this.ok = true;
    return `v=${b64(await hmac(this.mechanism, cred.serverKey, authMessage))}`;
  }
}

/**
 * SASL/PLAIN (RFC 4616): "authzid NUL authcid NUL passwd" checked against the configured users
 * (Kafka's PlainLoginModule `user_<name>="<password>"` entries). Returns the user name.
 */
export function checkPlain(input: Uint8Array, users: ReadonlyMap<string, string>): string {
  let text: string;
  try {
    text = dec.decode(input);
  } catch {
    throw new SaslError("Invalid SASL/PLAIN message: not UTF-8");
  }
  const parts = text.split("\u0000");
  if (parts.length !== 3) throw new SaslError("Invalid SASL/PLAIN response: expected 3 tokens");
  const [authzid, user, password] = parts;
  if (user === "") throw new SaslError("Authentication failed: username not specified");
  if (password === "") throw new SaslError("Authentication failed: password not specified");
  if (authzid !== "" && authzid !== user) {
    throw new SaslError("Authentication failed: Client requested an authorization id that is different from username");
  }
  const expected = users.get(user);
  // Compare in constant time for the password's length; an unknown user compares against itself.
  const a = enc.encode(password);
  const b = enc.encode(expected ?? password);
  if (expected === undefined || !equalBytes(a, b)) {
    throw new SaslError("Authentication failed: Invalid username or password");
  }
  return user;
}

/**
 * The `user_<name>="<password>"` entries of a PlainLoginModule JAAS config, as Kafka reads them
 * from `sasl.jaas.config` / `listener.name.<listener>.plain.sasl.jaas.config`.
 */
export function plainUsersFromJaas(jaas: string): Map<string, string> {
  const users = new Map<string, string>();
  const re = /\buser_([^\s=]+)\s*=\s*"((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(jaas); m; m = re.exec(jaas)) users.set(m[1], m[2].replace(/\\(.)/g, "$1"));
  return users;
}
