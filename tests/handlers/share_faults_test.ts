// Share-state storage faults: a disk that refuses the __share_group_state write (ENOSPC) fails the
// acknowledgement (COORDINATOR_NOT_AVAILABLE), the broker keeps working, the next write of that
// share-partition is a whole snapshot (the lost delta's changes are not lost), and a restart rebuilds
// the state the broker had; writes of one share-partition go in order, so a write queued behind a
// refused one is a snapshot too (or follows a newer snapshot already queued). And a broker shutting
// down answers a ShareFetch parked waiting for records at once (the shared long-poll waiter wakes on
// shutdown), so closing does not wait out its maxWaitMs.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { bunRuntime } from "../../adapters/bun.ts";
import type { Broker } from "../../src/broker/broker.ts";
import { startBroker } from "../../src/broker/broker.ts";
import { forEachRecord } from "../../src/broker/log_scan.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { AlterShareGroupOffsets } from "../../src/protocol/messages/91_alter_share_group_offsets.ts";
import { faultyRuntime } from "../helpers/faulty_fs.ts";
import {
  ACCEPT,
  ack,
  acquired,
  enableShare,
  produceValues,
  REJECT,
  shareAck,
  shareFetch,
  shareHeartbeat,
} from "../helpers/share.ts";
import { WireClient } from "../helpers/wire_client.ts";

const dir = mkdtempSync(`${tmpdir()}/chronik-share-faults-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(config: Record<string, unknown> = {}) {
  const rt = faultyRuntime(bunRuntime);
  const broker: Broker = await startBroker(rt, {
    host: "127.0.0.1",
    port: 0,
    logLevel: "info",
    dataDir: dir,
    ...config,
  });
  return { broker, fs: rt.fs, lines: rt.lines, c: await WireClient.connect(broker.port) };
}

test("a refused __share_group_state write fails the acknowledgement; the next write is a snapshot", async () => {
  let { broker, fs, lines, c } = await start();
  expect((await enableShare(c)).errorCode).toBe(ErrorCode.NONE);
  const t = (await c.send(CreateTopics, 7, {
    topics: [{ name: "fq", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  })).topics![0].topicId!;
  await produceValues(c, "fq", ["a", "b", "c", "d"]);
  await c.send(AlterShareGroupOffsets, 0, {
    groupId: "sg-f",
    topics: [{ topicName: "fq", partitions: [{ partitionIndex: 0, startOffset: 0n }] }],
  });
  await shareHeartbeat(c, "sg-f", "M", 0, ["fq"]);
  expect(acquired(await shareFetch(c, "sg-f", "M", 0, t))).toEqual(["0-3x1"]);
  const code = (r: Awaited<ReturnType<typeof shareAck>>) => r.responses![0].partitions![0].errorCode;
  expect(code(await shareAck(c, "sg-f", "M", 1, t, [ack(0, 0, ACCEPT)]))).toBe(ErrorCode.NONE);

  const heal = fs.inject({ path: /__share_group_state-0\/\d+\.log$/, op: "write", fault: "ENOSPC" });
  expect(code(await shareAck(c, "sg-f", "M", 2, t, [ack(1, 1, REJECT)]))).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  heal();
  expect(lines.some((l) => l.includes("writing __share_group_state failed"))).toBe(true);
  expect(code(await shareAck(c, "sg-f", "M", 3, t, [ack(2, 2, ACCEPT)]))).toBe(ErrorCode.NONE);
  const kinds: string[] = [];
  await forEachRecord(broker.services.topics.get("__share_group_state")!.partitions[0], (r) => {
    const key = new TextDecoder().decode(r.key!);
    if (key.startsWith("p\u0000sg-f") || key.startsWith("u\u0000sg-f")) kinds.push(key[0]);
  }, (e) => {
    throw e;
  });
  // AlterShareGroupOffsets' snapshot, the first ack's delta, then a snapshot again after the refused write.
  expect(kinds.join("")).toBe("pup");
  const before = broker.services.share.stateOf("sg-f", t, 0);
  expect(before).toEqual({ startOffset: 3, endOffset: 4, runs: [[3, 3, 0, 1]] });

  c.close();
  await broker.close();
  ({ broker, fs, lines, c } = await start());
  expect(broker.services.share.stateOf("sg-f", t, 0)).toEqual(before);
  c.close();
  await broker.close();
});

test("a refused write while a later one of the share-partition is in flight: the later one is a snapshot", async () => {
  let { broker, fs, c } = await start();
  expect((await enableShare(c)).errorCode).toBe(ErrorCode.NONE);
  const t = (await c.send(CreateTopics, 7, {
    topics: [{ name: "fq2", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  })).topics![0].topicId!;
  await produceValues(c, "fq2", ["a", "b", "c", "d"]);
  await c.send(AlterShareGroupOffsets, 0, {
    groupId: "sg-f2",
    topics: [{ topicName: "fq2", partitions: [{ partitionIndex: 0, startOffset: 0n }] }],
  });
  await shareHeartbeat(c, "sg-f2", "M", 0, ["fq2"]);
  expect(acquired(await shareFetch(c, "sg-f2", "M", 0, t))).toEqual(["0-3x1"]);
  const code = (r: Awaited<ReturnType<typeof shareAck>>) => r.responses![0].partitions![0].errorCode;
  expect(code(await shareAck(c, "sg-f2", "M", 1, t, [ack(0, 0, ACCEPT)]))).toBe(ErrorCode.NONE);

  // Two acknowledgements of one share-partition made at once (their deltas taken in this order); the
  // first one's write is refused, the second one's would be stored.
  const one = (offset: number, type: number) => [{
    topicId: t,
    partitions: [{
      partitionIndex: 0,
      acknowledgementBatches: [{ firstOffset: BigInt(offset), lastOffset: BigInt(offset), acknowledgeTypes: [type] }],
    }],
  }];
  const heal = fs.inject({ path: /__share_group_state-0\/\d+\.log$/, op: "write", fault: "ENOSPC", times: 1 });
  const [first, second] = await Promise.all([
    broker.services.share.acknowledge("sg-f2", "M", one(1, REJECT)),
    broker.services.share.acknowledge("sg-f2", "M", one(2, ACCEPT)),
  ]);
  heal();
  expect([first.get(`${t}:0`), second.get(`${t}:0`)]).toEqual([ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NONE]);
  const kinds: string[] = [];
  await forEachRecord(broker.services.topics.get("__share_group_state")!.partitions[0], (r) => {
    const key = new TextDecoder().decode(r.key!);
    if (key.startsWith("p\u0000sg-f2") || key.startsWith("u\u0000sg-f2")) kinds.push(key[0]);
  }, (e) => {
    throw e;
  });
  // The second write waited for the first and, that one refused, stored the whole state.
  expect(kinds.join("")).toBe("pup");
  const before = broker.services.share.stateOf("sg-f2", t, 0);
  expect(before).toEqual({ startOffset: 3, endOffset: 4, runs: [[3, 3, 0, 1]] });

  // No write since: a restart gives back the state, the refused acknowledgement's change included.
  c.close();
  await broker.close();
  ({ broker, fs, c } = await start());
  expect(broker.services.share.stateOf("sg-f2", t, 0)).toEqual(before);
  c.close();
  await broker.close();
});

test("a refused delta with a newer snapshot already queued: the deltas after it follow that snapshot", async () => {
  // A snapshot every third write: two deltas, then a snapshot.
  const config = { "share.coordinator.snapshot.update.records.per.snapshot": 2 };
  let { broker, fs, c } = await start(config);
  expect((await enableShare(c)).errorCode).toBe(ErrorCode.NONE);
  const t = (await c.send(CreateTopics, 7, {
    topics: [{ name: "fq3", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  })).topics![0].topicId!;
  await produceValues(c, "fq3", ["a", "b", "c", "d"]);
  await c.send(AlterShareGroupOffsets, 0, {
    groupId: "sg-f3",
    topics: [{ topicName: "fq3", partitions: [{ partitionIndex: 0, startOffset: 0n }] }],
  });
  await shareHeartbeat(c, "sg-f3", "M", 0, ["fq3"]);
  expect(acquired(await shareFetch(c, "sg-f3", "M", 0, t))).toEqual(["0-3x1"]);
  const one = (offset: number) => [{
    topicId: t,
    partitions: [{
      partitionIndex: 0,
      acknowledgementBatches: [{ firstOffset: BigInt(offset), lastOffset: BigInt(offset), acknowledgeTypes: [ACCEPT] }],
    }],
  }];
  // Made at once: a delta (refused), a delta, and a snapshot (the third write of the round).
  const heal = fs.inject({ path: /__share_group_state-0\/\d+\.log$/, op: "write", fault: "ENOSPC", times: 1 });
  const codes = await Promise.all([0, 1, 2].map((o) => broker.services.share.acknowledge("sg-f3", "M", one(o))));
  heal();
  expect(codes.map((m) => m.get(`${t}:0`))).toEqual([
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.NONE,
    ErrorCode.NONE,
  ]);
  const code = (r: Awaited<ReturnType<typeof shareAck>>) => r.responses![0].partitions![0].errorCode;
  expect(code(await shareAck(c, "sg-f3", "M", 1, t, [ack(3, 3, REJECT)]))).toBe(ErrorCode.NONE);
  const kinds: string[] = [];
  await forEachRecord(broker.services.topics.get("__share_group_state")!.partitions[0], (r) => {
    const key = new TextDecoder().decode(r.key!);
    if (key.startsWith("p\u0000sg-f3") || key.startsWith("u\u0000sg-f3")) kinds.push(key[0]);
  }, (e) => {
    throw e;
  });
  // AlterShareGroupOffsets' snapshot; the second delta as a snapshot (its base lost); the queued
  // snapshot; then a delta over that one.
  expect(kinds.join("")).toBe("pppu");
  const before = broker.services.share.stateOf("sg-f3", t, 0);
  expect(before).toEqual({ startOffset: 4, endOffset: 4, runs: [] });

  c.close();
  await broker.close();
  ({ broker, fs, c } = await start(config));
  expect(broker.services.share.stateOf("sg-f3", t, 0)).toEqual(before);
  c.close();
  await broker.close();
});

test("shutdown answers a ShareFetch waiting for records", async () => {
  const { broker, c } = await start();
  expect((await enableShare(c)).errorCode).toBe(ErrorCode.NONE);
  const t = (await c.send(CreateTopics, 7, {
    topics: [{ name: "fw", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  })).topics![0].topicId!;
  await shareHeartbeat(c, "sg-w", "M", 0, ["fw"]);
  // Far longer than the test may run: only the shutdown can end it.
  const parked = shareFetch(c, "sg-w", "M", 0, t, { maxWaitMs: 600_000 }).then(acquired, () => "closed");
  // A round trip on another connection: the ShareFetch, sent first, is parked by then (were it not, the
  // shutdown closes the connection under it: "closed", the same answer as far as this test goes).
  const other = await WireClient.connect(broker.port);
  await shareHeartbeat(other, "sg-w", "N", 0, ["fw"]);
  other.close();
  await broker.close();
  expect<unknown[]>([[], "closed"]).toContainEqual(await parked);
  c.close();
});
