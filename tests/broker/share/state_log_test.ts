// __share_group_state replay over a compacted topic: compaction keeps the latest record of each key, so a
// delta slot left from an older round (a slot the newer round did not reach) comes before the newer
// snapshot. Replay skips its state (another snapshot id) but still counts its slot, so that deleting
// the share-partition's state tombstones it too: no live record of it stays behind.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { bunRuntime } from "../../../adapters/bun.ts";
import type { Broker } from "../../../src/broker/broker.ts";
import { startBroker } from "../../../src/broker/broker.ts";
import { forEachRecord } from "../../../src/broker/log_scan.ts";
import { ErrorCode } from "../../../src/protocol/errors.ts";
import { CreateTopics } from "../../../src/protocol/messages/19_create_topics.ts";
import { type BatchInfo, buildRecordBatch, scanBatches } from "../../../src/protocol/record_batch.ts";
import { enableShare } from "../../helpers/share.ts";
import { WireClient } from "../../helpers/wire_client.ts";

const dir = mkdtempSync(`${tmpdir()}/chronik-share-state-log-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const start = () => startBroker(bunRuntime, { host: "127.0.0.1", port: 0, logLevel: "warn", dataDir: dir });
const enc = new TextEncoder();
const dec = new TextDecoder();

test("a leftover delta slot from an older round, before the newer snapshot, is tombstoned with the state", async () => {
  let broker: Broker = await start();
  const c = await WireClient.connect(broker.port);
  expect((await enableShare(c)).errorCode).toBe(ErrorCode.NONE);
  const t = (await c.send(CreateTopics, 7, {
    topics: [{ name: "sl", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  })).topics![0].topicId!;
  c.close();
  // What compaction leaves of: snapshot "old", deltas 0..2; snapshot "new", deltas 0..1.
  const sp = (slot?: number) =>
    `${slot === undefined ? "p" : "u"}\u0000sg-l\u0000${t}\u00000${slot === undefined ? "" : `\u0000${slot}`}`;
  const state = { startOffset: 0, endOffset: 0, runs: [] };
  const records: [string, unknown][] = [
    ["g\u0000sg-l", { groupEpoch: 1 }],
    [sp(2), { id: "old", state }],
    [sp(), { topic: "sl", id: "new", state }],
    [sp(0), { id: "new", state }],
    [sp(1), { id: "new", state }],
  ];
  const log = broker.services.topics.get("__share_group_state")!.partitions[0];
  const batch = buildRecordBatch({
    records: records.map(([k, v]) => ({ key: enc.encode(k), value: enc.encode(JSON.stringify(v)) })),
  });
  await log.append(batch, scanBatches(batch) as BatchInfo[], { durable: true });
  await broker.close();

  broker = await start();
  expect(await broker.services.share.deleteOffsets("sg-l", [t])).toBe(ErrorCode.NONE);
  const latest = new Map<string, boolean>();
  await forEachRecord(broker.services.topics.get("__share_group_state")!.partitions[0], (r) => {
    const key = dec.decode(r.key!);
    if (key[0] === "p" || key[0] === "u") latest.set(key, r.value !== null);
  }, (e) => {
    throw e;
  });
  // Every key of the share-partition ends in a tombstone, the old round's slot 2 too.
  expect([...latest.keys()].sort()).toEqual([sp(), sp(0), sp(1), sp(2)].sort());
  expect([...latest.values()]).toEqual([false, false, false, false]);
  await broker.close();
});
