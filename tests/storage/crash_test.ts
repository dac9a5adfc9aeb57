// Crash recovery with a real process: the broker (bun adapters/bun.ts, file engine, fsync mode) is
// killed with SIGKILL in the middle of acks=all produce load, restarted on the same data dir, and
// checked, several times in a row: every acknowledged record is readable at its acknowledged offset,
// offsets are dense, nothing is duplicated, and every served batch passes its CRC.
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { batchCrcValid, buildRecordBatch, decodeRecords } from "../../src/protocol/record_batch.ts";
import { startBrokerProcess } from "../e2e/harness.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const CYCLES = 5;
const PARTITIONS = 4;
const IN_FLIGHT = 4;
const dec = new TextDecoder();
const dir = mkdtempSync(`${tmpdir()}/chronik-crash-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Acked = Map<number, string>; // offset -> value

async function readPartition(c: WireClient, partition: number): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
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
        topic: "crash",
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
    expect(p.errorCode).toBe(ErrorCode.NONE);
    const buf = p.records as Uint8Array | null;
    if (!buf || buf.length === 0) return out;
    let pos = 0;
    while (pos < buf.length) {
      const size = 12 + new DataView(buf.buffer, buf.byteOffset + pos).getInt32(8);
      const b = buf.subarray(pos, pos + size);
      expect(b.length).toBe(size); // never a partial batch
      expect(batchCrcValid(b)).toBe(true);
      const d = decodeRecords(b);
      for (const rec of d.records) out.push({ offset: Number(rec.offset), value: dec.decode(rec.value!) });
      offset = d.baseOffset + BigInt(d.lastOffsetDelta) + 1n;
      pos += size;
    }
  }
}

/** Produces acks=all batches on every partition until stopped; records what was acknowledged. */
function load(c: WireClient, cycle: number, acked: Acked[]): { stop: () => void; done: Promise<number> } {
  let stopped = false;
  let count = 0;
  const pad = "x".repeat(900);
  const worker = async (partition: number, lane: number) => {
    for (let seq = 0; !stopped; seq++) {
      const values = Array.from({ length: 8 }, (_, i) => `c${cycle}-p${partition}-l${lane}-s${seq}-r${i}-${pad}`);
      const records = buildRecordBatch({ records: values.map((v) => ({ key: null, value: v })) });
      let base: bigint;
      try {
        const r = await c.send(Produce, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: "crash", topicId: ZERO_UUID, partitionData: [{ index: partition, records }] }],
        });
        const p = r.responses![0].partitionResponses![0];
        if (p.errorCode !== 0) throw new Error(`produce error ${p.errorCode}`);
        base = p.baseOffset!;
      } catch {
        return; // the broker died: this one is not acknowledged
      }
      values.forEach((v, i) => acked[partition].set(Number(base) + i, v));
      count++;
    }
  };
  const ws = [];
  for (let p = 0; p < PARTITIONS; p++) for (let l = 0; l < IN_FLIGHT; l++) ws.push(worker(p, l));
  return { stop: () => (stopped = true), done: Promise.all(ws).then(() => count) };
}

test(
  `SIGKILL during acks=all produce, ${CYCLES} times: acknowledged records survive, dense, no duplicates, no corrupt batch`,
  async () => {
    const acked: Acked[] = Array.from({ length: PARTITIONS }, () => new Map());
    const args = ["--data-dir", dir, "--log-level", "info"];
    let recoveries = 0;
    let tornInjected = false;
    for (let cycle = 0; cycle <= CYCLES; cycle++) {
      const b = await startBrokerProcess("bun", args);
      const c = await WireClient.connect(b.port);
      if (cycle === 0) {
        const r = await c.send(CreateTopics, 7, {
          topics: [{
            name: "crash",
            numPartitions: PARTITIONS,
            replicationFactor: 1,
            assignments: [],
            // Small segments (Kafka 4.0's internal override; segment.bytes must be at least 1 MiB).
            configs: [{ name: "internal.segment.bytes", value: "300000" }],
          }],
          timeoutMs: 1000,
          validateOnly: false,
        });
        expect(r.topics![0].errorCode).toBe(0);
      } else {
        if (b.logs().includes("after an unclean shutdown") || b.logs().includes("truncating")) recoveries++;
        if (tornInjected) {
          // At least the 300 injected bytes; more when the SIGKILL itself had left a torn batch before them.
          const m = b.logs().match(/crash-0: unclean shutdown; truncating (\d+) bytes/);
          expect(m).not.toBeNull();
          expect(Number(m![1])).toBeGreaterThanOrEqual(300);
          tornInjected = false;
        }
        for (let p = 0; p < PARTITIONS; p++) {
          const got = await readPartition(c, p);
          got.forEach((r, i) => expect(r.offset).toBe(i)); // dense from 0
          expect(new Set(got.map((r) => r.value)).size).toBe(got.length); // no duplicates
          for (const [offset, value] of acked[p]) {
            if (got[offset]?.value !== value) {
              throw new Error(
                `cycle ${cycle}: acknowledged offset ${offset} of partition ${p} lost (have ${got.length} records)`,
              );
            }
          }
          // What survived unacknowledged is now part of the log: remember it too.
          for (const r of got) acked[p].set(r.offset, r.value);
        }
      }
      if (cycle === CYCLES) {
        c.close();
        expect(await b.stop()).toBe(0);
        break;
      }
      const l = load(c, cycle, acked);
      await Bun.sleep(400 + Math.floor(Math.random() * 600));
      b.proc.kill("SIGKILL");
      l.stop();
      const n = await l.done;
      expect(n).toBeGreaterThan(0);
      await b.proc.exited;
      c.close();
      if (cycle === 2) {
        // A torn write: half a batch at the end of partition 0's active segment, as a crash mid-write leaves.
        const seg = readdirSync(`${dir}/crash-0`).filter((f) => f.endsWith(".log")).sort().at(-1)!;
        const half = buildRecordBatch({ records: [{ key: null, value: "torn".repeat(200) }] });
        appendFileSync(`${dir}/crash-0/${seg}`, half.subarray(0, 300));
        tornInjected = true;
      }
    }
    expect(recoveries).toBe(CYCLES);
    const total = acked.reduce((s, m) => s + m.size, 0);
    expect(total).toBeGreaterThan(CYCLES * 100);
  },
  60_000,
);
