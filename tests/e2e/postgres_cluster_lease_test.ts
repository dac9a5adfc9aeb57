// Leases and leadership moves of brokers on one private PostgreSQL (docs/cluster.md, "Cluster"), each case
// blocking PostgreSQL a real way (a row or table lock held by another session) rather than mocking it:
// 1. A broker whose whole pool (pool=1) is stuck behind an append waiting on a row lock keeps its lease: the
//    renewals go down a connection of their own.
// 2. A broker taking over a partition (its producer-state rebuild blocked by a table lock) does not name itself
//    leader in Metadata until the takeover finished; then it does and produce goes on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { parsePostgresUrl, PgConnection, PgPool } from "../../src/storage/postgres/client.ts";
import { PostgresCluster } from "../../src/storage/postgres/cluster.ts";
import type { BrokerProcess } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { kcat, metadata, until } from "../helpers/kcat.ts";
import { keepLogsOnFailure, startCluster } from "../helpers/pg_cluster.ts";

let pg: TestPostgres;
const started: BrokerProcess[] = [];
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const b of started) await b.stop().catch(() => {});
  pg?.destroy();
});

/** A session of its own on `url` (a transaction held open across statements). */
function session(url: string): Promise<PgConnection> {
  return PgConnection.open(bunRuntime, { ...parsePostgresUrl(url), timeoutMs: 0 });
}

describe("leases and takeovers on one PostgreSQL", () => {
  test(
    "a broker whose pool is stuck behind a blocked append keeps its lease (renewals on their own connection)",
    () =>
      keepLogsOnFailure(started, async () => {
        const url = pg.createDatabase("lease_busy");
        const [b] = await startCluster(`${url}?pool=1`, ["bun"], started);
        const addr = `127.0.0.1:${b.port}`;
        await kcat(["-b", addr, "-P", "-t", "busy", "-p", "0", "-X", "acks=all"], "first\n");
        const lock = await session(url);
        const probe = await session(url);
        try {
          // Another session holds the partition's row: the broker's next append waits on it, and with it the
          // broker's only pooled connection (and everything queued behind it) for longer than the 2 s lease.
          await lock.simple("BEGIN");
          await lock.query("SELECT topic FROM chronik_partitions WHERE topic = 'busy' FOR UPDATE");
          const producing = kcat(["-b", addr, "-P", "-t", "busy", "-p", "0", "-X", "acks=all"], "second\n");
          const waiting = await until(
            () =>
              probe.query(
                "SELECT count(*)::int4 FROM pg_stat_activity WHERE application_name = 'chronik' AND wait_event_type = 'Lock'",
              ),
            (r) => r.rows[0][0] === 1,
          );
          expect(waiting.rows[0][0]).toBe(1);
          const lapsed: string[] = [];
          for (let i = 0; i < 20; i++) {
            const r = await probe.query(
              "SELECT (expires_at > now())::text, (expires_at - now())::text FROM chronik_brokers WHERE node_id = 1",
            );
            if (r.rows[0]?.[0] !== "true") lapsed.push(`check ${i}: ${JSON.stringify(r.rows[0])}`);
            await Bun.sleep(200);
          }
          // Still blocked: the whole 4 s went by with the pool busy.
          expect(
            (await probe.query(
              "SELECT count(*)::int4 FROM pg_stat_activity WHERE application_name = 'chronik' AND wait_event_type = 'Lock'",
            )).rows[0][0],
          ).toBe(1);
          expect(lapsed).toEqual([]);
          await lock.simple("COMMIT");
          await producing;
        } finally {
          lock.close();
          probe.close();
        }
        const out = await kcat(["-b", addr, "-C", "-t", "busy", "-p", "0", "-e", "-q", "-f", "%s\n"]);
        expect(out.split("\n").filter((l) => l !== "")).toEqual(["first", "second"]);
        expect((await metadata(addr)).brokers.map((x) => x.id)).toEqual([1]);
      }),
    60_000,
  );
});
