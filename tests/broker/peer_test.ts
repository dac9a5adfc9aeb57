// Broker-to-broker requests (src/broker/peer.ts) against a peer that accepts the connection and never answers: the
// request fails after the timeout instead of holding its caller (a transaction in PrepareCommit) for ever, and the
// next request opens a new connection.
import { expect, test } from "bun:test";
import { createServer, type Socket } from "node:net";
import { bunRuntime } from "../../adapters/bun.ts";
import { interBrokerOf, Peers, writeMarkersOn } from "../../src/broker/peer.ts";
import { oauthSettings, OAuthValidator } from "../../src/broker/auth/oauthbearer.ts";

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

test("OAUTHBEARER between brokers: an unsecured token from the JAAS unsecuredLogin* options, valid for the broker's own validator", async () => {
  const jaas =
    'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker" ' +
    'unsecuredLoginListClaim_scope=",inter,broker" unsecuredLoginNumberClaim_n="7" unsecuredLoginLifetimeSeconds="60";';
  const config = {
    "sasl.mechanism.inter.broker.protocol": "OAUTHBEARER",
    "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": jaas,
  } as never;
  const listeners = [{ name: "SASL_PLAINTEXT", protocol: "SASL_PLAINTEXT" }];
  const ib = await interBrokerOf(config, listeners, bunRuntime.fs);
  expect(ib.sasl?.mechanism).toBe("OAUTHBEARER");
  const now = 1_800_000_000_000;
  const token = ib.token!(now);
  const [, payload, signature] = token.split(".");
  expect(signature).toBe("");
  const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
  expect(claims).toEqual({ sub: "broker", scope: ["inter", "broker"], n: 7, iat: now / 1000, exp: now / 1000 + 60 });
  // The receiving broker's unsecured validator (Kafka's default) takes it, with a required scope, as User:broker.
  const validatorJaas = `${jaas.slice(0, -1)} unsecuredValidatorRequiredScope="inter";`;
  const settings = oauthSettings({ "sasl.jaas.config": validatorJaas } as never, "SASL_PLAINTEXT");
  expect(await new OAuthValidator(settings, bunRuntime.fs, () => now).validate(token)).toBe("broker");
  // Expired once its lifetime is over.
  await expect(new OAuthValidator(settings, bunRuntime.fs, () => now + 61_000).validate(token)).rejects.toThrow();
  // No principal claim, or a token endpoint (secured login): refused at start.
  const without = { ...(config as object), "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": "x required;" };
  await expect(interBrokerOf(without as never, listeners, bunRuntime.fs)).rejects.toThrow(
    /unsecuredLoginStringClaim_sub/,
  );
  // The listener must enable the mechanism (OAUTHBEARER is not among the defaults), as Kafka checks.
  const plainOnly = [{ ...listeners[0], mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] }];
  await expect(interBrokerOf(config, plainOnly, bunRuntime.fs)).rejects.toThrow(/not enabled/);
  const endpoint = { ...(config as object), "sasl.oauthbearer.token.endpoint.url": "https://idp.invalid/token" };
  await expect(interBrokerOf(endpoint as never, listeners, bunRuntime.fs)).rejects.toThrow(/token.endpoint.url/);
});
