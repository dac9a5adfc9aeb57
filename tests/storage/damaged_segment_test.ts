// A damaged batch inside a rolled segment (issue #13.4): the clean-start scan does not look there,
// so reads check it. Fetches reaching it get KAFKA_STORAGE_ERROR for that partition only (an empty
// record set, so librdkafka parses the answer), the batches before it are still served, other
// partitions keep working, and the broker logs it once with the file and byte position. The way
// past it, as Kafka's log recovery: stop, delete the segment's .index, start; the segment is scanned
// and truncated at the bad batch, the bytes cut off kept beside it, fetches continue after it.
import { afterAll, expect, test } from "bun:test";
import {
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const dir = mkdtempSync(`${tmpdir()}/chronik-damaged-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VALUE = 300 * 1024;

function fetchReq(partitions: { partition: number; offset: bigint }[]) {
  return {
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
      topic: "dmg",
      topicId: "00000000-0000-0000-0000-000000000000",
      partitions: partitions.map((p) => ({
        partition: p.partition,
        currentLeaderEpoch: -1,
        fetchOffset: p.offset,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 4 << 20,
        replicaDirectoryId: "00000000-0000-0000-0000-000000000000",
        highWatermark: 9223372036854775807n,
      })),
    }],
  };
}

async function run(cmd: string[]): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out, err };
}

test("a damaged batch in a rolled segment: KAFKA_STORAGE_ERROR for its partition, logged once; recovery", async () => {
  const b0 = await testBroker({ dataDir: dir, logLevel: "info" });
  const c0 = await WireClient.connect(b0.port);
  await c0.send(CreateTopics, 7, {
    topics: [{
      name: "dmg",
      numPartitions: 2,
      replicationFactor: 1,
      assignments: [],
      configs: [{ name: "segment.bytes", value: "1048576" }],
    }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  // Partition 0: five batches of one 300 KiB record; the first three fill segment 0, which rolls.
  const produce = async (partition: number, i: number) => {
    const records = buildRecordBatch({
      records: [{ key: `k${i}`, value: new Uint8Array(VALUE).fill(65 + i) }],
    });
    const r = await c0.send(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: "dmg", topicId: ZERO_UUID, partitionData: [{ index: partition, records }] }],
    });
    expect(r.responses![0].partitionResponses![0].errorCode).toBe(0);
  };
  for (let i = 0; i < 5; i++) await produce(0, i);
  await produce(1, 9);
  c0.close();
  await b0.close();
  const pdir = `${dir}/dmg-0`;
  const segments = readdirSync(pdir).filter((n) => n.endsWith(".log")).sort();
  expect(segments.length).toBeGreaterThan(1);
  const seg0 = `${pdir}/${segments[0]}`;
  const batchSize = statSync(seg0).size / 3;
  expect(Number.isInteger(batchSize)).toBe(true);
  // Flip one byte in the middle of the second batch's value (its CRC no longer matches).
  const at = batchSize + Math.floor(batchSize / 2);
  const fd = openSync(seg0, "r+");
  const byte = readFileSync(seg0).subarray(at, at + 1);
  writeSync(fd, Uint8Array.of(byte[0] ^ 0xff), 0, 1, at);
  closeSync(fd);

  // A clean start: only the active segment's tail is scanned; segment 0's damage is found by reads.
  const b = await testBroker({ dataDir: dir, logLevel: "info" });
  const c = await WireClient.connect(b.port);
  expect(b.lines.filter((l) => l.includes("truncating"))).toEqual([]);

  // Offset 0: the first batch is served, the read stops before the damage.
  const first = await c.send(Fetch, 12, fetchReq([{ partition: 0, offset: 0n }, { partition: 1, offset: 0n }]));
  const [p0, p1] = first.responses![0].partitions!;
  expect(p0.errorCode).toBe(0);
  expect((p0.records as Uint8Array).length).toBe(batchSize);
  expect(p1.errorCode).toBe(0);
  expect((p1.records as Uint8Array).length).toBeGreaterThan(VALUE);
  // Offset 1 (the damaged batch), many times: an error and an empty record set for partition 0 only.
  for (let i = 0; i < 50; i++) {
    const r = await c.send(Fetch, 12, fetchReq([{ partition: 0, offset: 1n }, { partition: 1, offset: 0n }]));
    const [d0, d1] = r.responses![0].partitions!;
    expect(d0.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((d0.records as Uint8Array).length).toBe(0);
    expect(d1.errorCode).toBe(0);
  }
  // A real client: kcat (librdkafka) reads offset 0 of partition 0, then reports the error; partition
  // 1 is read whole.
  const k0 = await run([
    "timeout",
    "4",
    "kcat",
    "-b",
    `127.0.0.1:${b.port}`,
    "-C",
    "-t",
    "dmg",
    "-p",
    "0",
    "-o",
    "beginning",
    "-c",
    "2",
    "-d",
    "fetch",
    "-f",
    "%p:%o\\n",
  ]);
  expect(k0.out.trim().split("\n")).toEqual(["0:0"]); // then it waits (killed by timeout), no parse errors
  expect(k0.err).not.toContain("parse");
  // librdkafka's fetch debug: the partition's error, then its back-off (not a tight retry loop).
  expect(k0.err).toContain(
    "dmg [0]: Fetch backoff for 500ms: Broker: Disk error when trying to access log file on disk",
  );
  const k1 = await run([
    "timeout",
    "20",
    "kcat",
    "-b",
    `127.0.0.1:${b.port}`,
    "-C",
    "-t",
    "dmg",
    "-p",
    "1",
    "-o",
    "beginning",
    "-e",
    "-f",
    "%p:%o\\n",
  ]);
  expect([k1.code, k1.out.trim()]).toEqual([0, "1:0"]);
  const damaged = b.lines.filter((l) => l.includes("damaged record batch"));
  expect(damaged.length).toBe(1);
  expect(damaged[0]).toContain(`at byte ${batchSize} of ${seg0}`);
  expect(damaged[0]).toContain("CRC32C mismatch");
  expect(b.lines.filter((l) => l.includes("read of dmg-0 failed")).length).toBe(0);
  c.close();
  await b.close();

  // The documented way past it: delete the segment's index and start again.
  unlinkSync(seg0.replace(/\.log$/, ".index"));
  const b2 = await testBroker({ dataDir: dir, logLevel: "info" });
  try {
    const c2 = await WireClient.connect(b2.port);
    const r = await c2.send(Fetch, 12, fetchReq([{ partition: 0, offset: 1n }]));
    const d0 = r.responses![0].partitions![0];
    expect(d0.errorCode).toBe(0);
    // Offsets 1 and 2 were in the cut-off part of segment 0; the next batch is offset 3.
    const got = d0.records as Uint8Array;
    expect(new DataView(got.buffer, got.byteOffset).getBigInt64(0)).toBe(3n);
    expect(statSync(seg0).size).toBe(batchSize);
    const aside = `${seg0}.damaged-${batchSize}`;
    expect(existsSync(aside)).toBe(true);
    expect(statSync(aside).size).toBe(2 * batchSize);
    expect(b2.lines.some((l) => l.includes(`truncating ${2 * batchSize} bytes at position ${batchSize}`))).toBe(true);
    c2.close();
  } finally {
    await b2.close();
  }
}, 60_000);
