// Kafka's default partitioner for keyed records (Utils.murmur2 and Utils.toPositive in the Java
// client; kafkajs' DefaultPartitioner is the same): a REST producer's keyed records land where a
// Java producer would put them.

/** Kafka's 32-bit murmur2 (seed 0x9747b28c), as a signed int32 like Java's. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2] << 16;
  if (rest >= 2) h ^= data[tail + 1] << 8;
  if (rest >= 1) {
    h ^= data[tail];
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * The partition of a record whose request names none: by key as above, else the topic's next
 * partition in turn (`roundRobin` holds each topic's counter).
 */
export function defaultPartition(
  topic: string,
  partitions: number,
  key: Uint8Array | null,
  roundRobin: Map<string, number>,
): number {
  if (key !== null) return partitionForKey(key, partitions);
  const next = roundRobin.get(topic) ?? 0;
  roundRobin.set(topic, (next + 1) % 0x7fffffff);
  return next % partitions;
}
