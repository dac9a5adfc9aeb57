// Offsets of partitions (ListOffsets to each partition's leader): earliest, latest, by timestamp.
// At most v3: later versions add leader-epoch fencing, which a one-shot admin lookup does not use,
// and librdkafka's mock cluster (2.0.2) garbles v4+ answers that hold several partitions.
import { ListOffsets } from "../protocol/messages/02_list_offsets.ts";
import type { KafkaClient, TopicMeta } from "./client.ts";
import { check } from "./errors.ts";

export const EARLIEST = -2n;
export const LATEST = -1n;

/** `timestamp` per partition (EARLIEST, LATEST or ms); returns partition → offset (-1 when no record at/after the time). */
export async function listOffsets(
  client: KafkaClient,
  topic: TopicMeta,
  partitions: readonly number[],
  timestamp: bigint | ((p: number) => bigint),
  isolationLevel = 0,
): Promise<Map<number, bigint>> {
  const byLeader = new Map<number, number[]>();
  for (const p of partitions) {
    const leader = topic.partitions.find((x) => x.partition === p)?.leader ?? -1;
    (byLeader.get(leader) ?? byLeader.set(leader, []).get(leader)!).push(p);
  }
  const out = new Map<number, bigint>();
  await Promise.all([...byLeader].map(async ([leader, ps]) => {
    const c = leader >= 0 ? await client.broker(leader) : await client.any();
    const r = await c.request(ListOffsets, {
      replicaId: -1,
      isolationLevel,
      timeoutMs: 30000,
      topics: [{
        name: topic.name,
        partitions: ps.map((p) => ({
          partitionIndex: p,
          currentLeaderEpoch: -1,
          timestamp: typeof timestamp === "function" ? timestamp(p) : timestamp,
          maxNumOffsets: 1,
        })),
      }],
    }, 3);
    for (const t of r.topics ?? []) {
      for (const p of t.partitions ?? []) {
        check(p.errorCode ?? 0, null, `listing offsets of ${topic.name}-${p.partitionIndex}`);
        out.set(p.partitionIndex ?? 0, p.offset ?? p.oldStyleOffsets?.[0] ?? -1n);
      }
    }
  }));
  return out;
}
