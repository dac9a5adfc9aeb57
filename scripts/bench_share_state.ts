// Share-state persistence benchmark (not a test): how many bytes __share_group_state grows by per
// acknowledgement, and acknowledgements per second, with many records in flight.
//   bun scripts/bench_share_state.ts [records=2000] [data-dir]
// One member acquires `records` records of one partition, then acknowledges them one ShareAcknowledge
// per record, in an order that fragments the state (odd offsets first, then even ones), as consumers
// acknowledging out of order do. Prints bytes written to __share_group_state per acknowledgement.
import { bunRuntime } from "../adapters/bun.ts";
import { startBroker } from "../src/broker/broker.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { Produce } from "../src/protocol/messages/00_produce.ts";
import { UpdateFeatures } from "../src/protocol/messages/57_update_features.ts";
import { ShareGroupHeartbeat } from "../src/protocol/messages/76_share_group_heartbeat.ts";
import { ShareFetch } from "../src/protocol/messages/78_share_fetch.ts";
import { ShareAcknowledge } from "../src/protocol/messages/79_share_acknowledge.ts";
import { AlterShareGroupOffsets } from "../src/protocol/messages/91_alter_share_group_offsets.ts";
import { buildRecordBatch } from "../src/protocol/record_batch.ts";
import { WireClient } from "../tests/helpers/wire_client.ts";
import { ZERO_UUID } from "../src/protocol/codec.ts";

const RECORDS = Number(process.argv[2] ?? 2000);
const DATA_DIR = process.argv[3] ?? null;

const broker = await startBroker({ ...bunRuntime, log() {} }, {
  host: "127.0.0.1",
  port: 0,
  logLevel: "warn",
  "group.share.partition.max.record.locks": Math.max(2000, RECORDS),
  ...(DATA_DIR ? { dataDir: DATA_DIR } : {}),
});
const c = await WireClient.connect(broker.port);
const check = (code: number | undefined, what: string) => {
  if (code !== ErrorCode.NONE) throw new Error(`${what}: error ${code}`);
};
check(
  (await c.send(UpdateFeatures, 1, {
    timeoutMs: 1000,
    featureUpdates: [{ feature: "share.version", maxVersionLevel: 1, allowDowngrade: false, upgradeType: 1 }],
    validateOnly: false,
  })).errorCode,
  "UpdateFeatures",
);
await broker.services.topics.create("bench-q", 1, new Map());
const topicId = broker.services.topics.get("bench-q")!.id;
const enc = new TextEncoder();
for (let i = 0; i < RECORDS; i += 100) {
  const n = Math.min(100, RECORDS - i);
  await c.send(Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{
      name: "bench-q",
      topicId: ZERO_UUID,
      partitionData: [{
        index: 0,
        records: buildRecordBatch({
          records: [...Array(n)].map((_, j) => ({ key: null, value: enc.encode(`m${i + j}`) })),
        }),
      }],
    }],
  });
}
await c.send(AlterShareGroupOffsets, 0, {
  groupId: "bench",
  topics: [{ topicName: "bench-q", partitions: [{ partitionIndex: 0, startOffset: 0n }] }],
});
check(
  (await c.send(ShareGroupHeartbeat, 1, {
    groupId: "bench",
    memberId: "M",
    memberEpoch: 0,
    rackId: null,
    subscribedTopicNames: ["bench-q"],
  })).errorCode,
  "ShareGroupHeartbeat",
);
const f = await c.send(ShareFetch, 1, {
  groupId: "bench",
  memberId: "M",
  shareSessionEpoch: 0,
  maxWaitMs: 0,
  minBytes: 1,
  maxBytes: 1 << 30,
  maxRecords: RECORDS,
  batchSize: RECORDS,
  topics: [{ topicId, partitions: [{ partitionIndex: 0, partitionMaxBytes: 0, acknowledgementBatches: [] }] }],
  forgottenTopicsData: [],
});
const got = f.responses![0].partitions![0].acquiredRecords!.reduce(
  (n, a) => n + Number(a.lastOffset! - a.firstOffset!) + 1,
  0,
);
if (got !== RECORDS) throw new Error(`acquired ${got} of ${RECORDS}`);

const stateLog = () => broker.services.topics.get("__share_group_state")!.partitions[0];
async function stateBytes(): Promise<number> {
  const log = stateLog();
  let bytes = 0;
  for (let o = log.logStartOffset; o < log.logEndOffset;) {
    const batches = await log.read(o, 1 << 20);
    if (batches.length === 0) break;
    for (const b of batches) {
      bytes += b.length;
      const view = new DataView(b.buffer, b.byteOffset);
      o = Number(view.getBigInt64(0)) + view.getInt32(23) + 1;
    }
  }
  return bytes;
}
const order = [...Array(RECORDS).keys()].sort((a, b) => (a % 2) - (b % 2) || a - b).reverse();
const before = await stateBytes();
const t0 = performance.now();
let epoch = 1;
for (const o of order) {
  const r = await c.send(ShareAcknowledge, 1, {
    groupId: "bench",
    memberId: "M",
    shareSessionEpoch: epoch++,
    topics: [{
      topicId,
      partitions: [{
        partitionIndex: 0,
        acknowledgementBatches: [{ firstOffset: BigInt(o), lastOffset: BigInt(o), acknowledgeTypes: [1] }],
      }],
    }],
  });
  check(r.responses![0].partitions![0].errorCode, `ack ${o}`);
}
const ms = performance.now() - t0;
const written = (await stateBytes()) - before;
console.log(
  `${RECORDS} acks: ${written} bytes to __share_group_state (${(written / RECORDS).toFixed(0)} bytes/ack), ` +
    `${(RECORDS / (ms / 1000)).toFixed(0)} acks/s`,
);
c.close();
await broker.close();
