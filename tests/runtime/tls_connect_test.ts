// A client TLS connection that fails (a server name that is no host name, an untrusted certificate, a
// server that does not speak TLS) must not leave its TCP connection open: under every adapter, the
// server side sees the connection closed while the client process stays up.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as tls from "node:tls";
import type { ClientTlsOptions } from "../../src/runtime.ts";
import { makeCertificate } from "../helpers/tls.ts";
import { spawnChild } from "./child.ts";

let dir = "";
let ca = "";
let tlsServer: tls.Server;

beforeAll(async () => {
  dir = mkdtempSync(`${tmpdir()}/chronik-tlsconnect-`);
  const c = await makeCertificate(dir);
  ca = readFileSync(c.cert, "utf8");
  tlsServer = tls.createServer({ cert: ca, key: readFileSync(c.key, "utf8") }, (s) => s.on("error", () => {}));
  tlsServer.on("tlsClientError", () => {});
  await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r));
});

afterAll(() => {
  tlsServer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * A TCP server in front of the client: it relays to the TLS server (or, with `upstream` null, answers
 * bytes that are no TLS) but never passes a close on to the client, so only the client can close it.
 */
async function frontServer(upstream: number | null) {
  let accepted: () => void = () => {};
  let closed: () => void = () => {};
  const seen = { accepted: new Promise<void>((r) => (accepted = r)), closed: new Promise<void>((r) => (closed = r)) };
  const server = net.createServer((s) => {
    accepted();
    s.on("error", () => {});
    s.on("close", () => closed());
    if (upstream === null) {
      s.once("data", () => s.write("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"));
      return;
    }
    const up = net.connect({ host: "127.0.0.1", port: upstream });
    up.on("error", () => {});
    s.on("data", (d) => up.write(d));
    up.on("data", (d) => s.write(d));
    s.on("close", () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, seen, close: () => server.close() };
}

// Deno refuses the first case before any handshake (startTls: "Invalid hostname"); Bun and Node at verification.
const CASES: { name: string; options: () => ClientTlsOptions; plain?: boolean; refused: RegExp }[] = [
  {
    name: "a server name that is no host name",
    options: () => ({ ca, serverName: "no host name!" }),
    refused: /no host name!/,
  },
  { name: "an untrusted certificate", options: () => ({}), refused: /self[- ]signed|certificate/i },
  {
    name: "a server that does not speak TLS",
    options: () => ({ ca }),
    plain: true,
    refused: /version number|VERSION_NUMBER|corrupt message/,
  },
];

describe.each(["bun", "node", "deno"] as const)(
  "%s adapter: a failed TLS connect closes its TCP connection",
  (kind) => {
    test.each(CASES)("$name", async (c) => {
      const front = await frontServer(c.plain ? null : (tlsServer.address() as net.AddressInfo).port);
      const child = await spawnChild(kind, ["tls", String(front.port), JSON.stringify(c.options())]);
      try {
        expect(await child.line("REFUSED ")).toMatch(c.refused);
        await front.seen.accepted;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const left = new Promise<string>((r) => (timer = setTimeout(() => r("still open"), 10_000)));
        expect(await Promise.race([front.seen.closed.then(() => "closed"), left])).toBe("closed");
        clearTimeout(timer);
      } finally {
        await child.kill();
        front.close();
      }
    }, 40_000);
  },
);
