// RecordBatch v2 (magic 2), the unit producers send, the log stores and consumers fetch.
//
//   offset  size  field
//        0     8  baseOffset             \  outside the CRC: the broker rewrites these
//        8     4  batchLength (bytes after this field)
//       12     4  partitionLeaderEpoch   /
//       16     1  magic (2)
//       17     4  crc: CRC32C of bytes 21..end
//       21     2  attributes: bits 0-2 codec, 3 timestamp type (1 = LogAppendTime),
//                 4 transactional, 5 control, 6 delete horizon set
//       23     4  lastOffsetDelta
//       27     8  baseTimestamp
//       35     8  maxTimestamp
//       43     8  producerId
//       51     2  producerEpoch
//       53     4  baseSequence
//       57     4  recordCount
//       61     …  records, compressed as a whole when codec != 0
//   record: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
//           keyLength varint (-1 null), key, valueLength varint, value,
//           headerCount varint, headers: keyLength varint, key (UTF-8), valueLength varint, value
//
// The hot path (Produce validation, offset assignment, Fetch) reads and patches headers in
// place: scanBatches allocates one small object per batch and nothing per record. Full decoding
// (decodeRecords) is for slow paths. Legacy message sets (magic 0 and 1, which put their magic
// byte at the same offset 16) are rejected with UNSUPPORTED_FOR_MESSAGE_FORMAT; converting
// them up is not implemented.
import { crc32c } from "./crc32c.ts";
import { compress, CompressionError, decompress, DEFAULT_MAX_DECOMPRESSED } from "./compression/index.ts";

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;
/** Bytes before the records: the whole fixed header. */
export const BATCH_HEADER_SIZE = 61;
/** Same as BATCH_HEADER_SIZE, under Kafka's name (DefaultRecordBatch.RECORD_BATCH_OVERHEAD). */
export const RECORD_BATCH_OVERHEAD = 61;
/** baseOffset + batchLength: bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;
/** Smallest legal batchLength (an empty batch). */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD;
/** First byte covered by the CRC. */
export const CRC_START = ATTRIBUTES_OFFSET;
export const CURRENT_MAGIC = 2;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
export const DELETE_HORIZON_FLAG_MASK = 0x40;

export const TimestampType = { CREATE_TIME: 0, LOG_APPEND_TIME: 1 } as const;
export const ControlRecordType = { ABORT: 0, COMMIT: 1 } as const;
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1n;

export type BatchErrorCode =
  | "CORRUPT_MESSAGE"
  | "INVALID_RECORD"
  | "UNSUPPORTED_FOR_MESSAGE_FORMAT"
  | "UNSUPPORTED_COMPRESSION_TYPE";

/** Header facts of one valid batch in a scanned buffer. */
export type BatchInfo = {
  /** Byte offset of the batch in the scanned buffer. */
  position: number;
  /** Total bytes of the batch (batchLength + 12). */
  size: number;
  lastOffsetDelta: number;
  recordCount: number;
  baseTimestamp: number;
  maxTimestamp: number;
  attributes: number;
  codec: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  isTransactional: boolean;
  isControl: boolean;
  /** Timestamp type bit: 1 = LogAppendTime. */
  timestampType: number;
  partitionLeaderEpoch: number;
};

export type BatchError = { error: BatchErrorCode; message: string; position: number };

/** Thrown by decodeRecords and the builders on malformed input; `code` is the Kafka error name. */
export class RecordBatchError extends Error {
  readonly code: BatchErrorCode;
  constructor(code: BatchErrorCode, message: string) {
    super(message);
    this.name = "RecordBatchError";
    this.code = code;
  }
}

export function isBatchError(r: BatchInfo[] | BatchError): r is BatchError {
  return !Array.isArray(r);
}

// ---- big-endian primitives on a plain Uint8Array (no DataView allocation per call)

function i32(b: Uint8Array, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}
function u32(b: Uint8Array, p: number): number {
  return i32(b, p) >>> 0;
}
function i16(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16)) >> 16;
}
function put32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}
function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v;
}
/** int64 as a number; NaN when it is not a safe integer. */
function i64n(b: Uint8Array, p: number): number {
  const hi = i32(b, p);
  const v = hi * 4294967296 + u32(b, p + 4);
  return Number.isSafeInteger(v) && hi >= -2097152 && hi < 2097152 ? v : NaN;
}
function i64(b: Uint8Array, p: number): bigint {
  return (BigInt(i32(b, p)) << 32n) | BigInt(u32(b, p + 4));
}
function put64(b: Uint8Array, p: number, v: bigint | number): void {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new RangeError(`int64 value ${v} is not a safe integer`);
    const hi = Math.floor(v / 4294967296);
    put32(b, p, hi | 0);
    put32(b, p + 4, (v - hi * 4294967296) >>> 0);
    return;
  }
  if (v < -(1n << 63n) || v >= 1n << 63n) throw new RangeError(`int64 value ${v} out of range`);
  const u = BigInt.asUintN(64, v);
  put32(b, p, Number(u >> 32n) | 0);
  put32(b, p + 4, Number(u & 0xffffffffn) | 0);
}

// ---- scanning (hot path)

function bad(error: BatchErrorCode, position: number, message: string): BatchError {
  return { error, message, position };
}

export type ScanOptions = {
  /**
   * Stored batches after compaction may hold fewer records than their offset span
   * (lastOffsetDelta >= recordCount - 1). Produce requests must be exact; default false.
   */
  compacted?: boolean;
};

/**
 * Splits a Produce `records` blob (or a run of stored batches) into batches and validates each:
 * header present, batchLength sane, magic 2, CRC32C, record count and offset delta, timestamps
 * representable, no trailing partial batch. Returns the first problem as a BatchError.
 */
export function scanBatches(buf: Uint8Array, opts?: ScanOptions): BatchInfo[] | BatchError {
  const out: BatchInfo[] = [];
  const compacted = opts?.compacted === true;
  const n = buf.length;
  let pos = 0;
  while (pos < n) {
    const left = n - pos;
    if (left < LOG_OVERHEAD) {
      return bad("CORRUPT_MESSAGE", pos, `trailing partial batch: ${left} bytes left, need at least ${LOG_OVERHEAD}`);
    }
    const len = i32(buf, pos + BATCH_LENGTH_OFFSET);
    if (left > MAGIC_OFFSET) {
      const magic = buf[pos + MAGIC_OFFSET];
      if (magic !== CURRENT_MAGIC) {
        return magic < CURRENT_MAGIC
          ? bad(
            "UNSUPPORTED_FOR_MESSAGE_FORMAT",
            pos,
            `legacy message format (magic ${magic}) is not supported; use RecordBatch v2 (magic 2)`,
          )
          : bad("CORRUPT_MESSAGE", pos, `unknown record batch magic ${magic}`);
      }
    }
    if (len < MIN_BATCH_LENGTH) {
      return bad("CORRUPT_MESSAGE", pos, `batchLength ${len} is smaller than the minimum ${MIN_BATCH_LENGTH}`);
    }
    if (len > left - LOG_OVERHEAD) {
      return bad("CORRUPT_MESSAGE", pos, `batch of ${len + LOG_OVERHEAD} bytes overruns the ${left} bytes left`);
    }
    const size = len + LOG_OVERHEAD;
    const stored = u32(buf, pos + CRC_OFFSET);
    const actual = crc32c(buf, pos + CRC_START, pos + size);
    if (stored !== actual) {
      return bad(
        "CORRUPT_MESSAGE",
        pos,
        `CRC32C mismatch: batch says 0x${stored.toString(16)}, computed 0x${actual.toString(16)}`,
      );
    }
    const recordCount = i32(buf, pos + RECORD_COUNT_OFFSET);
    const lastOffsetDelta = i32(buf, pos + LAST_OFFSET_DELTA_OFFSET);
    if (recordCount < 0) return bad("INVALID_RECORD", pos, `negative record count ${recordCount}`);
    if (lastOffsetDelta < 0) return bad("INVALID_RECORD", pos, `negative lastOffsetDelta ${lastOffsetDelta}`);
    if (recordCount > 0 && (compacted ? lastOffsetDelta < recordCount - 1 : lastOffsetDelta !== recordCount - 1)) {
      return bad(
        "INVALID_RECORD",
        pos,
        `lastOffsetDelta ${lastOffsetDelta} does not match record count ${recordCount}`,
      );
    }
    // Each record takes at least 7 bytes uncompressed; compressed ones are checked when decoded.
    const attributes = i16(buf, pos + ATTRIBUTES_OFFSET);
    const codec = attributes & COMPRESSION_CODEC_MASK;
    if (codec === 0 && recordCount > (size - BATCH_HEADER_SIZE) / 7) {
      return bad("CORRUPT_MESSAGE", pos, `record count ${recordCount} cannot fit in ${size - BATCH_HEADER_SIZE} bytes`);
    }
    if (codec > 4) return bad("UNSUPPORTED_COMPRESSION_TYPE", pos, `unknown compression codec ${codec}`);
    const baseTimestamp = i64n(buf, pos + BASE_TIMESTAMP_OFFSET);
    const maxTimestamp = i64n(buf, pos + MAX_TIMESTAMP_OFFSET);
    if (Number.isNaN(baseTimestamp) || Number.isNaN(maxTimestamp)) {
      return bad("INVALID_RECORD", pos, "timestamp out of the representable range (|t| >= 2^53 ms)");
    }
    out.push({
      position: pos,
      size,
      lastOffsetDelta,
      recordCount,
      baseTimestamp,
      maxTimestamp,
      attributes,
      codec,
      producerId: i64(buf, pos + PRODUCER_ID_OFFSET),
      producerEpoch: i16(buf, pos + PRODUCER_EPOCH_OFFSET),
      baseSequence: i32(buf, pos + BASE_SEQUENCE_OFFSET),
      isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
      isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
      timestampType: (attributes & TIMESTAMP_TYPE_MASK) >>> 3,
      partitionLeaderEpoch: i32(buf, pos + PARTITION_LEADER_EPOCH_OFFSET),
    });
    pos += size;
  }
  return out;
}

// ---- in-place header access. `pos` is the batch's first byte; the caller has scanned it.

export function batchBaseOffset(buf: Uint8Array, pos = 0): bigint {
  return i64(buf, pos + BASE_OFFSET_OFFSET);
}
/** baseOffset as a number (exact up to 2^53); NaN if larger. */
export function batchBaseOffsetNumber(buf: Uint8Array, pos = 0): number {
  return i64n(buf, pos + BASE_OFFSET_OFFSET);
}
export function batchLastOffset(buf: Uint8Array, pos = 0): bigint {
  return batchBaseOffset(buf, pos) + BigInt(batchLastOffsetDelta(buf, pos));
}
export function batchLength(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + BATCH_LENGTH_OFFSET);
}
/** Total bytes of the batch, header included. */
export function batchSize(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
}
export function batchPartitionLeaderEpoch(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + PARTITION_LEADER_EPOCH_OFFSET);
}
export function batchMagic(buf: Uint8Array, pos = 0): number {
  return buf[pos + MAGIC_OFFSET];
}
export function batchCrc(buf: Uint8Array, pos = 0): number {
  return u32(buf, pos + CRC_OFFSET);
}
export function batchAttributes(buf: Uint8Array, pos = 0): number {
  return i16(buf, pos + ATTRIBUTES_OFFSET);
}
export function batchCodec(buf: Uint8Array, pos = 0): number {
  return buf[pos + ATTRIBUTES_OFFSET + 1] & COMPRESSION_CODEC_MASK;
}
export function batchIsTransactional(buf: Uint8Array, pos = 0): boolean {
  return (buf[pos + ATTRIBUTES_OFFSET + 1] & TRANSACTIONAL_FLAG_MASK) !== 0;
}
export function batchIsControl(buf: Uint8Array, pos = 0): boolean {
  return (buf[pos + ATTRIBUTES_OFFSET + 1] & CONTROL_FLAG_MASK) !== 0;
}
export function batchLastOffsetDelta(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + LAST_OFFSET_DELTA_OFFSET);
}
export function batchBaseTimestamp(buf: Uint8Array, pos = 0): bigint {
  return i64(buf, pos + BASE_TIMESTAMP_OFFSET);
}
export function batchMaxTimestamp(buf: Uint8Array, pos = 0): bigint {
  return i64(buf, pos + MAX_TIMESTAMP_OFFSET);
}
export function batchProducerId(buf: Uint8Array, pos = 0): bigint {
  return i64(buf, pos + PRODUCER_ID_OFFSET);
}
export function batchProducerEpoch(buf: Uint8Array, pos = 0): number {
  return i16(buf, pos + PRODUCER_EPOCH_OFFSET);
}
export function batchBaseSequence(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + BASE_SEQUENCE_OFFSET);
}
export function batchRecordCount(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + RECORD_COUNT_OFFSET);
}
/** Whether the stored CRC matches the batch's bytes. Requires the whole batch in buf. */
export function batchCrcValid(buf: Uint8Array, pos = 0): boolean {
  const end = pos + batchSize(buf, pos);
  if (end > buf.length || end < pos + BATCH_HEADER_SIZE) return false;
  return u32(buf, pos + CRC_OFFSET) === crc32c(buf, pos + CRC_START, end);
}

/** Writes the base offset (outside the CRC; nothing else changes). Numbers avoid bigint allocation. */
export function setBaseOffset(buf: Uint8Array, pos: number, offset: bigint | number): void {
  put64(buf, pos + BASE_OFFSET_OFFSET, offset);
}

/** Writes the partition leader epoch (outside the CRC). */
export function setPartitionLeaderEpoch(buf: Uint8Array, pos: number, epoch: number): void {
  put32(buf, pos + PARTITION_LEADER_EPOCH_OFFSET, epoch);
}

/**
 * Stamps the batch with the broker's clock, as Kafka does for message.timestamp.type=LogAppendTime:
 * sets the timestamp-type bit and maxTimestamp (consumers then read every record's timestamp as
 * maxTimestamp), then recomputes the CRC, since both fields are inside it.
 */
export function setLogAppendTime(buf: Uint8Array, pos: number, timestampMs: bigint | number): void {
  const attrs = i16(buf, pos + ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_MASK;
  put16(buf, pos + ATTRIBUTES_OFFSET, attrs);
  put64(buf, pos + MAX_TIMESTAMP_OFFSET, timestampMs);
  put32(buf, pos + CRC_OFFSET, crc32c(buf, pos + CRC_START, pos + batchSize(buf, pos)));
}

// ---- record validation (Produce hot path, as Kafka's LogValidator)

export type RecordProblemCode =
  | "CORRUPT_MESSAGE"
  | "INVALID_RECORD"
  | "INVALID_TIMESTAMP"
  | "UNSUPPORTED_COMPRESSION_TYPE";

/** What validateRecords found wrong: the Kafka error, and the records at fault (Produce v8+ RecordErrors). */
export type RecordProblem = {
  error: RecordProblemCode;
  message: string;
  recordErrors: { batchIndex: number; message: string }[];
};

export type RecordCheckOptions = {
  /** Compacted topics: every record needs a key (Kafka: INVALID_RECORD). */
  requireKeys: boolean;
  /** Check CreateTime record timestamps against [now - beforeMaxMs, now + afterMaxMs] (KIP-937). */
  checkTimestamps: boolean;
  now: number;
  beforeMaxMs: number;
  afterMaxMs: number;
  /** Leave maxTimestamp alone (the caller stamps LogAppendTime over it). */
  logAppendTime: boolean;
  /** Cap on a compressed batch's records once decompressed, bytes. */
  maxDecompressedSize: number;
  /** Names the partition in messages, as Kafka's "in topic partition t-0". */
  partitionName: string;
};

/** At most this many RecordErrors are listed for one batch (the response stays small). */
export const MAX_RECORD_ERRORS = 1000;

// Position after the last slow-path varint read (module state: the walk allocates nothing per record).
let SP = 0;

/** Zigzag varint (int32) at p, not past `end`, position left in SP; NaN when truncated or over 5 bytes. */
function varintSlow(b: Uint8Array, p: number, end: number): number {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (p >= end) return NaN;
    const c = b[p++];
    if (shift === 28 && c > 0x0f) return NaN;
    v |= (c & 0x7f) << shift;
    if ((c & 0x80) === 0) {
      SP = p;
      return (v >>> 1) ^ -(v & 1);
    }
  }
  return NaN;
}

/** Zigzag varlong at p as a number, position left in SP; NaN when truncated, too long, or beyond 2^53. */
function varlongSlow(b: Uint8Array, p: number, end: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= end) return NaN;
    const c = b[p++];
    v += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) {
      if (v > Number.MAX_SAFE_INTEGER) return NaN;
      SP = p;
      return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
    }
    mul *= 128;
  }
  return NaN;
}

/** Skips `n` headers at p (key: bytes, value: bytes or null); returns the end, or -1 when malformed. */
function skipHeaders(b: Uint8Array, p: number, end: number, n: number): number {
  for (let h = 0; h < n; h++) {
    const kl = varintSlow(b, p, end);
    if (!(kl >= 0 && kl <= end - SP)) return -1;
    p = SP + kl;
    const vl = varintSlow(b, p, end);
    if (!(vl >= -1 && vl <= end - SP)) return -1;
    p = SP + (vl > 0 ? vl : 0);
  }
  return p;
}

// walkRecords' findings (module state: the walk allocates nothing).
let W_INDEX = 0;
let W_MIN_TS = 0;
let W_MAX_TS = 0;
let W_NULL_KEYS = 0;
const W_OK = 0;
const W_MISSING = 1;
const W_LENGTH = 2;
const W_FIELD = 3;
const W_HEADERS = 4;
const W_LEFTOVER = 5;
const W_TRAILING = 6;
const FIELD_NAMES = ["timestamp delta", "offset delta", "key length", "value length", "header count"];
let W_FIELD_AT = 0;

/**
 * Walks `count` records from p to end: framing only, one- and two-byte varints inline. Leaves the
 * min/max timestamp and the null-key count in W_*; returns W_OK or the first problem (W_INDEX).
 */
function walkRecords(b: Uint8Array, p: number, end: number, count: number, base: number): number {
  let minTs = Infinity;
  let maxTs = -1;
  let nullKeys = 0;
  let c = 0;
  let d = 0;
  let v = 0;
  let i = 0;
  for (; i < count; i++) {
    if (p >= end) break;
    // record length
    c = b[p];
    if (c < 0x80) {
      v = (c >>> 1) ^ -(c & 1);
      p++;
    } else if (p + 1 < end && (d = b[p + 1]) < 0x80) {
      c = (c & 0x7f) | (d << 7);
      v = (c >>> 1) ^ -(c & 1);
      p += 2;
    } else {
      v = varintSlow(b, p, end);
      p = SP;
    }
    if (!(v >= 1 && v <= end - p)) {
      W_INDEX = i;
      return W_LENGTH;
    }
    const recEnd = p + v;
    p++; // attributes
    // timestamp delta (varlong)
    if (p < recEnd && (c = b[p]) < 0x80) {
      v = (c >>> 1) ^ -(c & 1);
      p++;
    } else if (p + 1 < recEnd && (d = b[p + 1]) < 0x80) {
      c = (c & 0x7f) | (d << 7);
      v = (c >>> 1) ^ -(c & 1);
      p += 2;
    } else {
      v = varlongSlow(b, p, recEnd);
      p = SP;
      if (v !== v) {
        W_INDEX = i;
        W_FIELD_AT = 0;
        return W_FIELD;
      }
    }
    const ts = base + v;
    if (ts > maxTs) maxTs = ts;
    if (ts < minTs) minTs = ts;
    // offset delta: skipped, not checked (as Kafka); at most 5 bytes
    c = p + 5 < recEnd ? p + 5 : recEnd;
    while (p < c && b[p] >= 0x80) p++;
    if (p >= c) {
      W_INDEX = i;
      W_FIELD_AT = 1;
      return W_FIELD;
    }
    p++;
    // key: length (-1 null) and bytes
    if (p < recEnd && (c = b[p]) < 0x80) {
      v = (c >>> 1) ^ -(c & 1);
      p++;
    } else if (p + 1 < recEnd && (d = b[p + 1]) < 0x80) {
      c = (c & 0x7f) | (d << 7);
      v = (c >>> 1) ^ -(c & 1);
      p += 2;
    } else {
      v = varintSlow(b, p, recEnd);
      p = SP;
    }
    if (v >= 0 && v <= recEnd - p) p += v;
    else if (v === -1) nullKeys++;
    else {
      W_INDEX = i;
      W_FIELD_AT = 2;
      return W_FIELD;
    }
    // value: idem
    if (p < recEnd && (c = b[p]) < 0x80) {
      v = (c >>> 1) ^ -(c & 1);
      p++;
    } else if (p + 1 < recEnd && (d = b[p + 1]) < 0x80) {
      c = (c & 0x7f) | (d << 7);
      v = (c >>> 1) ^ -(c & 1);
      p += 2;
    } else {
      v = varintSlow(b, p, recEnd);
      p = SP;
    }
    if (v >= 0 && v <= recEnd - p) p += v;
    else if (v !== -1) {
      W_INDEX = i;
      W_FIELD_AT = 3;
      return W_FIELD;
    }
    // headers
    if (p < recEnd && (c = b[p]) < 0x80) {
      v = (c >>> 1) ^ -(c & 1);
      p++;
    } else {
      v = varintSlow(b, p, recEnd);
      p = SP;
    }
    if (!(v >= 0 && v * 2 <= recEnd - p)) {
      W_INDEX = i;
      W_FIELD_AT = 4;
      return W_FIELD;
    }
    if (v > 0) {
      p = skipHeaders(b, p, recEnd, v);
      if (p < 0) {
        W_INDEX = i;
        return W_HEADERS;
      }
    }
    if (p !== recEnd) {
      W_INDEX = i;
      W_FIELD_AT = recEnd - p;
      return W_LEFTOVER;
    }
  }
  W_MIN_TS = minTs;
  W_MAX_TS = maxTs;
  W_NULL_KEYS = nullKeys;
  W_INDEX = i;
  if (i < count) return W_MISSING;
  W_FIELD_AT = end - p;
  return p === end ? W_OK : W_TRAILING;
}

/** The records' timestamps and key nullness, in order (slow path, for listing RecordErrors). */
function eachRecord(
  b: Uint8Array,
  p: number,
  count: number,
  base: number,
  fn: (i: number, ts: number, nullKey: boolean) => void,
): void {
  for (let i = 0; i < count; i++) {
    const len = varintSlow(b, p, b.length);
    const recEnd = SP + len;
    const ts = base + varlongSlow(b, SP + 1, recEnd);
    varintSlow(b, SP, recEnd);
    fn(i, ts, varintSlow(b, SP, recEnd) === -1);
    p = recEnd;
  }
}

function corrupt(i: number, message: string): RecordProblem {
  return { error: "INVALID_RECORD", message, recordErrors: [{ batchIndex: i, message }] };
}

/**
 * Validates every record of the batch at `info.position` as Kafka's LogValidator does, walking the
 * record framing in place (decompressing first when the batch is compressed, bounded): record
 * lengths, key/value/header lengths, header counts, no trailing bytes, the record count; keys on
 * compacted topics; CreateTime timestamps within the topic's bounds. Recomputes the batch's max
 * timestamp from its records and, only when the header disagrees, writes it and the CRC in place
 * (info.maxTimestamp follows). Returns null when the batch may be stored.
 */
export function validateRecords(buf: Uint8Array, info: BatchInfo, o: RecordCheckOptions): RecordProblem | null {
  const pos = info.position;
  const count = info.recordCount;
  if (count <= 0) {
    return {
      error: "INVALID_RECORD",
      message: `Invalid reported count for record batch: ${count} in topic partition ${o.partitionName}`,
      recordErrors: [],
    };
  }
  let body = buf;
  let p = pos + RECORDS_OFFSET;
  let end = pos + info.size;
  if (info.codec !== 0) {
    try {
      body = decompress(info.codec, buf.subarray(p, end), o.maxDecompressedSize);
    } catch (e) {
      if (e instanceof CompressionError) {
        return {
          error: e.code === "UNSUPPORTED_COMPRESSION_TYPE" ? e.code : "CORRUPT_MESSAGE",
          message: e.message,
          recordErrors: [],
        };
      }
      throw e;
    }
    p = 0;
    end = body.length;
  }
  const base = info.baseTimestamp;
  const w = walkRecords(body, p, end, count, base);
  const i = W_INDEX;
  switch (w) {
    case W_OK:
      break;
    case W_MISSING:
      return corrupt(i, `Incorrect number of records: the batch declares ${count}, its bytes hold ${i}`);
    case W_LENGTH:
      return corrupt(i, `Invalid record size: record ${i} claims more bytes than the batch holds, or none`);
    case W_FIELD:
      return corrupt(i, `Invalid record: record ${i} has an invalid ${FIELD_NAMES[W_FIELD_AT]}`);
    case W_HEADERS:
      return corrupt(i, `Invalid record: record ${i} has an invalid header key or value length`);
    case W_LEFTOVER:
      return corrupt(i, `Invalid record size: record ${i} has ${W_FIELD_AT} bytes after its last field`);
    default:
      return corrupt(
        count - 1,
        `Incorrect number of records: ${W_FIELD_AT} bytes follow the last of the ${count} records the batch declares`,
      );
  }
  const lo = o.now - o.beforeMaxMs;
  const hi = o.now + o.afterMaxMs;
  const checkTs = o.checkTimestamps && info.timestampType === 0;
  if ((checkTs && (W_MIN_TS < lo || W_MAX_TS > hi)) || (o.requireKeys && W_NULL_KEYS > 0)) {
    const keyErrors: { batchIndex: number; message: string }[] = [];
    const tsErrors: { batchIndex: number; message: string }[] = [];
    eachRecord(body, p, count, base, (i, ts, nullKey) => {
      if (nullKey && o.requireKeys && keyErrors.length < MAX_RECORD_ERRORS) {
        keyErrors.push({
          batchIndex: i,
          message: `Compacted topic cannot accept message without key in topic partition ${o.partitionName}`,
        });
      }
      if (checkTs && ts !== -1 && (ts < lo || ts > hi) && tsErrors.length < MAX_RECORD_ERRORS) {
        tsErrors.push({
          batchIndex: i,
          message:
            `Timestamp ${ts} of message with offset ${i} is out of range. The timestamp should be within [${lo}, ${hi}]`,
        });
      }
    });
    if (tsErrors.length > 0) {
      return {
        error: "INVALID_TIMESTAMP",
        message: "One or more records have been rejected due to invalid timestamp",
        recordErrors: tsErrors,
      };
    }
    if (keyErrors.length > 0) {
      return {
        error: "INVALID_RECORD",
        message: `One or more records have been rejected due to ${keyErrors.length} record errors in total, ` +
          `and only showing the first three errors at most: ${JSON.stringify(keyErrors.slice(0, 3))}`,
        recordErrors: keyErrors,
      };
    }
  }
  // Kafka's setMaxTimestamp: rewrite the header (and CRC) only when it disagrees with the records.
  const maxTs = W_MAX_TS;
  if (!o.logAppendTime && info.timestampType === 0 && maxTs !== info.maxTimestamp) {
    put64(buf, pos + MAX_TIMESTAMP_OFFSET, maxTs);
    put32(buf, pos + CRC_OFFSET, crc32c(buf, pos + CRC_START, pos + info.size));
    info.maxTimestamp = maxTs;
  }
  return null;
}

// ---- full decoding (slow path)

export type RecordHeader = { key: string; value: Uint8Array | null };
export type DecodedRecord = {
  offset: bigint;
  /** CreateTime of the record, or the batch's maxTimestamp under LogAppendTime. */
  timestamp: bigint;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  attributes: number;
};
export type DecodedBatch = {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  codec: number;
  timestampType: number;
  isTransactional: boolean;
  isControl: boolean;
  hasDeleteHorizon: boolean;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  records: DecodedRecord[];
};

export type DecodeOptions = {
  /** Check the CRC first (default true). */
  verifyCrc?: boolean;
  /** Cap on the decompressed records section, bytes (default 256 MiB). */
  maxDecompressedSize?: number;
};

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8enc = new TextEncoder();

/** Bounds-checked cursor over the records section. */
class Cursor {
  p: number;
  readonly b: Uint8Array;
  readonly end: number;
  constructor(b: Uint8Array, p: number, end: number) {
    this.b = b;
    this.p = p;
    this.end = end;
  }
  fail(msg: string): never {
    throw new RecordBatchError("CORRUPT_MESSAGE", `record batch: ${msg} at byte ${this.p}`);
  }
  /** Zigzag varint, at most 5 bytes, as int32. */
  varint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.p >= this.end) this.fail("truncated varint");
      const c = this.b[this.p++];
      if (shift === 28 && c > 0x0f) this.fail("varint overflows 32 bits");
      v |= (c & 0x7f) << shift;
      if ((c & 0x80) === 0) return (v >>> 1) ^ -(v & 1);
    }
    return this.fail("varint longer than 5 bytes");
  }
  /** Zigzag varlong, at most 10 bytes. */
  varlong(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.p >= this.end) this.fail("truncated varlong");
      const c = this.b[this.p++];
      v |= BigInt(c & 0x7f) << shift;
      if ((c & 0x80) === 0) {
        if (v >= 1n << 64n) this.fail("varlong overflows 64 bits");
        return (v >> 1n) ^ -(v & 1n);
      }
    }
    return this.fail("varlong longer than 10 bytes");
  }
  /** Length-prefixed bytes; -1 is null. */
  bytes(what: string): Uint8Array | null {
    const len = this.varint();
    if (len === -1) return null;
    if (len < -1) this.fail(`negative ${what} length ${len}`);
    if (len > this.end - this.p) this.fail(`${what} of ${len} bytes overruns the record`);
    const v = this.b.subarray(this.p, this.p + len);
    this.p += len;
    return v;
  }
}

function headerKey(r: Cursor): string {
  const hk = r.bytes("header key");
  if (hk === null) return r.fail("null header key");
  try {
    return utf8.decode(hk);
  } catch {
    return r.fail("header key is not UTF-8");
  }
}

/**
 * Decodes a whole batch (starting at byte 0 of `batch`) into header fields and records,
 * decompressing as needed. Throws RecordBatchError, never reads past the batch.
 */
export function decodeRecords(batch: Uint8Array, opts?: DecodeOptions): DecodedBatch {
  const scanned = scanBatches(batch.subarray(0, Math.min(batch.length, headerSizeOf(batch))), { compacted: true });
  if (isBatchError(scanned) && !(opts?.verifyCrc === false && scanned.message.startsWith("CRC32C"))) {
    throw new RecordBatchError(scanned.error, scanned.message);
  }
  const size = batchSize(batch, 0);
  const attributes = batchAttributes(batch);
  const codec = attributes & COMPRESSION_CODEC_MASK;
  const recordCount = batchRecordCount(batch);
  const baseOffset = batchBaseOffset(batch);
  const baseTimestamp = batchBaseTimestamp(batch);
  const maxTimestamp = batchMaxTimestamp(batch);
  const logAppend = (attributes & TIMESTAMP_TYPE_MASK) !== 0;
  let body: Uint8Array;
  try {
    body = decompress(
      codec,
      batch.subarray(RECORDS_OFFSET, size),
      opts?.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED,
    );
  } catch (e) {
    if (e instanceof CompressionError) throw new RecordBatchError(e.code, e.message);
    throw e;
  }
  const c = new Cursor(body, 0, body.length);
  const records: DecodedRecord[] = [];
  for (let i = 0; i < recordCount; i++) {
    const len = c.varint();
    if (len < 0 || len > c.end - c.p) c.fail(`record length ${len} out of range`);
    const r = new Cursor(body, c.p, c.p + len);
    if (r.p >= r.end) r.fail("empty record");
    const recAttrs = body[r.p++];
    const tsDelta = r.varlong();
    const offsetDelta = r.varint();
    const key = r.bytes("key");
    const value = r.bytes("value");
    const hc = r.varint();
    if (hc < 0 || hc > r.end - r.p) r.fail(`header count ${hc} out of range`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < hc; h++) {
      const keyStr = headerKey(r);
      headers.push({ key: keyStr, value: r.bytes("header value") });
    }
    if (r.p !== r.end) r.fail(`record has ${r.end - r.p} unread bytes`);
    c.p = r.end;
    records.push({
      offset: baseOffset + BigInt(offsetDelta),
      timestamp: logAppend ? maxTimestamp : baseTimestamp + tsDelta,
      key,
      value,
      headers,
      attributes: recAttrs,
    });
  }
  if (c.p !== c.end) c.fail(`${c.end - c.p} bytes after the last of ${recordCount} records`);
  return {
    baseOffset,
    batchLength: size - LOG_OVERHEAD,
    partitionLeaderEpoch: batchPartitionLeaderEpoch(batch),
    magic: batchMagic(batch),
    crc: batchCrc(batch),
    attributes,
    codec,
    timestampType: logAppend ? 1 : 0,
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
    hasDeleteHorizon: (attributes & DELETE_HORIZON_FLAG_MASK) !== 0,
    lastOffsetDelta: batchLastOffsetDelta(batch),
    baseTimestamp,
    maxTimestamp,
    producerId: batchProducerId(batch),
    producerEpoch: batchProducerEpoch(batch),
    baseSequence: batchBaseSequence(batch),
    recordCount,
    records,
  };
}

/** How many bytes the first batch claims, so decodeRecords scans exactly one batch. */
function headerSizeOf(batch: Uint8Array): number {
  if (batch.length < LOG_OVERHEAD) return batch.length;
  const len = i32(batch, BATCH_LENGTH_OFFSET);
  return len < 0 ? batch.length : len + LOG_OVERHEAD;
}

/** Reads a control record (transaction marker); null if key/value are not one. */
export function parseControlRecord(
  key: Uint8Array | null,
  value: Uint8Array | null,
): { type: number; commit: boolean; coordinatorEpoch: number } | null {
  if (key === null || key.length < 4 || i16(key, 0) !== 0) return null;
  const type = i16(key, 2);
  const coordinatorEpoch = value !== null && value.length >= 6 ? i32(value, 2) : -1;
  return { type, commit: type === ControlRecordType.COMMIT, coordinatorEpoch };
}

// ---- building

export type RecordInput = {
  key: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: { key: string; value: Uint8Array | string | null }[];
  /** CreateTime in ms; defaults to now. */
  timestamp?: bigint | number;
  /** Defaults to the record's index. */
  offsetDelta?: number;
};

export type BuildOptions = {
  baseOffset?: bigint | number;
  records: RecordInput[];
  codec?: number;
  producerId?: bigint | number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  /** 0 CreateTime (default), 1 LogAppendTime. */
  timestampType?: number;
  partitionLeaderEpoch?: number;
  /** For batches rebuilt by compaction; defaults to the last record's offsetDelta. */
  lastOffsetDelta?: number;
  /** Overrides max(record timestamps), e.g. the LogAppendTime. */
  maxTimestamp?: bigint | number;
  /**
   * KIP-534: the delete horizon compaction sets on a batch it keeps with tombstones or an empty transaction's
   * marker. Stored as the base timestamp, with the delete-horizon attribute bit; record timestamps are kept.
   */
  deleteHorizonMs?: bigint | number;
};

/** Growable byte sink for building records. */
class Out {
  b = new Uint8Array(256);
  n = 0;
  need(k: number): void {
    if (this.n + k <= this.b.length) return;
    const next = new Uint8Array(Math.max(this.b.length * 2, this.n + k));
    next.set(this.b.subarray(0, this.n));
    this.b = next;
  }
  byte(v: number): void {
    this.need(1);
    this.b[this.n++] = v;
  }
  varint(v: number): void {
    let z = ((v << 1) ^ (v >> 31)) >>> 0;
    this.need(5);
    while (z >= 0x80) {
      this.b[this.n++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    this.b[this.n++] = z;
  }
  varlong(v: bigint): void {
    let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    this.need(10);
    while (z >= 0x80n) {
      this.b[this.n++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.b[this.n++] = Number(z);
  }
  raw(v: Uint8Array): void {
    this.need(v.length);
    this.b.set(v, this.n);
    this.n += v.length;
  }
  bytes(v: Uint8Array | null): void {
    if (v === null) return this.varint(-1);
    this.varint(v.length);
    this.raw(v);
  }
}

function asBytes(v: Uint8Array | string | null): Uint8Array | null {
  return typeof v === "string" ? utf8enc.encode(v) : v;
}

function toBig(v: bigint | number): bigint {
  return typeof v === "bigint" ? v : BigInt(v);
}

/** Builds a RecordBatch v2 with a valid CRC. */
export function buildRecordBatch(o: BuildOptions): Uint8Array {
  const codec = o.codec ?? 0;
  if (codec < 0 || codec > 4) throw new RecordBatchError("UNSUPPORTED_COMPRESSION_TYPE", `unknown codec ${codec}`);
  const now = BigInt(Date.now());
  const stamps = o.records.map((r) => (r.timestamp === undefined ? now : toBig(r.timestamp)));
  const firstTimestamp = stamps.length
    ? stamps[0]
    : (o.maxTimestamp !== undefined ? toBig(o.maxTimestamp) : NO_TIMESTAMP);
  let maxTs = firstTimestamp;
  for (const t of stamps) if (t > maxTs) maxTs = t;
  const baseTimestamp = o.deleteHorizonMs !== undefined ? toBig(o.deleteHorizonMs) : firstTimestamp;
  if (o.maxTimestamp !== undefined) maxTs = toBig(o.maxTimestamp);

  const body = new Out();
  const rec = new Out();
  let lastDelta = 0;
  o.records.forEach((r, i) => {
    const offsetDelta = r.offsetDelta ?? i;
    if (offsetDelta < lastDelta && i > 0) throw new RangeError("offsetDelta must increase");
    lastDelta = offsetDelta;
    rec.n = 0;
    rec.byte(0);
    rec.varlong(stamps[i] - baseTimestamp);
    rec.varint(offsetDelta);
    rec.bytes(asBytes(r.key));
    rec.bytes(asBytes(r.value));
    const hs = r.headers ?? [];
    rec.varint(hs.length);
    for (const h of hs) {
      rec.bytes(utf8enc.encode(h.key));
      rec.bytes(asBytes(h.value));
    }
    body.varint(rec.n);
    body.raw(rec.b.subarray(0, rec.n));
  });
  const plain = body.b.subarray(0, body.n);
  const records = codec === 0 ? plain : compress(codec, plain);

  const size = BATCH_HEADER_SIZE + records.length;
  const b = new Uint8Array(size);
  put64(b, BASE_OFFSET_OFFSET, o.baseOffset ?? 0n);
  put32(b, BATCH_LENGTH_OFFSET, size - LOG_OVERHEAD);
  put32(b, PARTITION_LEADER_EPOCH_OFFSET, o.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH);
  b[MAGIC_OFFSET] = CURRENT_MAGIC;
  let attrs = codec;
  if ((o.timestampType ?? 0) === 1) attrs |= TIMESTAMP_TYPE_MASK;
  if (o.transactional) attrs |= TRANSACTIONAL_FLAG_MASK;
  if (o.control) attrs |= CONTROL_FLAG_MASK;
  if (o.deleteHorizonMs !== undefined) attrs |= DELETE_HORIZON_FLAG_MASK;
  put16(b, ATTRIBUTES_OFFSET, attrs);
  put32(b, LAST_OFFSET_DELTA_OFFSET, o.lastOffsetDelta ?? (o.records.length ? lastDelta : 0));
  put64(b, BASE_TIMESTAMP_OFFSET, baseTimestamp);
  put64(b, MAX_TIMESTAMP_OFFSET, maxTs);
  put64(b, PRODUCER_ID_OFFSET, o.producerId ?? NO_PRODUCER_ID);
  put16(b, PRODUCER_EPOCH_OFFSET, o.producerEpoch ?? NO_PRODUCER_EPOCH);
  put32(b, BASE_SEQUENCE_OFFSET, o.baseSequence ?? NO_SEQUENCE);
  put32(b, RECORD_COUNT_OFFSET, o.records.length);
  b.set(records, RECORDS_OFFSET);
  put32(b, CRC_OFFSET, crc32c(b, CRC_START, size));
  return b;
}

export type ControlBatchOptions = {
  baseOffset?: bigint | number;
  producerId: bigint | number;
  producerEpoch: number;
  /** true: COMMIT marker, false: ABORT marker. */
  commit: boolean;
  coordinatorEpoch: number;
  timestamp?: bigint | number;
  partitionLeaderEpoch?: number;
};

/** A transaction marker: one control record, key (version 0, type), value (version 0, coordinatorEpoch). */
export function buildControlBatch(o: ControlBatchOptions): Uint8Array {
  const key = new Uint8Array(4);
  put16(key, 0, 0);
  put16(key, 2, o.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT);
  const value = new Uint8Array(6);
  put16(value, 0, 0);
  put32(value, 2, o.coordinatorEpoch);
  return buildRecordBatch({
    baseOffset: o.baseOffset,
    records: [{ key, value, timestamp: o.timestamp }],
    producerId: o.producerId,
    producerEpoch: o.producerEpoch,
    baseSequence: NO_SEQUENCE,
    transactional: true,
    control: true,
    partitionLeaderEpoch: o.partitionLeaderEpoch,
  });
}
