// Issue #14.10, against the broker as a child process over SASL_PLAINTEXT:
// - SCRAM answers an unknown user as it answers a wrong password: the same salt for the same name on
//   every attempt (a made-up credential derived from the name), the same error at the proof;
// - control characters in a mechanism name or a JWT key id reach the log escaped;
// - a token naming an unknown key makes the broker fetch the JWKS at most once per interval;
// - admin.json (SCRAM keys, ACLs) is created with mode 0600;
// - closing malformed connections logs a bounded number of lines per client address.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { SaslHandshake } from "../../src/protocol/messages/17_sasl_handshake.ts";
import { SaslAuthenticate } from "../../src/protocol/messages/36_sasl_authenticate.ts";
import { type BrokerProcess, closedWithin, listenerPort, startBroker, WireClient } from "./harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const dataDir = mkdtempSync(`${tmpdir()}/chronik-sec-auth-`);
let broker: BrokerProcess;
let sasl: number;
let jwksFetches = 0;
let jwks: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  jwks = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      jwksFetches++;
      return Response.json({ keys: [] });
    },
  });
  broker = await startBroker(
    {
      listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
      "sasl.enabled.mechanisms": "SCRAM-SHA-256,OAUTHBEARER",
      "sasl.oauthbearer.jwks.endpoint.url": `http://127.0.0.1:${jwks.port}/jwks.json`,
    },
    ["--data-dir", dataDir, "--add-scram", "SCRAM-SHA-256=[name=bob,password=bob-secret]"],
  );
  sasl = await listenerPort(broker, "SASL_PLAINTEXT");
});
afterAll(async () => {
  await broker?.stop();
  jwks?.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

/** SCRAM-SHA-256 first message for `user`; returns the server-first message's attributes. */
async function scramFirst(user: string): Promise<{ c: WireClient; attrs: Map<string, string>; first: string }> {
  const c = await WireClient.connect(sasl);
  expect((await c.send(SaslHandshake, 1, { mechanism: "SCRAM-SHA-256" })).errorCode).toBe(ErrorCode.NONE);
  const first = `n=${user},r=clientnonce123`;
  const r = await c.send(SaslAuthenticate, 1, { authBytes: enc.encode(`n,,${first}`) });
  expect(r.errorCode).toBe(ErrorCode.NONE);
  const text = dec.decode(r.authBytes!);
  return { c, attrs: new Map(text.split(",").map((p) => [p[0], p.slice(2)])), first };
}

describe("authentication hardening", () => {
  test("SCRAM: an unknown user gets a stable made-up salt and fails at the proof like a wrong password", async () => {
    const a1 = await scramFirst("nobody");
    const a2 = await scramFirst("nobody");
    const b = await scramFirst("somebody-else");
    const real = await scramFirst("bob");
    expect(a1.attrs.get("s")).toBe(a2.attrs.get("s")!);
    expect(a1.attrs.get("s")).not.toBe(b.attrs.get("s")!);
    expect(a1.attrs.get("s")!.length).toBe(real.attrs.get("s")!.length);
    expect(a1.attrs.get("i")).toBe(real.attrs.get("i")!);
    const proof = btoa(String.fromCharCode(...new Uint8Array(32)));
    const answers = [];
    for (const x of [a1, real]) {
      const final = `c=biws,r=${x.attrs.get("r")},p=${proof}`;
      const r = await x.c.send(SaslAuthenticate, 1, { authBytes: enc.encode(final) }).catch((e) => e);
      answers.push([r.errorCode, r.errorMessage]);
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0][0]).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    for (const x of [a1, a2, b, real]) x.c.close();
  });

  test("control characters in a mechanism name are escaped in the log", async () => {
    const c = await WireClient.connect(sasl);
    const r = await c.send(SaslHandshake, 1, { mechanism: "EVIL\nERROR forged line\u001b[31m" });
    expect(r.errorCode).toBe(ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    await closedWithin(c, 5000);
    await Bun.sleep(200);
    const logs = broker.logs();
    expect(logs).toContain("EVIL\\x0aERROR forged line\\x1b[31m");
    expect(logs.split("\n").some((l) => l.startsWith("ERROR forged line"))).toBe(false);
    expect(logs).not.toContain("\u001b[31m");
  });

  test("unknown JWT key ids: escaped in the log, and the JWKS fetched at most once per interval", async () => {
    const b64url = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const before = jwksFetches;
    for (let i = 0; i < 20; i++) {
      const c = await WireClient.connect(sasl);
      expect((await c.send(SaslHandshake, 1, { mechanism: "OAUTHBEARER" })).errorCode).toBe(ErrorCode.NONE);
      const token = `${b64url({ alg: "RS256", kid: `made-up-${i}\r\nWARN x` })}.${b64url({ sub: "eve" })}.c2ln`;
      const r = await c.send(SaslAuthenticate, 1, { authBytes: enc.encode(`n,,\x01auth=Bearer ${token}\x01\x01`) })
        .catch((e) => e);
      expect(r.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
      c.close();
    }
    // The first load, and one refresh forced by an unknown key id; not one per attempt.
    expect(jwksFetches - before).toBeLessThanOrEqual(2);
    await Bun.sleep(200);
    expect(broker.logs()).toContain("made-up-0\\x0d\\x0aWARN x");
  });

  test("admin.json, which holds SCRAM keys, is readable by the broker's user only", () => {
    const mode = statSync(`${dataDir}/__chronik_metadata/admin.json`).mode & 0o777;
    expect(mode.toString(8)).toBe("600");
  });

  test("malformed connections: a bounded number of warnings per client address", async () => {
    const count = () => broker.logs().split("\n").filter((l) => l.includes("closing connection from 127.0.0.1")).length;
    const before = count();
    for (let i = 0; i < 40; i++) {
      const c = await WireClient.connect(broker.port);
      c.writeRaw(new Uint8Array([0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]));
      await closedWithin(c, 5000);
    }
    await Bun.sleep(200);
    // At most 10 lines per address per 10 s, whatever came before in this window.
    expect(count() - before).toBeLessThanOrEqual(10);
  });
});
