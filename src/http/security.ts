// The HTTP side's front door (issue #14 item 5): who is asking, and may a browser on another site
// make them ask.
//
// - Authentication: when any Kafka listener requires SASL, every HTTP route but /health and /ready
//   requires it too: HTTP Basic against the SASL users (PLAIN users of any listener, or SCRAM
//   credentials, checked by deriving the salted password; unknown users cost the same derivation,
//   basicPasswordOk), answered 401 with a Basic challenge otherwise. The principal (User:<name>) is
//   then authorized by the broker's authorizer, with the client's address as the ACL host, exactly
//   as on the Kafka listeners. Verified credentials are remembered for a minute (keyed by a hash of
//   the header) so that SCRAM's key derivation is not repeated on every request. Without SASL
//   listeners the principal is User:ANONYMOUS. Routes decide authorization on a topic's or group's
//   name before looking it up (403 whether or not it exists), as Kafka does.
// - Cross-site requests: writes (POST, PUT, PATCH, DELETE) must send a JSON content type (415
//   otherwise), so an HTML form or a text/plain "simple request" from another site cannot write;
//   a request whose Origin is not the host it was sent to is refused (403); no CORS headers are
//   ever sent. The Host header must name this server (an IP literal, localhost, the advertised
//   host, or one of chronik.http.allowed.hosts) or the request is refused (403), so that a DNS
//   rebinding page cannot read through a browser on the operator's machine.
import type { Context, MiddlewareHandler } from "hono";
import {
  credentialFromSalted,
  equalBytes,
  fakeCredential,
  saltedPassword,
  SCRAM_MECHANISMS,
} from "../broker/auth/sasl.ts";
import { CLUSTER_NAME, ResourceType } from "../broker/auth/acl.ts";
import type { Services } from "../broker/services.ts";
import { base64ToBytes } from "./base64.ts";

export type HttpEnv = { Bindings: { remoteAddress: string }; Variables: { principal: string } };

const OPEN = new Set(["/health", "/ready"]);
const CACHE_MS = 60_000;

async function sha256(text: string): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...h].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function hostAllowed(svc: Services, host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "").toLowerCase();
  if (name === "localhost" || /^[\d.]+$/.test(name) || name.includes(":")) return true;
  if (name === svc.advertised.host.toLowerCase()) return true;
  const extra = String(svc.config["chronik.http.allowed.hosts"] ?? "").split(",").map((s) => s.trim().toLowerCase());
  return extra.includes(name) || extra.includes("*");
}

export function httpSecurity(svc: Services): MiddlewareHandler<HttpEnv> {
  const verified = new Map<string, { principal: string; until: number }>();

  async function check(header: string): Promise<string | null> {
    const key = await sha256(header);
    const hit = verified.get(key);
    if (hit && hit.until > svc.now()) return hit.principal;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (!m) return null;
    let text: string;
    try {
      text = new TextDecoder().decode(base64ToBytes(m[1]));
    } catch {
      return null;
    }
    const colon = text.indexOf(":");
    if (colon <= 0) return null;
    const user = text.slice(0, colon);
    if (!await basicPasswordOk(svc.auth, user, text.slice(colon + 1))) return null;
    if (verified.size > 10_000) verified.clear();
    verified.set(key, { principal: `User:${user}`, until: svc.now() + CACHE_MS });
    return `User:${user}`;
  }

  return async (c, next) => {
    const url = new URL(c.req.url);
    const host = c.req.header("host") ?? url.host;
    if (!hostAllowed(svc, host)) {
      return c.json({ error_code: 403, message: `Host ${host} is not served here (chronik.http.allowed.hosts)` }, 403);
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== "null") {
      let same = false;
      try {
        same = new URL(origin).host.toLowerCase() === host.toLowerCase();
      } catch { /* not a URL: refused below */ }
      if (!same) return c.json({ error_code: 403, message: "Cross-origin requests are not allowed" }, 403);
    } else if (origin === "null") {
      return c.json({ error_code: 403, message: "Cross-origin requests are not allowed" }, 403);
    }
    const method = c.req.method.toUpperCase();
    if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") {
      const type = c.req.header("content-type") ?? "";
      const hasBody = c.req.header("content-length") !== "0" && (c.req.header("content-length") !== undefined ||
        c.req.header("transfer-encoding") !== undefined);
      if (hasBody && !/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
        return c.json({ error_code: 415, message: `Unsupported content type ${type || "(none)"}: send JSON` }, 415);
      }
    }
    if (OPEN.has(url.pathname)) {
      c.set("principal", "User:ANONYMOUS");
      return next();
    }
    const required = svc.auth.listeners.some((l) => l.required);
    if (!required) {
      c.set("principal", "User:ANONYMOUS");
      return next();
    }
    const header = c.req.header("authorization");
    const principal = header ? await check(header) : null;
    if (!principal) {
      return c.json({ error_code: 401, message: "Authentication required" }, 401, {
        "www-authenticate": 'Basic realm="chronik", charset="UTF-8"',
      });
    }
    c.set("principal", principal);
    return next();
  };
}

/** Derives a SCRAM salted password (saltedPassword; a parameter so that a test can count the calls). */
export type Derive = typeof saltedPassword;

/**
 * Whether `password` is `user`'s: a PLAIN user's password (any listener) or a SCRAM credential's.
 * Every call costs the same whoever the user is: one key derivation per SCRAM mechanism, against
 * the user's credential or, for a user without one (unknown users included), against the made-up
 * credential the SCRAM exchange answers unknown users with; PLAIN passwords are compared in
 * constant time. So the time of a 401 does not tell which users exist.
 */
export async function basicPasswordOk(
  auth: Services["auth"],
  user: string,
  password: string,
  derive: Derive = saltedPassword,
): Promise<boolean> {
  const enc = new TextEncoder();
  const given = enc.encode(password);
  let ok = false;
  for (const l of auth.listeners) {
    const p = l.plainUsers.get(user);
    // An unknown user compares against the password itself, as checkPlain does.
    const expected = enc.encode(p ?? password);
    ok = (equalBytes(expected, given) && p !== undefined) || ok;
  }
  for (const mech of SCRAM_MECHANISMS) {
    const real = auth.scram.get(user, mech);
    const cred = real ?? await fakeCredential(mech, user);
    const salted = await derive(mech, password, cred.salt, cred.iterations);
    const mine = await credentialFromSalted(mech, salted, cred.salt, cred.iterations);
    ok = (equalBytes(mine.storedKey, cred.storedKey) && real !== null) || ok;
  }
  return ok;
}

/** The broker's authorizer for this HTTP request's principal and client address. */
export function httpAllowed(
  svc: Services,
  c: Context,
  operation: number,
  resourceType: number,
  name: string,
): boolean {
  if (!svc.acls.enabled) return true;
  const principal = (c.get("principal") as string | undefined) ?? "User:ANONYMOUS";
  const remote = (c.env as { remoteAddress?: string } | undefined)?.remoteAddress ?? "";
  return svc.acls.authorize(principal, remote || "*", operation, resourceType, name);
}

export function httpClusterAllowed(svc: Services, c: Context, operation: number): boolean {
  return httpAllowed(svc, c, operation, ResourceType.CLUSTER, CLUSTER_NAME);
}
