// Transactions per second, each of 100 records, over 1 and over 10 partitions.
// Protocol level (no client library in the way): AddPartitionsToTxn, one Produce request carrying
// the partitions' batches, EndTxn(commit) — the sequence a transactional producer sends.
// Usage: bun scripts/bench_txn.ts [--seconds 3] [--port P (a running broker; default: in-process, memory store)]
import { bunRuntime } from "../adapters/bun.ts";
import { startBroker } from "../src/broker/broker.ts";
import { Produce } from "../src/protocol/messages/00_produce.ts";
import { CreateTopics } from "../src/protocol/messages/19_create_topics.ts";
import { InitProducerId } from "../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../tests/helpers/requests.ts";
import { AddPartitionsToTxn } from "../src/protocol/messages/24_add_partitions_to_txn.ts";
import { EndTxn } from "../src/protocol/messages/26_end_txn.ts";
import { buildRecordBatch } from "../src/protocol/record_batch.ts";
import { WireClient } from "../tests/helpers/wire_client.ts";
import { ZERO_UUID } from "../src/protocol/codec.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const seconds = arg("seconds", 3);
let port = arg("port", 0);
const broker = port === 0 ? await startBroker({ ...bunRuntime, log() {} }, { port: 0, logLevel: "error" }) : null;
if (broker) port = broker.port;

const c = await WireClient.connect(port);
const value = new Uint8Array(100).fill(120);

async function run(partitions: number) {
  const topic = `bench-txn-${partitions}-${Date.now()}`;
  await c.send(CreateTopics, 7, {
    topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const init = await c.send(InitProducerId, 4, initProducerIdRequest(topic, 60000));
  const pid = init.producerId!;
  const epoch = init.producerEpoch!;
  const perPartition = 100 / partitions;
  const seq = new Array(partitions).fill(0);
  let txns = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await c.send(AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: topic,
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: epoch,
      v3AndBelowTopics: [{ name: topic, partitions: [...Array(partitions).keys()] }],
    });
    const partitionData = [];
    for (let p = 0; p < partitions; p++) {
      const records = Array.from({ length: perPartition }, () => ({ key: null, value }));
      partitionData.push({
        index: p,
        records: buildRecordBatch({
          records,
          producerId: pid,
          producerEpoch: epoch,
          baseSequence: seq[p],
          transactional: true,
        }),
      });
      seq[p] += perPartition;
    }
    const r = await c.send(Produce, 9, {
      transactionalId: topic,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, topicId: ZERO_UUID, partitionData }],
    });
    if (r.responses![0].partitionResponses!.some((x) => x.errorCode !== 0)) throw new Error("produce failed");
    const e = await c.send(EndTxn, 3, {
      transactionalId: topic,
      producerId: pid,
      producerEpoch: epoch,
      committed: true,
    });
    if (e.errorCode !== 0) throw new Error(`EndTxn failed: ${e.errorCode}`);
    txns++;
  }
  const elapsed = (performance.now() - start) / 1000;
  const line = { bench: "txn", partitions, recordsPerTxn: 100, txnsPerSec: Math.round(txns / elapsed), runtime: "bun" };
  console.log(JSON.stringify(line));
}

await run(1);
await run(10);
c.close();
await broker?.close();
