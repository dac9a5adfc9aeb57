// Connection limits as Kafka's: max.connections, max.connections.per.ip (and its overrides) close
// a connection over the limit at once, other clients keep being served; connections.max.idle.ms
// closes a connection that read and wrote nothing for that long, and leaves busy ones alone;
// an ip entity's connection_creation_rate (KIP-612) closes connections over it after the throttle.
import { expect, test } from "bun:test";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { AlterClientQuotas } from "../../src/protocol/messages/49_alter_client_quotas.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

const ping = (c: WireClient) =>
  c.send(ApiVersions, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" }).then((r) => r.errorCode);
const closedSoon = (c: WireClient, ms = 1000) =>
  Promise.race([c.closed.then(() => true), Bun.sleep(ms).then(() => false)]);

test("max.connections.per.ip and max.connections refuse what is over the limit", async () => {
  const b = await testBroker({ "max.connections.per.ip": 2 });
  try {
    const a = await WireClient.connect(b.port);
    const c = await WireClient.connect(b.port);
    const over = await WireClient.connect(b.port);
    expect(await closedSoon(over)).toBe(true);
    expect([await ping(a), await ping(c)]).toEqual([0, 0]);
    a.close();
    await Bun.sleep(50);
    const again = await WireClient.connect(b.port);
    expect(await ping(again)).toBe(0);
    again.close();
    c.close();
    // An override for this address lifts it; max.connections caps everyone.
    b.services.config["max.connections.per.ip.overrides"] = "127.0.0.1:10";
    b.services.config["max.connections"] = 3;
    const cs = await Promise.all([1, 2, 3, 4].map(() => WireClient.connect(b.port)));
    await Bun.sleep(50);
    expect(cs.filter((x) => x.isClosed).length).toBe(1);
    for (const x of cs) x.close();
  } finally {
    await b.close();
  }
});

test("connections.max.idle.ms closes idle connections, not busy ones", async () => {
  const b = await testBroker({ "connections.max.idle.ms": 1500 });
  try {
    const idle = await WireClient.connect(b.port);
    const busy = await WireClient.connect(b.port);
    expect(await ping(idle)).toBe(0);
    for (let i = 0; i < 8; i++) {
      await Bun.sleep(500);
      expect(await ping(busy)).toBe(0);
    }
    expect(idle.isClosed).toBe(true);
    expect(busy.isClosed).toBe(false);
    busy.close();
  } finally {
    await b.close();
  }
}, 20_000);

test(
  "connection_creation_rate on an ip entity (KIP-612): connections over it are closed after the throttle time",
  async () => {
    const b = await testBroker({ "quota.window.num": 2, "quota.window.size.seconds": 1 });
    try {
      const admin = await WireClient.connect(b.port);
      const r = await admin.send(AlterClientQuotas, 1, {
        entries: [{
          entity: [{ entityType: "ip", entityName: "127.0.0.1" }],
          ops: [{ key: "connection_creation_rate", value: 2, remove: false }],
        }],
        validateOnly: false,
      });
      expect(r.entries![0].errorCode).toBe(0);
      const cs = await Promise.all([1, 2, 3, 4, 5, 6].map(() => WireClient.connect(b.port)));
      await Bun.sleep(50);
      // Within the rate the first ones are served; the rest get no answers and are closed later.
      const answered = await Promise.all(
        cs.map((c) => Promise.race([ping(c).then(() => true, () => false), Bun.sleep(300).then(() => false)])),
      );
      expect(answered.filter(Boolean).length).toBeGreaterThanOrEqual(1);
      expect(answered.filter((x) => !x).length).toBeGreaterThanOrEqual(2);
      await Bun.sleep(3000);
      for (const [i, c] of cs.entries()) if (!answered[i]) expect(c.isClosed).toBe(true);
      for (const c of cs) c.close();
      // Removing the quota lets connections through again.
      await admin.send(AlterClientQuotas, 1, {
        entries: [{
          entity: [{ entityType: "ip", entityName: "127.0.0.1" }],
          ops: [{ key: "connection_creation_rate", value: 0, remove: true }],
        }],
        validateOnly: false,
      });
      admin.close();
      const fresh = await WireClient.connect(b.port);
      expect(await ping(fresh)).toBe(0);
      fresh.close();
    } finally {
      await b.close();
    }
  },
  20_000,
);

test(
  "max.connection.creation.rate (KIP-612): connections over the rate wait before they are read, none is refused",
  async () => {
    const b = await testBroker({
      "max.connection.creation.rate": 2,
      "quota.window.num": 2,
      "quota.window.size.seconds": 1,
    });
    try {
      const t0 = Date.now();
      const cs = await Promise.all([1, 2, 3, 4, 5, 6].map(() => WireClient.connect(b.port)));
      const times = await Promise.all(cs.map((c) => ping(c).then(() => Date.now() - t0)));
      expect(cs.every((c) => !c.isClosed)).toBe(true);
      times.sort((x, y) => x - y);
      expect(times[0]).toBeLessThan(500);
      // Six connections at two a second: the last ones are answered only after waiting.
      expect(times[5]).toBeGreaterThanOrEqual(500);
      for (const c of cs) c.close();
    } finally {
      await b.close();
    }
  },
  20_000,
);
