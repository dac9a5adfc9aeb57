// Leases and leadership moves of brokers on one private PostgreSQL (docs/cluster.md, "Cluster"), each case
// blocking PostgreSQL a real way (a row or table lock held by another session) rather than mocking it:
// 1. A broker whose whole pool (pool=1) is stuck behind an append waiting on a row lock keeps its lease: the
//    renewals go down a connection of their own.
// 2. A broker taking over a dead broker's partition (its producer-state rebuild blocked by a table lock) is not named
//    leader in Metadata, by itself or the third broker, until the takeover finished (it marks the partition ready in
//    PostgreSQL); then it is everywhere and produce goes on.
// 3. Leadership leaves a live broker only in the periodic rebalance (auto.leader.rebalance.enable,
//    leader.imbalance.check.interval.seconds), as in Kafka: a joining broker takes nothing from a live one but gets
//    new topics' partitions at once; a broker back after a stop gets its preferred partitions back at the next check,
//    handed over cleanly (idempotent produce through the move: every record once).
// 4. ElectLeaders (PREFERRED) through any broker moves partitions to their preferred leaders at once, rebalancing off,
//    and answers once they moved; two requests sent together both apply.
// 5. Three brokers started one after another with Kafka's default leader.imbalance.check.interval.seconds (300): the
//    internal topics are created by the first FindCoordinator, so its answer already names all three brokers.
import { describe, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { parsePostgresUrl, PgConnection } from "../../src/storage/postgres/client.ts";
import type { BrokerProcess } from "./harness.ts";
import { pgClusterSuite } from "../helpers/pg_cluster_suite.ts";
import { kcat, metadata, until } from "../helpers/kcat.ts";
import {
  createCoordinatorTopics,
  FAST_CLUSTER,
  kafkaOn,
  keepLogsOnFailure,
  startCluster,
} from "../helpers/pg_cluster.ts";
import { startBrokerProcess } from "./harness.ts";
import { OID } from "../../src/storage/postgres/wire.ts";
import { preferredLeaders } from "../../src/broker/cluster.ts";
import { ElectLeaders } from "../../src/protocol/messages/43_elect_leaders.ts";
import { FindCoordinator } from "../../src/protocol/messages/10_find_coordinator.ts";
import { WireClient } from "../helpers/wire_client.ts";

const { brokers: started, database } = pgClusterSuite();

/** A session of its own on `url` (a transaction held open across statements). */
function session(url: string): Promise<PgConnection> {
  return PgConnection.open(bunRuntime, { ...parsePostgresUrl(url), timeoutMs: 0 });
}

describe("leases, takeovers and rebalancing on one PostgreSQL", () => {
  test(
    "a broker whose pool is stuck behind a blocked append keeps its lease (renewals on their own connection)",
    () =>
      keepLogsOnFailure(started, async () => {
        const url = database("lease_busy");
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

  test(
    "a new leader is named in Metadata (its own and the others') only once its takeover finished",
    () =>
      keepLogsOnFailure(started, async () => {
        const url = database("lease_takeover");
        const brokers = await startCluster(url, ["bun", "bun", "bun"], started);
        const addrs = brokers.map((b) => `127.0.0.1:${b.port}`);
        const [one, two] = addrs;
        const topic = "slowtake";
        const kafka = kafkaOn(brokers, "takeover");
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
        await admin.disconnect();
        const m = await until(
          () => metadata(two, topic),
          (m) =>
            m.topics[0].partitions.some((p) => p.leader === 1) && !m.topics[0].partitions.some((p) => p.leader < 0),
        );
        const p = m.topics[0].partitions.find((x) => x.leader === 1)!.partition;
        let to = 0;
        await kcat(["-b", one, "-P", "-t", topic, "-p", String(p), "-X", "enable.idempotence=true"], "a\nb\n");
        const lock = await session(url);
        const probe = await session(url);
        try {
          // The next leader rebuilds the partition's producer state from its batches: hold that read up.
          await lock.simple("BEGIN");
          await lock.simple("LOCK TABLE chronik_batches IN ACCESS EXCLUSIVE MODE");
          brokers[0].proc.kill("SIGKILL");
          await brokers[0].stop();
          const claimed = await until(
            () =>
              probe.query("SELECT leader FROM chronik_partitions WHERE topic = $1 AND partition = $2", [topic, p], [
                OID.text,
                OID.int4,
              ]),
            (r) => r.rows[0][0] === 2 || r.rows[0][0] === 3,
          );
          to = claimed.rows[0][0] as number;
          expect([2, 3]).toContain(to);
          // Leader in PostgreSQL, still loading: neither it nor the other live broker names it (no leader shown).
          const shown: number[] = [];
          for (let i = 0; i < 8; i++) {
            for (const a of addrs.slice(1)) shown.push((await metadata(a, topic)).topics[0].partitions[p].leader);
            await Bun.sleep(200);
          }
          expect(shown.filter((l) => l === to)).toEqual([]);
          await lock.simple("COMMIT");
        } finally {
          lock.close();
          probe.close();
        }
        for (const a of addrs.slice(1)) {
          const after = await until(() => metadata(a, topic), (m) => m.topics[0].partitions[p].leader === to);
          expect(after.topics[0].partitions[p].leader).toBe(to);
        }
        await kcat(["-b", two, "-P", "-t", topic, "-p", String(p), "-X", "enable.idempotence=true"], "c\n");
        const out = await kcat(["-b", two, "-C", "-t", topic, "-p", String(p), "-e", "-q", "-f", "%s\n"]);
        expect(out.split("\n").filter((l) => l !== "")).toEqual(["a", "b", "c"]);
      }),
    60_000,
  );

  test(
    "leadership leaves a live broker only at the periodic rebalance, handed over cleanly",
    () =>
      keepLogsOnFailure(started, async () => {
        const url = database("lease_balance");
        // Broker 1 never rebalances; broker 2 checks every second.
        const noBalance = ["-o", "auto.leader.rebalance.enable=false"];
        let [b1] = await startCluster(url, ["bun"], started, noBalance);
        const a1 = () => `127.0.0.1:${b1.port}`;
        await createCoordinatorTopics(b1.port); // while broker 1 is alone
        await kcat(["-b", a1(), "-L"]);
        const kafka = () => kafkaOn([b1], "balance");
        let admin = kafka().admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: "old", numPartitions: 4 }] });
        await admin.disconnect();
        const b2 = await startBrokerProcess("bun", ["--storage", url, ...FAST_CLUSTER, "--node-id", "2"]);
        started.push(b2);
        const a2 = `127.0.0.1:${b2.port}`;
        await until(() => metadata(a2), (m) => m.brokers.length === 2);
        // Broker 2 joined: it takes nothing from live broker 1 (several beats and rebalance checks later) ...
        await Bun.sleep(1500);
        const leadersOf = async (addr: string, topic: string) =>
          (await metadata(addr, topic)).topics[0].partitions.map((x) => x.leader);
        expect(await leadersOf(a2, "old")).toEqual([1, 1, 1, 1]);
        expect(await leadersOf(a2, "__consumer_offsets").then((l) => l.filter((x) => x !== 1))).toEqual([]);
        // ... but a new topic's partitions are spread over both at once.
        admin = kafkaOn([b2], "balance").admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: "new", numPartitions: 4 }] });
        await admin.disconnect();
        // (Broker 1, which never rebalances, created it: broker 2 got its share at creation, not by a hand-over.)
        const spread = await until(() => leadersOf(a2, "new"), (l) => l.every((x) => x > 0) && new Set(l).size === 2);
        expect(new Set(spread)).toEqual(new Set([1, 2]));

        // Broker 1 stops: broker 2 takes everything. Back (with rebalancing on), it gets its preferred partitions back
        // from live broker 2 at broker 2's next check, while an idempotent producer writes through the move.
        await b1.stop();
        await until(() => leadersOf(a2, "old"), (l) => l.every((x) => x === 2));
        // A partition broker 1 is preferred leader of; idempotent producers write to it, one after another, until
        // it moved back and a few more after.
        const p = preferredLeaders("old", 4, [1, 2]).indexOf(1);
        let moved = false;
        const sent: string[] = [];
        const producing = (async () => {
          for (let i = 0, after = 0; after < 3; i++) {
            if (moved) after++;
            const lines = Array.from({ length: 20 }, (_, j) => `v${i * 20 + j}`);
            await kcat(
              ["-b", a2, "-P", "-t", "old", "-p", String(p), "-X", "enable.idempotence=true"],
              lines.join("\n") + "\n",
            );
            sent.push(...lines);
          }
        })();
        b1 = await startBrokerProcess("bun", ["--storage", url, ...FAST_CLUSTER, "--node-id", "1"]);
        started.push(b1);
        const back = await until(() => leadersOf(a2, "old"), (l) => l[p] === 1);
        moved = true;
        expect(back[p]).toBe(1);
        await producing;
        expect(b2.logs()).toMatch(/handing \d+ partition\(s\) to their preferred leaders/);
        const out = await kcat(["-b", a2, "-C", "-t", "old", "-p", String(p), "-e", "-q", "-f", "%s\n"]);
        expect(out.split("\n").filter((l) => l !== "")).toEqual(sent);
      }),
    90_000,
  );

  test(
    "ElectLeaders (PREFERRED) through any broker hands partitions to their preferred leaders",
    () =>
      keepLogsOnFailure(started, async () => {
        const url = database("lease_elect");
        const off = ["-o", "auto.leader.rebalance.enable=false"];
        const [b1] = await startCluster(url, ["bun"], started, off);
        const admin = kafkaOn([b1], "elect").admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: "el", numPartitions: 4 }] });
        await admin.disconnect();
        const b2 = await startBrokerProcess("bun", ["--storage", url, ...FAST_CLUSTER, ...off, "--node-id", "2"]);
        started.push(b2);
        const a2 = `127.0.0.1:${b2.port}`;
        await until(() => metadata(a2), (m) => m.brokers.length === 2);
        const leaders = async () => (await metadata(a2, "el")).topics[0].partitions.map((x) => x.leader);
        expect(await until(leaders, (l) => l.every((x) => x === 1))).toEqual([1, 1, 1, 1]);
        const preferred = preferredLeaders("el", 4, [1, 2]);
        const c = await WireClient.connect(b2.port);
        try {
          const elect = () =>
            c.send(ElectLeaders, 2, {
              electionType: 0,
              topicPartitions: [{ topic: "el", partitions: [0, 1, 2, 3, 9] }],
              timeoutMs: 10_000,
            });
          const r = await elect();
          expect(r.errorCode).toBe(0);
          expect(r.replicaElectionResults![0].partitionResult!.map((x) => x.errorCode)).toEqual([
            ...preferred.map((p) => (p === 1 ? 84 : 0)), // ELECTION_NOT_NEEDED, NONE
            3, // UNKNOWN_TOPIC_OR_PARTITION
          ]);
          // Answered once the partitions moved: every broker's Metadata shows it at once.
          expect(await leaders()).toEqual(preferred);
          const again = await elect();
          expect(again.replicaElectionResults![0].partitionResult!.slice(0, 4).map((x) => x.errorCode)).toEqual([
            84,
            84,
            84,
            84,
          ]);

          // Two requests at once, for different partitions of a new topic (both led by broker 1): both apply.
          const admin2 = kafkaOn([b1], "elect2").admin();
          await admin2.connect();
          await admin2.createTopics({ topics: [{ topic: "el2", numPartitions: 6 }] });
          await admin2.disconnect();
          const preferred2 = preferredLeaders("el2", 6, [1, 2]);
          // Created by broker 1 with both live: the partitions went to their preferred leaders; move broker 2's to 1.
          const leaders2 = async () => (await metadata(a2, "el2")).topics[0].partitions.map((x) => x.leader);
          expect(await until(leaders2, (l) => l.every((x, i) => x === preferred2[i]))).toEqual(preferred2);
          const onTwo = preferred2.flatMap((x, p) => (x === 2 ? [p] : []));
          expect(onTwo.length).toBe(3);
          await b2.stop();
          const a1 = `127.0.0.1:${b1.port}`;
          const all1 = async () => (await metadata(a1, "el2")).topics[0].partitions.map((x) => x.leader);
          // Broker 1 takes broker 2's partitions over before broker 2 comes back (a quick restart could otherwise find
          // its partitions still its own and keep them).
          expect(await until(all1, (l) => l.every((x) => x === 1))).toEqual([1, 1, 1, 1, 1, 1]);
          const b2again = await startBrokerProcess("bun", [
            "--storage",
            url,
            ...FAST_CLUSTER,
            ...off,
            "--node-id",
            "2",
          ]);
          started.push(b2again);
          await until(() => metadata(a1), (m) => m.brokers.length === 2);
          // With the periodic rebalance off, they stay with broker 1 once broker 2 is back.
          expect(await all1()).toEqual([1, 1, 1, 1, 1, 1]);
          const [c1, c2] = [await WireClient.connect(b1.port), await WireClient.connect(b2again.port)];
          try {
            const one = (cx: WireClient, p: number) =>
              cx.send(ElectLeaders, 2, {
                electionType: 0,
                topicPartitions: [{ topic: "el2", partitions: [p] }],
                timeoutMs: 20_000,
              });
            const answers = await Promise.all([one(c1, onTwo[0]), one(c2, onTwo[1])]);
            for (const a of answers) expect(a.replicaElectionResults![0].partitionResult![0].errorCode).toBe(0);
            // Broker 1 names the new leader at its beat after the takeover (it answered once its own one was done).
            const l = await until(all1, (x) => x[onTwo[0]] === 2 && x[onTwo[1]] === 2);
            expect(onTwo.map((p) => l[p])).toEqual([2, 2, 1]);
          } finally {
            c1.close();
            c2.close();
          }
        } finally {
          c.close();
        }
      }),
    90_000,
  );

  test(
    "brokers started one after another with the default rebalance interval: the first FindCoordinator spreads coordinators over all",
    () =>
      keepLogsOnFailure(started, async () => {
        const url = database("lease_lazy");
        const brokers = await startCluster(url, ["bun", "bun", "bun"], started, [
          "-o",
          "leader.imbalance.check.interval.seconds=300",
        ]);
        const c = await WireClient.connect(brokers[0].port);
        try {
          for (const keyType of [0, 1]) {
            const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
            const r = await c.send(FindCoordinator, 4, { key: "", keyType, coordinatorKeys: keys });
            expect(r.coordinators!.map((x) => x.errorCode)).toEqual(keys.map(() => 0));
            expect(new Set(r.coordinators!.map((x) => x.nodeId))).toEqual(new Set([1, 2, 3]));
          }
        } finally {
          c.close();
        }
        // Created as Kafka's internal topics: 50 partitions each (the default), spread evenly.
        const m = await metadata(`127.0.0.1:${brokers[0].port}`, "__consumer_offsets");
        expect(m.topics[0].partitions.length).toBe(50);
        const counts = [1, 2, 3].map((n) => m.topics[0].partitions.filter((p) => p.leader === n).length).sort();
        expect(counts).toEqual([16, 17, 17]);
      }),
    60_000,
  );
});
