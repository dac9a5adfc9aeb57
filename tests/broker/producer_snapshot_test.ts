// Producer state in a cluster (txn/coordinator.ts). Snapshots (snapshotProducerStates): only the partition's leader
// writes one, and whether it leads is asked again when the snapshot's turn comes, after the appends queued before it,
// since a former leader's view of the partition is stale (its snapshot would replace the new leader's). A takeover
// (takeOverPartition) rebuilds the state in place, so work already queued on it records into the rebuilt state.
import { expect, test } from "bun:test";
import { producerStateOf, snapshotProducerStates, takeOverPartition } from "../../src/broker/txn/coordinator.ts";
import { buildRecordBatch, scanBatches } from "../../src/protocol/record_batch.ts";
import type { Topics } from "../../src/broker/topics.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";

test("a broker that stops leading while earlier work on the partition runs writes no snapshot for it", async () => {
  const log = await memoryLogStore().open("t", 0);
  const topics = { list: () => [{ name: "t", partitions: [log] }] } as unknown as Topics;
  const state = producerStateOf(log);
  state.dirty = true;
  const { promise: appended, resolve: release } = Promise.withResolvers<void>();
  void state.serialized(() => appended); // an append in flight
  let leading = true;
  const snapshot = snapshotProducerStates(topics, false, () => leading);
  leading = false; // leadership moved while the append ran
  release();
  await snapshot;
  expect(await log.readState("producer")).toBe(null);
  // Leading when its turn comes: written.
  leading = true;
  await snapshotProducerStates(topics, false, () => leading);
  expect(await log.readState("producer")).not.toBe(null);
});

test("a takeover rebuilds the partition's producer state in place: a holder of the state sees what the log holds", async () => {
  const log = await memoryLogStore().open("t", 0);
  const topics = { get: () => ({ partitions: [log] }) } as unknown as Topics;
  const held = producerStateOf(log); // as a marker or an append waiting its turn holds it
  // Written by the previous leader: this broker's state knows nothing of it yet.
  const batch = buildRecordBatch({
    producerId: 7n,
    producerEpoch: 3,
    baseSequence: 0,
    transactional: true,
    records: [{ key: "k", value: "v", timestamp: 1000 }],
  });
  const metas = scanBatches(batch);
  if (!Array.isArray(metas)) throw new Error(metas.message);
  await log.append(batch, metas);
  expect(held.hasOngoing(7n)).toBe(false);
  await takeOverPartition(topics, "t", 0);
  expect(producerStateOf(log)).toBe(held);
  expect(held.hasOngoing(7n)).toBe(true);
  expect(held.describe()).toMatchObject([{ producerId: 7n, producerEpoch: 3, lastSequence: 0 }]);
});
