// Producer-state snapshots in a cluster (txn/coordinator.ts snapshotProducerStates): only the partition's leader
// writes one, and whether it leads is asked again when the snapshot's turn comes, after the appends queued before it,
// since a former leader's view of the partition is stale (its snapshot would replace the new leader's).
import { expect, test } from "bun:test";
import { producerStateOf, snapshotProducerStates } from "../../src/broker/txn/coordinator.ts";
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
