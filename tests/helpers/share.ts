// Share-group (KIP-932) requests over the wire for handler tests: heartbeat, ShareFetch, ShareAcknowledge,
// and the acquired ranges in a compact form ("first-lastxdeliveryCount").
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { UpdateFeatures } from "../../src/protocol/messages/57_update_features.ts";
import { ShareGroupHeartbeat } from "../../src/protocol/messages/76_share_group_heartbeat.ts";
import { ShareFetch } from "../../src/protocol/messages/78_share_fetch.ts";
import { ShareAcknowledge } from "../../src/protocol/messages/79_share_acknowledge.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import type { WireClient } from "./wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

export const ACCEPT = 1, RELEASE = 2, REJECT = 3;
export type Ack = { firstOffset: bigint; lastOffset: bigint; acknowledgeTypes: number[] };
export const ack = (first: number, last: number, ...types: number[]): Ack => ({
  firstOffset: BigInt(first),
  lastOffset: BigInt(last),
  acknowledgeTypes: types,
});

/** UpdateFeatures of share.version: 1 turns share groups on, 0 off (a safe downgrade). */
export const setShareVersion = (c: WireClient, level: number) =>
  c.send(UpdateFeatures, 1, {
    timeoutMs: 1000,
    featureUpdates: [{
      feature: "share.version",
      maxVersionLevel: level,
      allowDowngrade: level === 0,
      upgradeType: level === 0 ? 2 : 1,
    }],
    validateOnly: false,
  });

export const enableShare = (c: WireClient) => setShareVersion(c, 1);

/** The finalized share.version a broker reports in ApiVersions (0: not finalized). */
export async function shareVersion(c: WireClient): Promise<number> {
  const r = await c.send(ApiVersions, 3, { clientSoftwareName: "chronik-test", clientSoftwareVersion: "1" });
  return r.finalizedFeatures?.find((f) => f.name === "share.version")?.maxVersionLevel ?? 0;
}

export function produceValues(c: WireClient, topic: string, values: string[]) {
  const enc = new TextEncoder();
  return c.send(Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{
      name: topic,
      topicId: ZERO_UUID,
      partitionData: [{
        index: 0,
        records: buildRecordBatch({ records: values.map((v) => ({ key: null, value: enc.encode(v) })) }),
      }],
    }],
  });
}

export const shareHeartbeat = (
  c: WireClient,
  groupId: string,
  memberId: string,
  memberEpoch: number,
  topics: string[] | null,
) => c.send(ShareGroupHeartbeat, 1, { groupId, memberId, memberEpoch, rackId: null, subscribedTopicNames: topics });

export function shareFetch(
  c: WireClient,
  groupId: string,
  memberId: string,
  epoch: number,
  topicId: string,
  o: { acks?: Ack[]; maxRecords?: number; maxWaitMs?: number } = {},
) {
  return c.send(ShareFetch, 1, {
    groupId,
    memberId,
    shareSessionEpoch: epoch,
    maxWaitMs: o.maxWaitMs ?? 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    maxRecords: o.maxRecords ?? 500,
    batchSize: 500,
    topics: [{
      topicId,
      partitions: [{ partitionIndex: 0, partitionMaxBytes: 0, acknowledgementBatches: o.acks ?? [] }],
    }],
    forgottenTopicsData: [],
  });
}

export const shareAck = (
  c: WireClient,
  groupId: string,
  memberId: string,
  epoch: number,
  topicId: string,
  acks: Ack[],
) =>
  c.send(ShareAcknowledge, 1, {
    groupId,
    memberId,
    shareSessionEpoch: epoch,
    topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: acks }] }],
  });

/** The acquired ranges of the first partition: ["0-3x1", …]. */
export const acquired = (r: Awaited<ReturnType<typeof shareFetch>>) =>
  (r.responses?.[0]?.partitions?.[0]?.acquiredRecords ?? []).map((a) =>
    `${a.firstOffset}-${a.lastOffset}x${a.deliveryCount}`
  );
