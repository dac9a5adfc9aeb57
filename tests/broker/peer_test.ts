// Broker-to-broker requests (src/broker/peer.ts) against a peer that accepts the connection and never answers: the
// request fails after the timeout instead of holding its caller (a transaction in PrepareCommit) for ever, and the
// next request opens a new connection.
import { expect, test } from "bun:test";
import { createServer, type Socket } from "node:net";
import { bunRuntime } from "../../adapters/bun.ts";
import { Peers, writeMarkersOn } from "../../src/broker/peer.ts";

test("a peer that never answers: the request fails after request.timeout.ms and the next one reconnects", async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const peers = new Peers(bunRuntime, "test", null, 200);
  const marker = { producerId: 1n, producerEpoch: 0, commit: true, coordinatorEpoch: 0, partitions: [] };
  try {
    await expect(writeMarkersOn(peers, { host: "127.0.0.1", port }, marker)).rejects.toThrow(
      /no answer from 127.0.0.1:\d+ within 200 ms/,
    );
    await expect(writeMarkersOn(peers, { host: "127.0.0.1", port }, marker)).rejects.toThrow(
      /no answer from 127.0.0.1:\d+ within 200 ms/,
    );
    expect(sockets.length).toBe(2);
  } finally {
    peers.close();
    for (const s of sockets) s.destroy();
    server.close();
  }
});
