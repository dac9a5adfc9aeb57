// The cleaner meets damaged batches (issue #14.4): it skips and reports each once, never loops, never
// drops or rewrites them, and never swaps in a partial copy of a segment whose framing is broken.
import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import type { FileLogStore } from "../../src/storage/file.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const dir = mkdtempSync(`${tmpdir()}/chronik-compact-damaged-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const VALUE = 300 * 1024;

// A partition opened at start-up caches its topic's settings for a second, read before the topics'
// configs are loaded (file.ts config()); compaction is asked for once they are in force.
const settle = () => new Promise((r) => setTimeout(r, 1100));

function flip(path: string, at: number): void {
  const fd = openSync(path, "r+");
  writeSync(fd, Uint8Array.of(readFileSync(path)[at] ^ 0xff), 0, 1, at);
  closeSync(fd);
}

test("damaged batches: reported once, kept byte for byte, the rest compacted, no loop", async () => {
  const b0 = await testBroker({ dataDir: dir, "log.cleaner.backoff.ms": 100000 });
  const c = await WireClient.connect(b0.port);
  await c.send(CreateTopics, 7, {
    topics: [{
      name: "cd",
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: [
        { name: "cleanup.policy", value: "compact" },
        { name: "segment.bytes", value: "1048576" },
        { name: "min.cleanable.dirty.ratio", value: "0.01" },
      ],
    }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  // Segment 0: k1, k2, k1; segment 1: k3, k1, k4; segment 2 (active): k5.
  for (const [i, k] of ["k1", "k2", "k1", "k3", "k1", "k4", "k5"].entries()) {
    const r = await c.send(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{
        name: "cd",
        topicId: ZERO_UUID,
        partitionData: [{
          index: 0,
          records: buildRecordBatch({ records: [{ key: k, value: new Uint8Array(VALUE).fill(65 + i) }] }),
        }],
      }],
    });
    expect(r.responses![0].partitionResponses![0].errorCode).toBe(0);
  }
  c.close();
  await b0.close();
  const pdir = `${dir}/cd-0`;
  const logs = readdirSync(pdir).filter((n) => n.endsWith(".log")).sort().map((n) => `${pdir}/${n}`);
  expect(logs.length).toBe(3);
  const batch = statSync(logs[0]).size / 3;
  // Segment 0, batch 1 (k2): a flipped value byte, so its CRC fails but its framing holds.
  flip(logs[0], batch + batch / 2);
  const damagedBytes = readFileSync(logs[0]).subarray(batch, 2 * batch).slice();

  const b = await testBroker({ dataDir: dir, "log.cleaner.backoff.ms": 100000 });
  try {
    const store = b.services.store as FileLogStore;
    await settle();
    for (let i = 0; i < 3; i++) await store.runCompaction(true);
    const reports = b.lines.filter((l) => l.includes("compaction skips a damaged record batch"));
    expect(reports.length).toBe(1);
    expect(reports[0]).toContain(`at offset 1 of ${logs[0]}`);
    // k1 at offsets 0 and 2 is shadowed by offset 4: gone; k2's damaged batch stays byte for byte.
    const seg0 = readFileSync(logs[0]);
    expect(seg0.length).toBe(batch);
    expect(seg0).toEqual(damagedBytes);
    expect(b.lines.filter((l) => l.includes("compacted") && l.includes("record(s) removed")).length).toBeGreaterThan(0);
  } finally {
    await b.close();
  }

  // Now break segment 1's framing (a batch length that overruns the file): nothing from segment 1 on is
  // cleaned, and no partial copy of it is swapped in.
  const seg1Before = readFileSync(logs[1]).slice();
  flip(logs[1], 8);
  const b2 = await testBroker({ dataDir: dir, "log.cleaner.backoff.ms": 100000 });
  try {
    const store = b2.services.store as FileLogStore;
    await settle();
    for (let i = 0; i < 3; i++) await store.runCompaction(true);
    const seg1 = readFileSync(logs[1]);
    expect(seg1.length).toBe(seg1Before.length);
    expect(seg1.subarray(12)).toEqual(seg1Before.subarray(12));
    const reports = b2.lines.filter((l) => l.includes("compaction skips a damaged record batch"));
    expect(reports.some((l) => l.includes(logs[1]))).toBe(true);
    expect(new Set(reports).size).toBe(reports.length);
  } finally {
    await b2.close();
  }
}, 60_000);
