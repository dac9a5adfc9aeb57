// KafkaConnection.open gives up on a connection that is not set up within connectTimeoutMs (Kafka's
// socket.connection.setup.timeout.ms): a peer broker that is stopped (SIGSTOP) still completes TCP connects from its
// listen backlog, and a TLS handshake to it would otherwise wait forever (inter-broker requests, the CLI).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { KafkaConnection } from "../../src/client/connection.ts";

let silent: { readonly port: number; stop(closeActive?: boolean): void };
const accepted: { end(): void }[] = [];

beforeAll(() => {
  // Accepts and never writes a byte: the TLS client hello stays unanswered.
  silent = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { open: (s) => void accepted.push(s), data: () => {} },
  });
});
afterAll(() => {
  for (const s of accepted) s.end();
  silent.stop(true);
});

test("a TLS handshake that never completes fails the open (NETWORK_EXCEPTION) instead of waiting forever", async () => {
  const opening = KafkaConnection.open(bunRuntime, "127.0.0.1", silent.port, {
    tls: { insecure: true },
    connectTimeoutMs: 300,
  });
  await expect(opening).rejects.toThrow(/no connection within 300 ms/);
  expect(accepted.length).toBe(1);
});
