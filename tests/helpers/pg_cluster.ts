// Brokers on one private PostgreSQL (tests/helpers/postgres.ts) for the cluster end-to-end tests: the
// common flags (a 2 s lease renewed every 300 ms, so takeovers happen within seconds; no initial rebalance
// delay; a leader imbalance check every second), N brokers of the given runtimes with node ids 1..N, kafkajs on them with patient retries, and the
// transaction coordinator of a transactional id as FindCoordinator names it; on a failure, the brokers' logs kept.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Kafka, logLevel } from "kafkajs";
import type { Producer } from "kafkajs";
import type { BrokerProcess, RuntimeKind } from "../e2e/harness.ts";
import { startBrokerProcess } from "../e2e/harness.ts";
import { FindCoordinator } from "../../src/protocol/messages/10_find_coordinator.ts";
import { kcat, metadata, until } from "./kcat.ts";
import { WireClient } from "./wire_client.ts";

export const FAST_CLUSTER = [
  "-o",
  "broker.heartbeat.interval.ms=300",
  "-o",
  "broker.session.timeout.ms=2000",
  "-o",
  "group.initial.rebalance.delay.ms=0",
  // Brokers started one after another get their share of the partitions (of topics created before they joined) at
  // the first rebalance check (Kafka's default: every 300 s).
  "-o",
  "leader.imbalance.check.interval.seconds=1",
];

/**
 * Starts one broker per entry of `kinds` (node ids 1, 2, ...) on the PostgreSQL `url` with FAST_CLUSTER and
 * `extra` flags, each pushed onto `track` as it starts (for afterAll); resolves once Metadata shows them all
 * (asked with kcat, plus `kcatArgs` for a listener that needs them: `-X security.protocol=...`).
 */
export async function startCluster(
  url: string,
  kinds: readonly RuntimeKind[],
  track: BrokerProcess[],
  extra: string[] = [],
  env: Record<string, string> = {},
  kcatArgs: string[] = [],
): Promise<BrokerProcess[]> {
  const out: BrokerProcess[] = [];
  for (const [i, kind] of kinds.entries()) {
    const b = await startBrokerProcess(
      kind,
      ["--storage", url, ...FAST_CLUSTER, ...extra, "--node-id", String(i + 1)],
      env,
    );
    track.push(b);
    out.push(b);
  }
  const meta = async (addr: string): Promise<Awaited<ReturnType<typeof metadata>>> =>
    kcatArgs.length === 0 ? metadata(addr) : JSON.parse(await kcat(["-b", addr, ...kcatArgs, "-L", "-J"]));
  const m = await until(() => meta(`127.0.0.1:${out[0].port}`), (m) => m.brokers.length === kinds.length);
  if (m.brokers.length !== kinds.length) {
    throw new Error(`the cluster shows ${m.brokers.length}/${kinds.length} brokers`);
  }
  return out;
}

/** kafkajs on `brokers`, retrying long enough to ride out a lease (a takeover). */
export function kafkaOn(brokers: readonly BrokerProcess[], clientId: string): Kafka {
  return new Kafka({
    brokers: brokers.map((b) => `127.0.0.1:${b.port}`),
    clientId,
    logLevel: logLevel.NOTHING,
    retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Node id of the transaction coordinator of `transactionalId`, as the broker at `port` answers FindCoordinator. */
export async function transactionCoordinator(port: number, transactionalId: string): Promise<number> {
  const c = await WireClient.connect(port);
  try {
    const r = await c.send(FindCoordinator, 4, { key: "", keyType: 1, coordinatorKeys: [transactionalId] });
    const found = r.coordinators![0];
    if (found.errorCode !== 0) throw new Error(`FindCoordinator(${transactionalId}): error ${found.errorCode}`);
    return found.nodeId!;
  } finally {
    c.close();
  }
}

/**
 * Has the broker at `port` create __consumer_offsets and __transaction_state (in a cluster they are created by the
 * first FindCoordinator that needs them, as in Kafka), for tests that look at their partitions before any client did.
 */
export async function createCoordinatorTopics(port: number): Promise<void> {
  const c = await WireClient.connect(port);
  try {
    for (const keyType of [0, 1]) {
      const r = await c.send(FindCoordinator, 4, { key: "", keyType, coordinatorKeys: ["chronik-test"] });
      const found = r.coordinators![0];
      if (found.errorCode !== 0 && found.errorCode !== 15) throw new Error(`FindCoordinator: error ${found.errorCode}`);
    }
  } finally {
    c.close();
  }
}

/** Runs `body`; if it fails, writes each broker's log to a temp dir and names it in the error (for a flaky fault). */
export async function keepLogsOnFailure(brokers: readonly BrokerProcess[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const dir = mkdtempSync(`${tmpdir()}/chronik-cluster-logs-`);
    brokers.forEach((b, i) => writeFileSync(`${dir}/broker-${i + 1}.log`, b.logs()));
    if (e instanceof Error) e.message += `\n(broker logs in ${dir})`;
    throw e;
  }
}

/**
 * Two kafkajs transactions of `producer` (transactional, connected) over partitions 0..n-1 of `topic`, one record each:
 * the first (`c<p>`, with `offsets` sent for a group when given) commits, the second (`a<p>`) aborts.
 */
export async function commitThenAbort(
  producer: Producer,
  topic: string,
  n: number,
  offsets?: { groupId: string; partition: number; offset: string },
): Promise<void> {
  for (const [prefix, commit] of [["c", true], ["a", false]] as const) {
    const tx = await producer.transaction();
    await tx.send({ topic, messages: Array.from({ length: n }, (_, p) => ({ partition: p, value: `${prefix}${p}` })) });
    if (commit && offsets) {
      await tx.sendOffsets({
        consumerGroupId: offsets.groupId,
        topics: [{ topic, partitions: [{ partition: offsets.partition, offset: offsets.offset }] }],
      });
    }
    await (commit ? tx.commit() : tx.abort());
  }
}

/** The values of one partition, one a line, read with kcat at `isolationLevel` (plus `kcatArgs` for the listener). */
export function readPartition(
  addrs: readonly string[],
  topic: string,
  partition: number,
  isolationLevel: "read_committed" | "read_uncommitted",
  kcatArgs: string[] = [],
): Promise<string> {
  return kcat([
    "-b",
    addrs.join(","),
    ...kcatArgs,
    "-C",
    "-t",
    topic,
    "-p",
    String(partition),
    "-e",
    "-X",
    `isolation.level=${isolationLevel}`,
    "-f",
    "%s\n",
  ]);
}
