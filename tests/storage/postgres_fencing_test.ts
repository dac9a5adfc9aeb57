// Leader-epoch fencing of appends on PostgreSQL (storage/postgres/log.ts), against a real database, the races of a
// leadership move made deterministic:
// - an append validated at one epoch (AppendOptions.leaderEpoch) after which the broker lost and regained the
//   partition stores nothing and is refused as fencing, not sent at the new epoch;
// - an append that waits for the partition row's lock while a move commits is refused as fencing (NotLeaderError,
//   which Produce answers NOT_LEADER_OR_FOLLOWER), not as a moved log end (KAFKA_STORAGE_ERROR).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { parsePostgresUrl, PgConnection, PgPool } from "../../src/storage/postgres/client.ts";
import { PostgresCluster } from "../../src/storage/postgres/cluster.ts";
import { NotLeaderError, postgresLogStore } from "../../src/storage/postgres/log.ts";
import { ensureSchema } from "../../src/storage/postgres/schema.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { makeAppend, readAll } from "./contract.ts";

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.destroy());

/** A store fenced as node 1 with the epochs in `held`, its cluster rows, and a log of partition t-0. */
async function fenced(url: string, held: Map<string, number>) {
  const pool = new PgPool(bunRuntime, parsePostgresUrl(url));
  await ensureSchema(pool);
  const store = postgresLogStore(pool);
  store.fencing = { nodeId: 1, epochOf: (t, p) => held.get(`${t}-${p}`) };
  const log = await store.open("t", 0);
  return { pool, cluster: new PostgresCluster(pool), log };
}

function append(log: Awaited<ReturnType<typeof fenced>>["log"], values: string[], leaderEpoch?: number) {
  const { buf, metas } = makeAppend([{ values }]);
  return log.append(buf, metas, { leaderEpoch });
}

test("an append validated at an epoch the broker no longer holds is refused and stores nothing", async () => {
  const url = pg.createDatabase("fence_epoch");
  const held = new Map<string, number>();
  const { pool, cluster, log } = await fenced(url, held);
  try {
    await cluster.move([{ topic: "t", partition: 0, fromEpoch: 0, to: 1 }]);
    held.set("t-0", 1);
    expect(await append(log, ["a"], 1)).toMatchObject({ baseOffset: 0 });
    // Lost (epoch 2, node 2) and regained (epoch 3) between a produce's checks and its append.
    await cluster.move([{ topic: "t", partition: 0, fromEpoch: 1, to: 2 }]);
    await cluster.move([{ topic: "t", partition: 0, fromEpoch: 2, to: 1 }]);
    held.set("t-0", 3);
    const e = await append(log, ["stale"], 1).catch((x) => x);
    expect(e).toBeInstanceOf(NotLeaderError);
    expect(e.message).toMatch(/validated at leader epoch 1, node 1 now holds 3/);
    expect(await append(log, ["b"], 3)).toMatchObject({ baseOffset: 1 });
    expect(await readAll(log)).toEqual(["0:a", "1:b"]);
  } finally {
    pool.close();
  }
});

test("an append waiting on the row while a move commits is refused as fencing, not as a storage error", async () => {
  const url = pg.createDatabase("fence_wait");
  const held = new Map<string, number>();
  const { pool, cluster, log } = await fenced(url, held);
  const mover = await PgConnection.open(bunRuntime, { ...parsePostgresUrl(url), timeoutMs: 0 });
  try {
    await cluster.move([{ topic: "t", partition: 0, fromEpoch: 0, to: 1 }]);
    held.set("t-0", 1);
    expect(await append(log, ["a"], 1)).toMatchObject({ baseOffset: 0 });
    // Another broker's move holds the row; the append is sent meanwhile and waits for it.
    await mover.simple("BEGIN");
    await mover.query(
      "UPDATE chronik_partitions SET leader = 2, leader_epoch = leader_epoch + 1 WHERE topic = 't' AND partition = 0",
    );
    const pending = append(log, ["during"], 1).catch((x) => x);
    for (let i = 0; i < 100; i++) {
      const r = await mover.query(
        "SELECT count(*)::int4 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
      );
      if (r.rows[0][0] === 1) break;
      await Bun.sleep(50);
    }
    await mover.simple("COMMIT");
    const e = await pending;
    expect(e).toBeInstanceOf(NotLeaderError);
    expect(e.message).toMatch(/node 1 epoch 1 is fenced \(leader 2, epoch 2\)/);
    expect(await readAll(log)).toEqual(["0:a"]);
  } finally {
    mover.close();
    pool.close();
  }
});
