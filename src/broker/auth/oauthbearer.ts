// SASL/OAUTHBEARER (RFC 7628, KIP-255, KIP-768) as Kafka's broker validates tokens:
// - secured (Kafka's OAuthBearerValidatorCallbackHandler): when `sasl.oauthbearer.jwks.endpoint.url`
//   is set, a JWT signed with a key of that JWKS (RS256/384/512, PS256/384/512, ES256/384/512),
//   its `exp` (and `nbf`, `iat`) checked with `sasl.oauthbearer.clock.skew.seconds` (30), the
//   issuer and audiences against `sasl.oauthbearer.expected.issuer` / `.expected.audience` when
//   set; the principal is the `sasl.oauthbearer.sub.claim.name` claim (sub). The JWKS comes from a
//   file:// URL through the FileSystem port, or an http(s) URL with fetch, refreshed every
//   `sasl.oauthbearer.jwks.endpoint.refresh.ms` (3600000) and when a token names an unknown key.
// - unsecured (Kafka's default OAuthBearerUnsecuredValidatorCallbackHandler, for development):
//   an unsigned JWT ("alg":"none") with `sub` and `exp`, the JAAS options
//   unsecuredValidatorPrincipalClaimName, unsecuredValidatorScopeClaimName,
//   unsecuredValidatorRequiredScope and unsecuredValidatorAllowableClockSkewMs honoured.
// A failed validation is SASL_AUTHENTICATION_FAILED with the reason (Kafka first sends the JSON
// error as a challenge; clients report the failure either way). Extensions are accepted and ignored.
import { escapeForLog } from "../log_limit.ts";
import type { BrokerConfig } from "../../config.ts";
import type { FileSystem } from "../../runtime.ts";
import { SaslError } from "./sasl.ts";

const dec = new TextDecoder("utf-8", { fatal: true });

function b64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  try {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function json(part: string): Record<string, unknown> | null {
  const bytes = b64url(part);
  if (!bytes) return null;
  try {
    const v = JSON.parse(dec.decode(bytes));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

/** The bearer token of a client's initial response (gs2 header, then \x01-separated key=value pairs). */
export function parseInitialResponse(input: Uint8Array): { token: string; authzid: string | null } {
  let text: string;
  try {
    text = dec.decode(input);
  } catch {
    throw new SaslError("Invalid OAUTHBEARER client first message: not UTF-8");
  }
  const m = /^n,(a=([^,]*))?,\x01(.*)\x01\x01$/s.exec(text);
  if (!m) throw new SaslError("Invalid OAUTHBEARER client first message");
  let token: string | null = null;
  for (const kv of m[3].split("\x01")) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new SaslError("Invalid OAUTHBEARER client first message");
    const k = kv.slice(0, eq);
    const v = kv.slice(eq + 1);
    if (k === "auth") {
      const b = /^Bearer ([\x21-\x7e]+)$/i.exec(v);
      if (!b) throw new SaslError("Invalid OAUTHBEARER client first message: auth is not a bearer token");
      token = b[1];
    }
  }
  if (token === null) throw new SaslError("Invalid OAUTHBEARER client first message: no auth");
  return { token, authzid: m[2] ?? null };
}

type Jwk = { kid?: string; kty?: string; alg?: string; use?: string; [k: string]: unknown };

const ALGS: Record<
  string,
  { import: RsaHashedImportParams | EcKeyImportParams; verify: AlgorithmIdentifier | RsaPssParams | EcdsaParams }
> = {
  RS256: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  RS384: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  RS512: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  PS256: { import: { name: "RSA-PSS", hash: "SHA-256" }, verify: { name: "RSA-PSS", saltLength: 32 } as RsaPssParams },
  PS384: { import: { name: "RSA-PSS", hash: "SHA-384" }, verify: { name: "RSA-PSS", saltLength: 48 } as RsaPssParams },
  PS512: { import: { name: "RSA-PSS", hash: "SHA-512" }, verify: { name: "RSA-PSS", saltLength: 64 } as RsaPssParams },
  ES256: { import: { name: "ECDSA", namedCurve: "P-256" }, verify: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams },
  ES384: { import: { name: "ECDSA", namedCurve: "P-384" }, verify: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams },
  ES512: { import: { name: "ECDSA", namedCurve: "P-521" }, verify: { name: "ECDSA", hash: "SHA-512" } as EcdsaParams },
};

export type OAuthSettings = {
  jwksUrl: string | null;
  refreshMs: number;
  clockSkewMs: number;
  expectedIssuer: string | null;
  expectedAudience: string[];
  subClaim: string;
  scopeClaim: string;
  /** Unsecured validator (JAAS options). */
  unsecured: { principalClaim: string; scopeClaim: string; requiredScope: string[]; clockSkewMs: number };
};

export function oauthSettings(config: BrokerConfig, listener: string): OAuthSettings {
  const get = (name: string): string | null => {
    const v = config[`listener.name.${listener.toLowerCase()}.oauthbearer.${name}`] ?? config[name];
    return v === undefined || v === null || v === "" ? null : String(v);
  };
  const jaas = String(
    config[`listener.name.${listener.toLowerCase()}.oauthbearer.sasl.jaas.config`] ?? config["sasl.jaas.config"] ?? "",
  );
  const opt = (name: string): string | null => {
    const m = new RegExp(`\\b${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(jaas);
    return m ? m[1] : null;
  };
  const list = (v: string | null) => (v === null ? [] : v.split(/[ ,]+/).filter((s) => s !== ""));
  return {
    jwksUrl: get("sasl.oauthbearer.jwks.endpoint.url"),
    refreshMs: Number(get("sasl.oauthbearer.jwks.endpoint.refresh.ms") ?? 3_600_000),
    clockSkewMs: Number(get("sasl.oauthbearer.clock.skew.seconds") ?? 30) * 1000,
    expectedIssuer: get("sasl.oauthbearer.expected.issuer"),
    expectedAudience: list(get("sasl.oauthbearer.expected.audience")),
    subClaim: get("sasl.oauthbearer.sub.claim.name") ?? "sub",
    scopeClaim: get("sasl.oauthbearer.scope.claim.name") ?? "scope",
    unsecured: {
      principalClaim: opt("unsecuredValidatorPrincipalClaimName") ?? "sub",
      scopeClaim: opt("unsecuredValidatorScopeClaimName") ?? "scope",
      requiredScope: list(opt("unsecuredValidatorRequiredScope")),
      clockSkewMs: Number(opt("unsecuredValidatorAllowableClockSkewMs") ?? 0),
    },
  };
}

/** Kafka's RefreshingHttpsJwks.MISSING_KEY_ID_CACHE_IN_FLIGHT_MS: unknown key ids refresh at most this often. */
const MISSING_KID_REFRESH_MS = 10_000;

/** Validates bearer tokens for one listener; keeps the JWKS it fetched. */
export class OAuthValidator {
  private keys: Jwk[] = [];
  private fetchedAt = -Infinity;
  /** When an unknown key id last forced a refresh. */
  private forcedAt = -Infinity;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly settings: OAuthSettings,
    private readonly fs: FileSystem,
    private readonly now: () => number,
  ) {}

  get secured(): boolean {
    return this.settings.jwksUrl !== null;
  }

  private async loadKeys(): Promise<void> {
    const url = this.settings.jwksUrl!;
    let text: string;
    if (url.startsWith("file://")) {
      const bytes = await this.fs.readFile(decodeURIComponent(url.slice("file://".length)));
      if (bytes === null) throw new SaslError(`The JWKS at ${url} does not exist`);
      text = new TextDecoder().decode(bytes);
    } else {
      const r = await fetch(url);
      if (!r.ok) throw new SaslError(`The JWKS endpoint ${url} answered ${r.status}`);
      text = await r.text();
    }
    const parsed = JSON.parse(text) as { keys?: Jwk[] };
    this.keys = Array.isArray(parsed.keys) ? parsed.keys : [];
    this.fetchedAt = this.now();
  }

  private async keysFor(kid: string | undefined, force: boolean): Promise<Jwk[]> {
    if (force || this.now() - this.fetchedAt > this.settings.refreshMs) {
      this.loading ??= this.loadKeys().finally(() => (this.loading = null));
      await this.loading;
    }
    return this.keys.filter((k) => kid === undefined || k.kid === kid);
  }

  /** The principal name the token proves, or a SaslError with the reason. */
  async validate(token: string): Promise<string> {
    const parts = token.split(".");
    if (parts.length !== 3) throw new SaslError("invalid_token: not a JWT (header.payload.signature)");
    const header = json(parts[0]);
    const claims = json(parts[1]);
    if (!header || !claims) throw new SaslError("invalid_token: the JWT header or payload is not JSON");
    const alg = String(header.alg ?? "");
    const skew = this.secured ? this.settings.clockSkewMs : this.settings.unsecured.clockSkewMs;
    if (this.secured) {
      const algo = ALGS[alg];
      if (!algo) throw new SaslError(`invalid_token: signature algorithm ${escapeForLog(alg, 100)} is not accepted`);
      const kid = typeof header.kid === "string" ? header.kid : undefined;
      let candidates = await this.keysFor(kid, false);
      // An unknown key id refreshes the JWKS, at most once per MISSING_KID_REFRESH_MS (Kafka's
      // RefreshingHttpsJwks), so tokens naming made-up keys cannot make the broker fetch on every try.
      if (candidates.length === 0 && kid !== undefined && this.now() - this.forcedAt >= MISSING_KID_REFRESH_MS) {
        this.forcedAt = this.now();
        candidates = await this.keysFor(kid, true);
      }
      if (candidates.length === 0) {
        throw new SaslError(`invalid_token: no key ${escapeForLog(kid ?? "", 100)} in the JWKS`.trim());
      }
      const signature = b64url(parts[2]);
      if (!signature) throw new SaslError("invalid_token: the signature is not base64url");
      const data = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
      let ok = false;
      for (const jwk of candidates) {
        try {
          const key = await crypto.subtle.importKey("jwk", jwk as JsonWebKey, algo.import, false, ["verify"]);
          if (await crypto.subtle.verify(algo.verify, key, signature as BufferSource, data as BufferSource)) {
            ok = true;
            break;
          }
        } catch {
          // a key of another type
        }
      }
      if (!ok) throw new SaslError("invalid_token: the signature does not verify");
    } else if (alg !== "none" || parts[2] !== "") {
      throw new SaslError("invalid_token: the unsecured validator only takes unsigned tokens (alg none)");
    }
    const now = this.now();
    const num = (k: string) => (typeof claims[k] === "number" ? claims[k] as number : null);
    const exp = num("exp");
    if (exp === null) throw new SaslError("invalid_token: no exp claim");
    if (exp * 1000 + skew < now) throw new SaslError("invalid_token: the token expired");
    const nbf = num("nbf");
    if (nbf !== null && nbf * 1000 - skew > now) throw new SaslError("invalid_token: the token is not valid yet (nbf)");
    const iat = num("iat");
    if (iat !== null && iat * 1000 - skew > now) {
      throw new SaslError("invalid_token: the token was issued in the future (iat)");
    }
    if (this.secured) {
      if (this.settings.expectedIssuer !== null && claims.iss !== this.settings.expectedIssuer) {
        throw new SaslError("invalid_token: unexpected issuer");
      }
      if (this.settings.expectedAudience.length > 0) {
        const aud = Array.isArray(claims.aud)
          ? claims.aud.map(String)
          : typeof claims.aud === "string"
          ? [claims.aud]
          : [];
        if (!aud.some((a) => this.settings.expectedAudience.includes(a))) {
          throw new SaslError("invalid_token: unexpected audience");
        }
      }
    } else if (this.settings.unsecured.requiredScope.length > 0) {
      const raw = claims[this.settings.unsecured.scopeClaim];
      const scope = Array.isArray(raw) ? raw.map(String) : typeof raw === "string" ? raw.split(" ") : [];
      for (const s of this.settings.unsecured.requiredScope) {
        if (!scope.includes(s)) throw new SaslError(`insufficient_scope: ${s} is required`);
      }
    }
    const subClaim = this.secured ? this.settings.subClaim : this.settings.unsecured.principalClaim;
    const sub = claims[subClaim];
    if (typeof sub !== "string" || sub.trim() === "") throw new SaslError(`invalid_token: no ${subClaim} claim`);
    return sub;
  }
}
