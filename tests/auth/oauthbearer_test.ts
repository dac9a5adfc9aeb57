// SASL/OAUTHBEARER: the client's initial response, the unsecured validator (unsigned JWTs, Kafka's
// default for development) and the secured one (JWTs signed with a key of a JWKS file, RS256 and
// ES256, expiry, issuer, audience, unknown keys); then over the wire with kafkajs (signed tokens)
// and kcat (librdkafka's unsecured tokens), the token's subject as the principal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Kafka, logLevel } from "kafkajs";
import { oauthSettings, OAuthValidator, parseInitialResponse } from "../../src/broker/auth/oauthbearer.ts";
import { SaslError } from "../../src/broker/auth/sasl.ts";
import { DEFAULT_CONFIG } from "../../src/config.ts";
import type { BrokerConfig } from "../../src/config.ts";
import { bunRuntime } from "../../adapters/bun.ts";
import { testBroker } from "../helpers/broker.ts";

const enc = new TextEncoder();
const dir = mkdtempSync(`${tmpdir()}/chronik-oauth-`);
const JWKS = `${dir}/jwks.json`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64url = (b: Uint8Array | string) =>
  btoa(typeof b === "string" ? b : String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
const now = () => Math.floor(Date.now() / 1000);

let rsa: CryptoKeyPair;
let ec: CryptoKeyPair;
let other: CryptoKeyPair;

async function sign(claims: Record<string, unknown>, key: CryptoKey, alg: "RS256" | "ES256", kid: string) {
  const head = b64url(JSON.stringify({ alg, kid, typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  const params = alg === "RS256" ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA", hash: "SHA-256" };
  const sig = new Uint8Array(await crypto.subtle.sign(params, key, enc.encode(`${head}.${body}`)));
  return `${head}.${body}.${b64url(sig)}`;
}
const unsigned = (claims: Record<string, unknown>) =>
  `${b64url(JSON.stringify({ alg: "none" }))}.${b64url(JSON.stringify(claims))}.`;

beforeAll(async () => {
  rsa = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  ec = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  other = await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
  const keys = [
    { ...(await crypto.subtle.exportKey("jwk", rsa.publicKey)), kid: "rsa-1", use: "sig", alg: "RS256" },
    { ...(await crypto.subtle.exportKey("jwk", ec.publicKey)), kid: "ec-1", use: "sig", alg: "ES256" },
  ];
  writeFileSync(JWKS, JSON.stringify({ keys }));
});

const validator = (extra: Partial<BrokerConfig> = {}) =>
  new OAuthValidator(
    oauthSettings({ ...DEFAULT_CONFIG, ...extra } as BrokerConfig, "SASL_PLAINTEXT"),
    bunRuntime.fs,
    () => Date.now(),
  );

describe("OAUTHBEARER tokens", () => {
  test("the client's initial response", () => {
    expect(parseInitialResponse(enc.encode("n,,\x01auth=Bearer abc.def.\x01\x01"))).toEqual({
      token: "abc.def.",
      authzid: null,
    });
    expect(parseInitialResponse(enc.encode("n,a=alice,\x01auth=Bearer t\x01ext=1\x01\x01"))).toEqual({
      token: "t",
      authzid: "alice",
    });
    for (
      const bad of [
        "",
        "n,,auth=Bearer t",
        "n,,\x01auth=Basic x\x01\x01",
        "n,,\x01foo\x01\x01",
        "y,,\x01auth=Bearer t\x01\x01",
      ]
    ) {
      expect(() => parseInitialResponse(enc.encode(bad))).toThrow(SaslError);
    }
  });

  test("unsecured: unsigned tokens with sub and exp; expired, subjectless or signed ones refused; required scope", async () => {
    const v = validator();
    expect(await v.validate(unsigned({ sub: "alice", exp: now() + 60 }))).toBe("alice");
    await expect(v.validate(unsigned({ sub: "alice", exp: now() - 60 }))).rejects.toThrow("expired");
    await expect(v.validate(unsigned({ exp: now() + 60 }))).rejects.toThrow("no sub claim");
    await expect(v.validate(await sign({ sub: "a", exp: now() + 60 }, rsa.privateKey, "RS256", "rsa-1"))).rejects
      .toThrow("only takes unsigned");
    await expect(v.validate("not-a-jwt")).rejects.toThrow("not a JWT");
    const scoped = validator({
      "sasl.jaas.config":
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope="kafka" unsecuredValidatorPrincipalClaimName="name";',
    });
    expect(await scoped.validate(unsigned({ name: "bob", exp: now() + 60, scope: "kafka other" }))).toBe("bob");
    await expect(scoped.validate(unsigned({ name: "bob", exp: now() + 60, scope: "other" }))).rejects.toThrow(
      "insufficient_scope",
    );
  });

  test("secured: RS256 and ES256 signatures from the JWKS; wrong keys, issuers, audiences and unsigned tokens refused", async () => {
    const v = validator({
      "sasl.oauthbearer.jwks.endpoint.url": `file://${JWKS}`,
      "sasl.oauthbearer.expected.issuer": "https://idp",
      "sasl.oauthbearer.expected.audience": "kafka",
    });
    const claims = { sub: "carol", iss: "https://idp", aud: ["kafka"], exp: now() + 60, iat: now() };
    expect(await v.validate(await sign(claims, rsa.privateKey, "RS256", "rsa-1"))).toBe("carol");
    expect(await v.validate(await sign(claims, ec.privateKey, "ES256", "ec-1"))).toBe("carol");
    await expect(v.validate(await sign(claims, other.privateKey, "RS256", "rsa-1"))).rejects.toThrow("does not verify");
    await expect(v.validate(await sign(claims, other.privateKey, "RS256", "unknown"))).rejects.toThrow(
      "no key unknown",
    );
    await expect(v.validate(await sign({ ...claims, iss: "https://evil" }, rsa.privateKey, "RS256", "rsa-1"))).rejects
      .toThrow("issuer");
    await expect(v.validate(await sign({ ...claims, aud: "other" }, rsa.privateKey, "RS256", "rsa-1"))).rejects.toThrow(
      "audience",
    );
    await expect(v.validate(await sign({ ...claims, exp: now() - 3600 }, rsa.privateKey, "RS256", "rsa-1"))).rejects
      .toThrow("expired");
    await expect(v.validate(unsigned(claims))).rejects.toThrow("algorithm none is not accepted");
  });
});

describe("OAUTHBEARER over the wire", () => {
  test("kafkajs with signed tokens; the subject is the principal the ACLs see", async () => {
    const broker = await testBroker({
      listeners: "SASL_PLAINTEXT://127.0.0.1:0",
      "sasl.enabled.mechanisms": "OAUTHBEARER",
      "sasl.oauthbearer.jwks.endpoint.url": `file://${JWKS}`,
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "super.users": "User:admin",
    });
    try {
      const token = (sub: string) => async () => ({
        value: await sign({ sub, exp: now() + 300 }, rsa.privateKey, "RS256", "rsa-1"),
      });
      const kafka = (sub: string) =>
        new Kafka({
          brokers: [`127.0.0.1:${broker.port}`],
          logLevel: logLevel.NOTHING,
          retry: { retries: 0 },
          sasl: { mechanism: "oauthbearer", oauthBearerProvider: token(sub) },
        });
      const admin = kafka("admin").admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "oauth", numPartitions: 1 }] });
      await admin.disconnect();
      const producer = kafka("admin").producer();
      await producer.connect();
      await producer.send({ topic: "oauth", messages: [{ value: "x" }] });
      await producer.disconnect();
      // mallory authenticates but has no ACL: her produce is refused.
      const p2 = kafka("mallory").producer();
      await p2.connect();
      const refused = await p2.send({ topic: "oauth", messages: [{ value: "y" }] }).catch((e) => e);
      expect(String(refused?.type ?? refused?.cause?.type ?? refused)).toContain("TOPIC_AUTHORIZATION_FAILED");
      await p2.disconnect();
      // An unsigned token is refused outright.
      const bad = new Kafka({
        brokers: [`127.0.0.1:${broker.port}`],
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        sasl: {
          mechanism: "oauthbearer",
          oauthBearerProvider: async () => ({ value: unsigned({ sub: "admin", exp: now() + 60 }) }),
        },
      }).admin();
      expect((await bad.connect().catch((e) => e))?.name).toBe("KafkaJSSASLAuthenticationError");
      expect(broker.services.topics.get("oauth")!.partitions[0].logEndOffset).toBe(1);
    } finally {
      await broker.close();
    }
  }, 30_000);

  test("kcat (librdkafka's unsecured tokens) against the unsecured validator", async () => {
    const broker = await testBroker({
      listeners: "SASL_PLAINTEXT://127.0.0.1:0",
      "sasl.enabled.mechanisms": "OAUTHBEARER,PLAIN",
    });
    try {
      const p = Bun.spawn([
        "kcat",
        "-b",
        `127.0.0.1:${broker.port}`,
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanisms=OAUTHBEARER",
        "-X",
        "enable.sasl.oauthbearer.unsecure.jwt=true",
        "-X",
        "sasl.oauthbearer.config=principal=alice",
        "-L",
      ], { stdout: "pipe", stderr: "pipe" });
      const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
      expect(code).toBe(0);
      expect(out).toContain(`broker 0 at 127.0.0.1:${broker.port}`);
    } finally {
      await broker.close();
    }
  }, 30_000);
});
