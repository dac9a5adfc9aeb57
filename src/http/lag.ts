// A consumer group's committed offsets against its partitions' log end offsets: the lag that the
// admin view (/v1/groups), REST v3, the console and /metrics show.
import type { CommittedOffset } from "../broker/groups/records.ts";
import type { Services } from "../broker/services.ts";

export type PartitionLag = {
  topic: string;
  partition: number;
  committed: number;
  metadata: string | null;
  /** The partition's log end offset; null (and lag null) when the partition no longer exists. */
  end: number | null;
  lag: number | null;
};

/**
 * One row per committed offset of a group (offsets keyed "topic\0partition", as the coordinator keeps
 * them), of the topics `visible` allows: as Kafka's OffsetFetch of a whole group, a view for a
 * principal leaves out the topics it may not describe.
 */
export function groupLags(
  svc: Services,
  offsets: Map<string, CommittedOffset>,
  visible: (topic: string) => boolean = () => true,
): PartitionLag[] {
  const out: PartitionLag[] = [];
  for (const [k, o] of offsets) {
    const i = k.lastIndexOf("\u0000");
    const topic = k.slice(0, i);
    if (!visible(topic)) continue;
    const partition = Number(k.slice(i + 1));
    const end = svc.topics.get(topic)?.partitions[partition]?.logEndOffset ?? null;
    const committed = Number(o.offset);
    out.push({
      topic,
      partition,
      committed,
      metadata: o.metadata,
      end,
      lag: end === null ? null : Math.max(0, end - committed),
    });
  }
  return out;
}
