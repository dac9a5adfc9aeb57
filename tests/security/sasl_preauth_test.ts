// Issue #14.1: before authentication on a SASL listener a client may hold almost nothing. Frames
// over sasl.server.max.receive.size (Kafka's fix for CVE-2022-34917) close the connection at their
// 4-byte length; requests are read one at a time; bytes piling up unauthenticated close it too. The
// broker's memory and descriptors stay bounded and another client keeps being served.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { SaslHandshake } from "../../src/protocol/messages/17_sasl_handshake.ts";
import { SaslAuthenticate } from "../../src/protocol/messages/36_sasl_authenticate.ts";
import {
  type BrokerProcess,
  closedWithin,
  createTopic,
  fdCount,
  frame,
  listenerPort,
  MiB,
  rssBytes,
  sampler,
  startBroker,
  startProbe,
  WireClient,
} from "./harness.ts";

let broker: BrokerProcess;
let plain: number;
let sasl: number;

beforeAll(async () => {
  broker = await startBroker({
    listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
    "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";',
  });
  plain = broker.port;
  sasl = await listenerPort(broker, "SASL_PLAINTEXT");
  const c = await WireClient.connect(plain);
  expect((await createTopic(c, "probe")).errorCode).toBe(ErrorCode.NONE);
  c.close();
});
afterAll(async () => {
  await broker?.stop();
});

/** A raw socket that reports when the broker closes it. */
function rawSocket(port: number): Promise<{ s: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1" }, () => resolve({ s, closed }));
    const closed = new Promise<void>((r) => s.on("close", () => r()));
    s.on("error", () => {});
    s.once("error", reject);
  });
}

function lengthPrefix(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

describe("SASL listener before authentication", () => {
  test(
    "20 connections announcing 100 MiB frames are closed; memory, descriptors and other clients unaffected",
    async () => {
      const pid = broker.proc.pid;
      const rss0 = rssBytes(pid);
      const fds0 = fdCount(pid);
      const probe = await startProbe(plain, "probe");
      const peaks = sampler(pid);
      const chunk = new Uint8Array(MiB).fill(7);
      const conns = await Promise.all(Array.from({ length: 20 }, () => rawSocket(sasl)));
      for (const { s } of conns) {
        s.write(lengthPrefix(100 * MiB));
        for (let i = 0; i < 4; i++) s.write(chunk);
      }
      const closed = await Promise.all(
        conns.map(({ closed }) => Promise.race([closed.then(() => true), Bun.sleep(10_000).then(() => false)])),
      );
      await Bun.sleep(1500);
      const { rss, fds } = peaks.stop();
      const served = await probe.stop();
      expect(closed.every((c) => c)).toBe(true);
      expect(served.failures).toEqual([]);
      expect(served.completed).toBeGreaterThan(0);
      // 20 x 100 MiB would be 2 GB; what may be held is a few reads' worth per connection.
      expect(rss - rss0).toBeLessThan(150 * MiB);
      expect(fds - fds0).toBeLessThan(40);
      expect(broker.logs()).toContain("sasl.server.max.receive.size");
    },
    60_000,
  );

  test(
    "a 90 MiB SCRAM first message is refused at its length; a frame of 512 KiB + 1 too, 512 KiB is read",
    async () => {
      const c = await WireClient.connect(sasl);
      const h = await c.send(SaslHandshake, 1, { mechanism: "SCRAM-SHA-256" });
      expect(h.errorCode).toBe(ErrorCode.NONE);
      const big = frame(SaslAuthenticate, 1, { authBytes: new Uint8Array(16) }, 2);
      // The length says 90 MiB; a little of the body follows.
      new DataView(big.buffer).setInt32(0, 90 * MiB);
      c.writeRaw(big);
      c.writeRaw(new Uint8Array(MiB));
      expect(await closedWithin(c, 10_000)).toBe(true);

      // One byte over the limit: closed as soon as the length is read.
      const over = await WireClient.connect(sasl);
      over.writeRaw(lengthPrefix(524288 + 1));
      expect(await closedWithin(over, 10_000)).toBe(true);

      // At the limit the frame is read: a PLAIN token padded to 512 KiB is answered (a wrong password).
      const at = await WireClient.connect(sasl);
      expect((await at.send(SaslHandshake, 1, { mechanism: "PLAIN" })).errorCode).toBe(ErrorCode.NONE);
      const token = new Uint8Array(524288 - 64);
      token.set(new TextEncoder().encode("\0alice\0wrong"));
      const bytes = frame(SaslAuthenticate, 1, { authBytes: token });
      expect(bytes.length - 4).toBeLessThanOrEqual(524288);
      const res = await at.send(SaslAuthenticate, 1, { authBytes: token });
      expect(res.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
      at.close();
    },
    30_000,
  );

  test("requests are read one at a time before authentication; a pipelined flood is closed", async () => {
    // 200 ApiVersions of 400 KiB each (80 MiB) written at once, unauthenticated, never read: the
    // broker reads one, answers, and reads the next only when that answer has gone; what it holds
    // stays near one frame whether it answers them in turn or closes the connection.
    const raw = await rawSocket(sasl);
    const one = frame(ApiVersions, 3, { clientSoftwareName: "x".repeat(400 * 1024), clientSoftwareVersion: "1" });
    const pid = broker.proc.pid;
    const rss0 = rssBytes(pid);
    const peaks = sampler(pid);
    for (let i = 0; i < 200; i++) raw.s.write(one);
    await Bun.sleep(3000);
    const { rss } = peaks.stop();
    raw.s.destroy();
    expect(rss - rss0).toBeLessThan(100 * MiB);

    // A real client still authenticates and is served on the same listener.
    const ok = await WireClient.connect(sasl);
    expect((await ok.send(SaslHandshake, 1, { mechanism: "PLAIN" })).errorCode).toBe(ErrorCode.NONE);
    const auth = await ok.send(SaslAuthenticate, 1, {
      authBytes: new TextEncoder().encode("\0alice\0alice-secret"),
    });
    expect(auth.errorCode).toBe(ErrorCode.NONE);
    ok.close();
  }, 30_000);

  test("closing violators is logged at most a few lines per client address", () => {
    const lines = broker.logs().split("\n").filter((l) => l.includes("closing connection from 127.0.0.1"));
    // 20 + 3 + 1 connections were closed above; the log holds at most 10 per 10 s per address.
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(lines.length).toBeGreaterThan(0);
  });
});
