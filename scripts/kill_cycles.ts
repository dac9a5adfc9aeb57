// Kill cycles (issue #13): a broker child process is killed with SIGKILL, N times, in the middle of
// acks=all idempotent produce load and group consumption from kafkajs, and restarted on the same
// data dir. After each restart it checks, over the wire:
//   - every acknowledged record is present exactly once (no record value appears twice at all);
//   - offsets are dense from 0 and every served batch is whole and passes its CRC32C;
//   - the group's committed offsets never go backwards, and are at least the last acknowledged commit.
// A SIGKILL leaves the page cache whole, so it never tears a write; every --torn-every'th cycle the
// script therefore also appends half a batch to a partition's active segment after the kill, as a
// power loss mid-write would leave it: the restart must truncate it (logged) and lose nothing acknowledged.
//
//   bun scripts/kill_cycles.ts [--runtime bun|deno|node|binary] [--cycles 100] [--partitions 3]
//       [--producers 2] [--min-ms 500] [--max-ms 2000] [--torn-every 10] [--data-dir DIR] [--keep]
//
// Prints one JSON line per cycle and a summary; exits 1 at the first violation (with the reason).
// tests/storage/kill_cycles_test.ts runs a few cycles in the suite; the README reports a long run.
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Kafka, logLevel } from "kafkajs";
import { ErrorCode } from "../src/protocol/errors.ts";
import { Fetch } from "../src/protocol/messages/01_fetch.ts";
import { OffsetFetch } from "../src/protocol/messages/09_offset_fetch.ts";
import { batchCrcValid, buildRecordBatch, decodeRecords } from "../src/protocol/record_batch.ts";
import { type RuntimeKind, startBrokerProcess } from "../tests/e2e/harness.ts";
import { WireClient } from "../tests/helpers/wire_client.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

export type KillOptions = {
  runtime: RuntimeKind;
  cycles: number;
  partitions: number;
  producers: number;
  /** The kill comes at a random time between these, after the load started. */
  minMs: number;
  maxMs: number;
  /** Every n-th cycle, half a batch is appended to a segment after the kill (0: never). */
  tornEvery?: number;
  dataDir?: string;
  keep?: boolean;
  /** One line per cycle (default: console.log). */
  report?: (line: string) => void;
};

export type KillSummary = {
  cycles: number;
  acknowledged: number;
  stored: number;
  unacknowledgedKept: number;
  commitsAcknowledged: number;
  recoveries: number;
  truncations: number;
  tornInjected: number;
  seconds: number;
};

const TOPIC = "kill";
const GROUP = "kill-g";
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Violation extends Error {}

/** Resolves `p`, or undefined after `ms` (tearing down clients of a dead broker must not hang). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p.catch(() => undefined), sleep(ms).then(() => undefined)]);
}

/** Every record of a partition as values by offset; checks wholeness, CRC and density. */
async function readPartition(c: WireClient, partition: number): Promise<string[]> {
  const out: string[] = [];
  let offset = 0n;
  for (;;) {
    const r = await c.send(Fetch, 12, {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 8 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      rackId: "",
      forgottenTopicsData: [],
      topics: [{
        topic: TOPIC,
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        partitions: [{
          partition,
          currentLeaderEpoch: -1,
          fetchOffset: offset,
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: 8 << 20,
          replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
          highWatermark: 9223372036854775807n,
        }],
      }],
    });
    const p = r.responses![0].partitions![0];
    if (p.errorCode !== ErrorCode.NONE) throw new Violation(`fetch of ${TOPIC}-${partition} answered ${p.errorCode}`);
    const buf = p.records as Uint8Array | null;
    if (!buf || buf.length === 0) return out;
    let pos = 0;
    while (pos < buf.length) {
      const size = 12 + new DataView(buf.buffer, buf.byteOffset + pos).getInt32(8);
      const b = buf.subarray(pos, pos + size);
      if (b.length !== size) throw new Violation(`partial batch served at ${TOPIC}-${partition} offset ${offset}`);
      if (!batchCrcValid(b)) throw new Violation(`corrupt batch served at ${TOPIC}-${partition} offset ${offset}`);
      const d = decodeRecords(b);
      for (const rec of d.records) {
        if (Number(rec.offset) !== out.length) {
          throw new Violation(`${TOPIC}-${partition}: offset ${rec.offset} where ${out.length} was expected`);
        }
        out.push(dec.decode(rec.value!));
      }
      offset = d.baseOffset + BigInt(d.lastOffsetDelta) + 1n;
      pos += size;
    }
  }
}

async function committedOffsets(c: WireClient, partitions: number): Promise<number[]> {
  const r = await c.send(OffsetFetch, 2, {
    groupId: GROUP,
    topics: [{ name: TOPIC, partitionIndexes: [...Array(partitions).keys()] }],
    groups: [],
    requireStable: false,
  });
  const out = new Array(partitions).fill(-1);
  for (const p of r.topics![0].partitions!) out[p.partitionIndex!] = Number(p.committedOffset);
  return out;
}

export async function runKillCycles(o: KillOptions): Promise<KillSummary> {
  const report = o.report ?? ((l: string) => console.log(l));
  const dir = o.dataDir ?? mkdtempSync(`${tmpdir()}/chronik-kill-`);
  const started = Date.now();
  const args = [
    "--data-dir",
    dir,
    "--log-level",
    "info",
    "-o",
    "log.segment.bytes=1048576",
    "-o",
    "group.min.session.timeout.ms=1000",
    "-o",
    "group.initial.rebalance.delay.ms=0",
  ];
  /** Acknowledged values (produce answered without error). */
  const acked = new Set<string>();
  /** Highest acknowledged commit per partition, and the committed offsets seen at the last restart. */
  const ackedCommit = new Array(o.partitions).fill(-1);
  let lastCommitted = new Array(o.partitions).fill(-1);
  let commitsAcknowledged = 0;
  let recoveries = 0;
  let truncations = 0;
  let stored = 0;
  let tornInjected = 0;
  let expectTruncation = false;
  try {
    for (let cycle = 0; cycle <= o.cycles; cycle++) {
      const b = await startBrokerProcess(o.runtime, args);
      const c = await WireClient.connect(b.port);
      const kafka = new Kafka({
        brokers: [`127.0.0.1:${b.port}`],
        clientId: `kill-${cycle}`,
        logLevel: logLevel.NOTHING,
        retry: { initialRetryTime: 50, maxRetryTime: 300, retries: 3 },
      });
      try {
        if (cycle === 0) {
          const admin = kafka.admin();
          await admin.connect();
          await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: o.partitions }] });
          await admin.disconnect();
        } else {
          // Verify what the last kill left.
          const logs = b.logs();
          if (logs.includes("unclean")) recoveries++;
          const truncated = (logs.match(/truncating/g) ?? []).length;
          truncations += truncated;
          if (expectTruncation && truncated === 0) {
            throw new Violation(`cycle ${cycle}: the torn tail was not truncated`);
          }
          expectTruncation = false;
          const seen = new Map<string, number>();
          stored = 0;
          for (let p = 0; p < o.partitions; p++) {
            for (const v of await readPartition(c, p)) {
              seen.set(v, (seen.get(v) ?? 0) + 1);
              stored++;
            }
          }
          for (const [v, n] of seen) if (n > 1) throw new Violation(`cycle ${cycle}: ${v} stored ${n} times`);
          for (const v of acked) if (!seen.has(v)) throw new Violation(`cycle ${cycle}: acknowledged ${v} lost`);
          const committed = await committedOffsets(c, o.partitions);
          for (let p = 0; p < o.partitions; p++) {
            if (committed[p] < ackedCommit[p]) {
              throw new Violation(
                `cycle ${cycle}: partition ${p} committed offset ${committed[p]} < acknowledged commit ${
                  ackedCommit[p]
                }`,
              );
            }
            if (committed[p] < lastCommitted[p]) {
              throw new Violation(
                `cycle ${cycle}: partition ${p} committed offset went back ${lastCommitted[p]} -> ${committed[p]}`,
              );
            }
          }
          lastCommitted = committed;
        }
        if (cycle === o.cycles) {
          c.close();
          const code = await b.stop();
          if (code !== 0) throw new Violation(`the last broker exited with ${code}`);
          break;
        }

        // Load: idempotent acks=all producers, and a group consumer committing what it read.
        let stop = false;
        let sent = 0;
        const producers = Array.from(
          { length: o.producers },
          () =>
            kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 2, initialRetryTime: 50 } }),
        );
        const loops = producers.map(async (producer, lane) => {
          await producer.connect();
          for (let seq = 0; !stop; seq++) {
            const messages = Array.from({ length: 10 }, (_, i) => ({
              key: `l${lane}-${i}`,
              value: `c${cycle}-l${lane}-s${seq}-r${i}`,
            }));
            try {
              await producer.send({ topic: TOPIC, acks: -1, messages });
            } catch {
              return; // the broker died: not acknowledged
            }
            for (const m of messages) acked.add(m.value);
            sent += messages.length;
            await sleep(5);
          }
        });
        const consumer = kafka.consumer({
          groupId: GROUP,
          sessionTimeout: 2000,
          rebalanceTimeout: 3000,
          heartbeatInterval: 300,
          maxWaitTimeInMs: 100,
          retry: { retries: 1 },
        });
        // The commit's acknowledgement: kafkajs emits this only once OffsetCommit succeeded (its
        // commitOffsets() also resolves, without committing, when the consumer stopped meanwhile).
        consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
          for (const t of e.payload.topics) {
            for (const p of t.partitions) {
              ackedCommit[p.partition] = Math.max(ackedCommit[p.partition], Number(p.offset));
              commitsAcknowledged++;
            }
          }
        });
        await consumer.connect();
        await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const next = Number(batch.lastOffset()) + 1;
            await consumer.commitOffsets([{ topic: TOPIC, partition: batch.partition, offset: String(next) }]);
          },
        }).catch(() => {});
        await sleep(o.minMs + Math.random() * (o.maxMs - o.minMs));
        b.proc.kill("SIGKILL");
        stop = true;
        await b.proc.exited;
        await within(Promise.all(loops), 5000);
        await within(Promise.all(producers.map((p) => p.disconnect())), 2000);
        await within(consumer.disconnect(), 2000);
        c.close();
        if (o.tornEvery && (cycle + 1) % o.tornEvery === 0) {
          // Half of a valid batch at the end of one partition's active segment.
          const p = cycle % o.partitions;
          const seg = readdirSync(`${dir}/${TOPIC}-${p}`).filter((f) => f.endsWith(".log")).sort().at(-1)!;
          const half = buildRecordBatch({ records: [{ key: null, value: `torn-${cycle}`.repeat(40) }] });
          appendFileSync(`${dir}/${TOPIC}-${p}/${seg}`, half.subarray(0, Math.floor(half.length / 2)));
          tornInjected++;
          expectTruncation = true;
        }
        report(JSON.stringify({ cycle, sentAcked: sent, acknowledged: acked.size, stored, committed: lastCommitted }));
      } catch (e) {
        c.close();
        if (b.proc.exitCode === null && b.proc.signalCode === null) b.proc.kill("SIGKILL");
        if (e instanceof Violation) e.message += `\n--- broker logs ---\n${b.logs().slice(-4000)}`;
        throw e;
      }
    }
  } finally {
    if (!o.keep && !o.dataDir) rmSync(dir, { recursive: true, force: true });
  }
  return {
    cycles: o.cycles,
    acknowledged: acked.size,
    stored,
    unacknowledgedKept: stored - acked.size,
    commitsAcknowledged,
    recoveries,
    truncations,
    tornInjected,
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

if (import.meta.main) {
  runKillCycles({
    runtime: arg("runtime", "bun") as RuntimeKind,
    cycles: Number(arg("cycles", "100")),
    partitions: Number(arg("partitions", "3")),
    producers: Number(arg("producers", "2")),
    minMs: Number(arg("min-ms", "500")),
    maxMs: Number(arg("max-ms", "2000")),
    tornEvery: Number(arg("torn-every", "10")),
    dataDir: process.argv.includes("--data-dir") ? arg("data-dir", "") : undefined,
    keep: process.argv.includes("--keep"),
  }).then((s) => {
    console.log(JSON.stringify({ summary: s }));
    process.exit(0);
  }, (e) => {
    console.error(`kill_cycles: FAILED: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
