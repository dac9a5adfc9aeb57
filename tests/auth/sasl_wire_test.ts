// SASL over the wire, driven like clients do: SaslHandshake v1 + SaslAuthenticate (PLAIN, both
// SCRAM mechanisms), SaslHandshake v0 with bare tokens, the gate before authentication, failures
// and their connection closes, a PLAINTEXT listener's answers, and SCRAM credentials managed with
// AlterUserScramCredentials / DescribeUserScramCredentials and kept across a restart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ScramMechanism } from "../../src/broker/auth/sasl.ts";
import { saltedPassword } from "../../src/broker/auth/sasl.ts";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { SaslHandshake } from "../../src/protocol/messages/17_sasl_handshake.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { SaslAuthenticate } from "../../src/protocol/messages/36_sasl_authenticate.ts";
import { DescribeUserScramCredentials } from "../../src/protocol/messages/50_describe_user_scram_credentials.ts";
import { AlterUserScramCredentials } from "../../src/protocol/messages/51_alter_user_scram_credentials.ts";
import { testBroker } from "../helpers/broker.ts";
import { scramClient } from "../helpers/scram.ts";
import { WireClient } from "../helpers/wire_client.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const JAAS =
  `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`;
const CONFIG = {
  listeners: "SASL_PLAINTEXT://127.0.0.1:0",
  "sasl.jaas.config": JAAS,
  "chronik.add.scram": [
    "SCRAM-SHA-256=[name=bob,password=bob-secret]",
    "SCRAM-SHA-512=[name=bob,password=bob-512,iterations=8192]",
  ],
};

let broker: Broker;
beforeAll(async () => {
  broker = await testBroker(CONFIG);
});
afterAll(async () => {
  await broker.close();
});

const metadata = (c: WireClient) =>
  c.send(Metadata, 12, {
    topics: [],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });

async function authenticate(c: WireClient, mechanism: string, user: string, password: string) {
  const hs = await c.send(SaslHandshake, 1, { mechanism });
  if (hs.errorCode !== 0) return hs.errorCode!;
  if (mechanism === "PLAIN") {
    const r = await c.send(SaslAuthenticate, 2, { authBytes: enc.encode(`\u0000${user}\u0000${password}`) });
    return r.errorCode!;
  }
  const client = await scramClient(mechanism as ScramMechanism, user, password);
  const first = await c.send(SaslAuthenticate, 2, { authBytes: client.first });
  if (first.errorCode !== 0) return first.errorCode!;
  const final = await c.send(SaslAuthenticate, 1, { authBytes: await client.final(dec.decode(first.authBytes!)) });
  if (final.errorCode === 0) expect(dec.decode(final.authBytes!)).toStartWith("v=");
  expect(final.sessionLifetimeMs).toBe(0n);
  return final.errorCode!;
}

describe("SASL_PLAINTEXT listener", () => {
  test("ApiVersions before authentication, then PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512", async () => {
    for (
      const [mechanism, user, password] of [
        ["PLAIN", "alice", "alice-secret"],
        ["SCRAM-SHA-256", "bob", "bob-secret"],
        ["SCRAM-SHA-512", "bob", "bob-512"],
      ]
    ) {
      const c = await WireClient.connect(broker.port);
      const av = await c.send(ApiVersions, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
      expect(av.apiKeys!.map((k) => k.apiKey)).toContain(SaslHandshake.key);
      expect(await authenticate(c, mechanism, user, password)).toBe(0);
      expect((await metadata(c)).brokers!.length).toBe(1);
      c.close();
    }
  });

  test("wrong passwords, unknown users and mechanisms fail with Kafka's errors and close the connection", async () => {
    const cases: [string, string, string, number][] = [
      ["PLAIN", "alice", "wrong", ErrorCode.SASL_AUTHENTICATION_FAILED],
      ["PLAIN", "nobody", "x", ErrorCode.SASL_AUTHENTICATION_FAILED],
      ["SCRAM-SHA-256", "bob", "wrong", ErrorCode.SASL_AUTHENTICATION_FAILED],
      ["SCRAM-SHA-512", "alice", "alice-secret", ErrorCode.SASL_AUTHENTICATION_FAILED], // alice has no SCRAM credential
      ["GSSAPI", "x", "y", ErrorCode.UNSUPPORTED_SASL_MECHANISM],
    ];
    for (const [mechanism, user, password, code] of cases) {
      const c = await WireClient.connect(broker.port);
      expect(await authenticate(c, mechanism, user, password)).toBe(code);
      await c.closed;
      expect(c.isClosed).toBe(true);
    }
    const c = await WireClient.connect(broker.port);
    const hs = await c.send(SaslHandshake, 1, { mechanism: "GSSAPI" });
    expect(hs.mechanisms).toEqual(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    const r = await c.send(SaslHandshake, 1, { mechanism: "PLAIN" }).catch((e) => e);
    expect(r).toBeInstanceOf(Error);
    expect(broker.services.groups).toBeDefined(); // the broker serves on
  });

  test("anything but ApiVersions and SASL before authentication closes the connection", async () => {
    const c = await WireClient.connect(broker.port);
    await expect(metadata(c)).rejects.toThrow("connection closed");
    const d = await WireClient.connect(broker.port);
    const r = await d.send(SaslAuthenticate, 2, { authBytes: enc.encode("\u0000alice\u0000alice-secret") });
    expect(r.errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    await d.closed;
    // After authentication, SaslHandshake and SaslAuthenticate are ILLEGAL_SASL_STATE, as in Kafka.
    const e = await WireClient.connect(broker.port);
    expect(await authenticate(e, "PLAIN", "admin", "admin-secret")).toBe(0);
    expect((await e.send(SaslHandshake, 1, { mechanism: "PLAIN" })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    expect((await e.send(SaslAuthenticate, 2, { authBytes: new Uint8Array(0) })).errorCode).toBe(
      ErrorCode.ILLEGAL_SASL_STATE,
    );
    expect((await metadata(e)).brokers!.length).toBe(1);
    e.close();
  });

  test("SaslHandshake v0: bare tokens (kafka-python, old sarama)", async () => {
    const c = await WireClient.connect(broker.port);
    expect((await c.send(SaslHandshake, 0, { mechanism: "PLAIN" })).errorCode).toBe(0);
    expect((await c.saslToken(enc.encode("\u0000alice\u0000alice-secret"))).length).toBe(0);
    expect((await metadata(c)).brokers!.length).toBe(1);
    c.close();
    const s = await WireClient.connect(broker.port);
    expect((await s.send(SaslHandshake, 0, { mechanism: "SCRAM-SHA-256" })).errorCode).toBe(0);
    const client = await scramClient("SCRAM-SHA-256", "bob", "bob-secret");
    const first = dec.decode(await s.saslToken(client.first));
    expect(dec.decode(await s.saslToken(await client.final(first)))).toStartWith("v=");
    expect((await metadata(s)).brokers!.length).toBe(1);
    s.close();
    const bad = await WireClient.connect(broker.port);
    await bad.send(SaslHandshake, 0, { mechanism: "PLAIN" });
    await expect(bad.saslToken(enc.encode("\u0000alice\u0000nope"))).rejects.toThrow("connection closed");
  });

  test("AlterUserScramCredentials and DescribeUserScramCredentials; new credentials authenticate; they survive a restart", async () => {
    const c = await WireClient.connect(broker.port);
    expect(await authenticate(c, "PLAIN", "admin", "admin-secret")).toBe(0);
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const upsert = async (name: string, mechanism: number, password: string, iterations = 4096) => ({
      name,
      mechanism,
      iterations,
      salt,
      saltedPassword: await saltedPassword(
        mechanism === 1 ? "SCRAM-SHA-256" : "SCRAM-SHA-512",
        password,
        salt,
        iterations,
      ),
    });
    const r = await c.send(AlterUserScramCredentials, 0, {
      deletions: [{ name: "bob", mechanism: 2 }, { name: "ghost", mechanism: 1 }],
      upsertions: [
        await upsert("carol", 1, "carol-secret", 4096),
        await upsert("carol", 2, "carol-512", 10000),
        await upsert("dave", 1, "x", 100),
        await upsert("", 1, "x"),
        await upsert("erin", 3, "x"),
      ],
    });
    const byUser = Object.fromEntries(r.results!.map((x) => [x.user, [x.errorCode, x.errorMessage]]));
    expect(byUser).toEqual({
      bob: [0, null],
      ghost: [ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist"],
      carol: [0, null],
      dave: [ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations: 100, the minimum is 4096"],
      "": [ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty"],
      erin: [ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"],
    });
    const dup = await c.send(AlterUserScramCredentials, 0, {
      deletions: [{ name: "carol", mechanism: 1 }],
      upsertions: [await upsert("carol", 1, "again")],
    });
    expect(dup.results![0].errorCode).toBe(ErrorCode.DUPLICATE_RESOURCE);
    const d = await c.send(DescribeUserScramCredentials, 0, { users: null });
    expect(d.results!.map((x) => [x.user, x.credentialInfos!.map((i) => [i.mechanism, i.iterations])])).toEqual([
      ["bob", [[1, 4096]]],
      ["carol", [[1, 4096], [2, 10000]]],
    ]);
    const some = await c.send(DescribeUserScramCredentials, 0, {
      users: [{ name: "carol" }, { name: "zed" }, { name: "bob" }, { name: "bob" }],
    });
    expect(some.results!.map((x) => [x.user, x.errorCode])).toEqual([["carol", 0], [
      "zed",
      ErrorCode.RESOURCE_NOT_FOUND,
    ], ["bob", ErrorCode.DUPLICATE_RESOURCE]]);
    c.close();
    for (
      const [mechanism, password, code] of [["SCRAM-SHA-256", "carol-secret", 0], ["SCRAM-SHA-512", "carol-512", 0], [
        "SCRAM-SHA-512",
        "carol-secret",
        ErrorCode.SASL_AUTHENTICATION_FAILED,
      ]] as const
    ) {
      const x = await WireClient.connect(broker.port);
      expect(await authenticate(x, mechanism, "carol", password)).toBe(code);
      x.close();
    }
    // bob's SCRAM-SHA-512 credential is gone.
    const y = await WireClient.connect(broker.port);
    expect(await authenticate(y, "SCRAM-SHA-512", "bob", "bob-512")).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
  });

  test("credentials are kept in the data dir across restarts; --add-scram does not overwrite them", async () => {
    const dir = `/tmp/chronik-sasl-${crypto.randomUUID()}`;
    let b = await testBroker({ ...CONFIG, dataDir: dir });
    const c = await WireClient.connect(b.port);
    expect(await authenticate(c, "PLAIN", "admin", "admin-secret")).toBe(0);
    const salt = crypto.getRandomValues(new Uint8Array(16));
    await c.send(AlterUserScramCredentials, 0, {
      deletions: [],
      upsertions: [{
        name: "bob",
        mechanism: 1,
        iterations: 4096,
        salt,
        saltedPassword: await saltedPassword("SCRAM-SHA-256", "changed", salt, 4096),
      }],
    });
    c.close();
    await b.close();
    b = await testBroker({ ...CONFIG, dataDir: dir });
    try {
      const x = await WireClient.connect(b.port);
      expect(await authenticate(x, "SCRAM-SHA-256", "bob", "changed")).toBe(0);
      x.close();
    } finally {
      await b.close();
      const fs = await import("node:fs/promises");
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe("PLAINTEXT listener", () => {
  test("SaslHandshake and SaslAuthenticate answer ILLEGAL_SASL_STATE; every request is served without them", async () => {
    const b = await testBroker();
    const c = await WireClient.connect(b.port);
    try {
      expect(await c.send(SaslHandshake, 1, { mechanism: "PLAIN" })).toEqual({
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        mechanisms: [],
      });
      expect((await c.send(SaslAuthenticate, 0, { authBytes: new Uint8Array(0) })).errorCode).toBe(
        ErrorCode.ILLEGAL_SASL_STATE,
      );
      expect((await metadata(c)).brokers!.length).toBe(1);
    } finally {
      c.close();
      await b.close();
    }
  });
});
