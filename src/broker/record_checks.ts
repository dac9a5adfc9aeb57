// What Produce and the REST proxy check in every record before an append (Kafka's LogValidator
// settings of a topic): keys on compacted topics, CreateTime bounds (KIP-937), the decompression cap.
// Read at every request, so a changed topic or broker config applies to the next produce.
import { DEFAULT_MAX_DECOMPRESSED } from "../protocol/compression/index.ts";
import type { RecordCheckOptions } from "../protocol/record_batch.ts";
import type { Services } from "./services.ts";
import type { Topic } from "./topics.ts";

/** A compressed batch may inflate to 16 x max.message.bytes, and at least to this (bytes). */
const MIN_DECOMPRESSED_CAP = 64 * 1024 * 1024;

/** `maxMessageBytes`: the topic's max.message.bytes, when the caller has it already. */
export function recordCheckOptions(
  svc: Services,
  topic: Topic,
  partition: number,
  maxMessageBytes = Number(svc.topics.config(topic, "max.message.bytes", svc.config)),
): RecordCheckOptions {
  const config = (name: string) => svc.topics.config(topic, name, svc.config);
  const logAppendTime = config("message.timestamp.type") === "LogAppendTime";
  return {
    requireKeys: config("cleanup.policy").includes("compact"),
    checkTimestamps: !logAppendTime,
    now: svc.now(),
    beforeMaxMs: Number(config("message.timestamp.before.max.ms")),
    afterMaxMs: Number(config("message.timestamp.after.max.ms")),
    logAppendTime,
    maxDecompressedSize: Math.min(DEFAULT_MAX_DECOMPRESSED, Math.max(MIN_DECOMPRESSED_CAP, 16 * maxMessageBytes)),
    partitionName: `${topic.name}-${partition}`,
  };
}
