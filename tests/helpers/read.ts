// Reads a whole partition with protocol-level Fetch requests and decodes every record.
import { expect } from "bun:test";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { decodeRecords } from "../../src/protocol/record_batch.ts";
import { WireClient } from "./wire_client.ts";

const dec = new TextDecoder();

export type Rec = {
  offset: bigint;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  control: boolean;
};

/** One Fetch v12 (maxWaitMs 0, 4 MiB) of one partition from `offset`; the partition's response. */
/** A decoded Fetch partition's records: the decoder yields one Uint8Array (chunk lists exist only when encoding). */
export function recordBytes(records: Uint8Array | Uint8Array[] | null | undefined): Uint8Array | null | undefined {
  if (Array.isArray(records)) throw new TypeError("decoded records are one Uint8Array, not a chunk list");
  return records;
}

export async function fetchFrom(c: WireClient, topic: string, offset: bigint, partition = 0, isolationLevel = 0) {
  const r = await c.send(Fetch, 12, {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 4 << 20,
    isolationLevel,
    sessionId: 0,
    sessionEpoch: -1,
    rackId: "",
    forgottenTopicsData: [],
    topics: [{
      topic,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition,
        currentLeaderEpoch: -1,
        fetchOffset: offset,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 4 << 20,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        highWatermark: 9223372036854775807n,
      }],
    }],
  });
  return r.responses![0].partitions![0];
}

export async function readPartition(
  port: number,
  topic: string,
  partition: number,
  isolationLevel = 0,
): Promise<Rec[]> {
  const c = await WireClient.connect(port);
  const out: Rec[] = [];
  let offset = 0n;
  try {
    for (;;) {
      const p = await fetchFrom(c, topic, offset, partition, isolationLevel);
      expect(p.errorCode).toBe(0);
      const buf = p.records as Uint8Array;
      let pos = 0;
      let next = offset;
      while (pos < buf.length) {
        const size = 12 + new DataView(buf.buffer, buf.byteOffset + pos).getInt32(8);
        const batch = decodeRecords(buf.subarray(pos, pos + size));
        for (const rec of batch.records) {
          if (rec.offset < offset) continue;
          out.push({
            offset: rec.offset,
            key: rec.key && dec.decode(rec.key),
            value: rec.value && dec.decode(rec.value),
            headers: Object.fromEntries(rec.headers.map((h) => [h.key, h.value ? dec.decode(h.value) : ""])),
            control: batch.isControl,
          });
        }
        next = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
        pos += size;
      }
      if (next === offset) break;
      offset = next;
    }
  } finally {
    c.close();
  }
  return out;
}
