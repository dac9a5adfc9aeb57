// Producer-state snapshots in a cluster on PostgreSQL are written only by a partition's leader. A broker stopping
// cleanly used to snapshot every partition it had open, so one that never led a partition replaced its leader's
// snapshot with its own stale, empty state (a later leader would then restore from it and lose open transactions and
// the aborted index below that offset).
import { expect, test } from "bun:test";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import { pgClusterSuite } from "../helpers/pg_cluster_suite.ts";
import { kcat, metadata, until } from "../helpers/kcat.ts";
import { FAST_CLUSTER, startCluster } from "../helpers/pg_cluster.ts";

const suite = pgClusterSuite();
const started = suite.brokers;

test("a broker stopping cleanly leaves the snapshots of partitions it does not lead alone", async () => {
  const url = suite.pg.createDatabase("snap");
  const db = new URL(url).pathname.slice(1);
  const [one, two] = await startCluster(url, ["bun", "bun"], started);
  const addr = `127.0.0.1:${two.port}`;
  await kcat(["-b", addr, "-P", "-t", "snap", "-p", "0"], "warm\n"); // auto-creates the topic (1 partition each)
  const m = await until(() => metadata(addr, "snap"), (m) => (m.topics[0]?.partitions[0]?.leader ?? -1) > 0);
  const leader = m.topics[0].partitions[0].leader;
  const other = leader === 1 ? two : one;
  const at = `127.0.0.1:${(leader === 1 ? one : two).port}`;
  const otherArgs = ["--storage", url, ...FAST_CLUSTER, "--node-id", String(leader === 1 ? 2 : 1)];
  // Records the other broker opens the partition with (its view: log end > 0, producer state empty).
  const idem = ["-X", "enable.idempotence=true", "-X", "acks=all"];
  await kcat(["-b", at, "-P", "-t", "snap", "-p", "0", ...idem], "a\nb\nc\n");
  expect(await other.stop()).toBe(0);
  const again = await startBrokerProcess("bun", otherArgs);
  started.push(again);
  await until(() => metadata(at), (m) => m.brokers.length === 2);
  const rows = () =>
    suite.pg.psql(`SELECT count(*) FROM chronik_partition_state WHERE topic = 'snap' AND partition = 0`, db).trim();
  const before = rows();
  expect(await again.stop()).toBe(0);
  expect(again.logs()).toContain("stopped");
  expect(rows()).toBe(before);
}, 120_000);
