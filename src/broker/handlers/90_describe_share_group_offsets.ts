// DescribeShareGroupOffsets (key 90), v0 (KIP-932). Each share-partition's start offset (SPSO) for
// the groups asked about; topics null means every topic the group has state for. A partition the
// group has not read answers startOffset -1. Unknown topics: UNKNOWN_TOPIC_OR_PARTITION; unknown
// groups: GROUP_ID_NOT_FOUND. ACLs: DESCRIBE on the group, DESCRIBE on each topic. In a cluster,
// NOT_COORDINATOR off the group's coordinator, which reads the start offsets as stored (the
// share-partitions' leaders may be other brokers).
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeShareGroupOffsets } from "../../protocol/messages/90_describe_share_group_offsets.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { SHARE_DISABLED, shareEnabled } from "../share/gate.ts";
import { ZERO_UUID } from "../../protocol/codec.ts";

export default defineHandler(DescribeShareGroupOffsets, [0, 0], LARGE_RESPONSE, async (req, ctx) => {
  const svc = ctx.services;
  return {
    throttleTimeMs: 0,
    groups: await Promise.all(req.groups.map(async (g) => {
      const fail = (errorCode: number, errorMessage: string) => ({
        groupId: g.groupId,
        topics: [],
        errorCode,
        errorMessage,
      });
      if (!shareEnabled(ctx)) return fail(ErrorCode.UNSUPPORTED_VERSION, SHARE_DISABLED);
      if (!allowed(ctx, Op.DESCRIBE, Res.GROUP, g.groupId)) {
        return fail(ErrorCode.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.");
      }
      const refused = svc.groups.coordinatorError(g.groupId);
      if (refused !== ErrorCode.NONE) return fail(refused, "This broker does not coordinate the group now.");
      if (!svc.share.groups.has(g.groupId)) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${g.groupId} not found.`);
      let offsets: Map<string, number>;
      try {
        offsets = await svc.share.startOffsets(g.groupId);
      } catch (e) {
        svc.log("warn", `reading share group ${g.groupId}'s offsets: ${e instanceof Error ? e.message : String(e)}`);
        return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, "The share group's state could not be read.");
      }
      const stateful = new Map<string, number[]>();
      for (const k of offsets.keys()) {
        const [topicId, p] = k.split(":");
        if (!stateful.has(topicId)) stateful.set(topicId, []);
        stateful.get(topicId)!.push(Number(p));
      }
      const asked = g.topics ??
        [...stateful].flatMap(([topicId, partitions]) => {
          const name = svc.topics.byId(topicId)?.name;
          return name === undefined ? [] : [{ topicName: name, partitions: partitions.sort((a, b) => a - b) }];
        });
      return {
        groupId: g.groupId,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topics: asked.map((t) => {
          const topic = svc.topics.get(t.topicName);
          const denied = !allowed(ctx, Op.DESCRIBE, Res.TOPIC, t.topicName);
          return {
            topicName: t.topicName,
            topicId: topic?.id ?? ZERO_UUID,
            partitions: t.partitions.map((partitionIndex) => {
              const errorCode = denied
                ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
                : !topic?.partitions[partitionIndex]
                ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                : ErrorCode.NONE;
              return {
                partitionIndex,
                startOffset: errorCode === ErrorCode.NONE
                  ? BigInt(offsets.get(`${topic!.id}:${partitionIndex}`) ?? -1)
                  : -1n,
                leaderEpoch: errorCode === ErrorCode.NONE ? 0 : -1,
                errorCode,
                errorMessage: null,
              };
            }),
          };
        }),
      };
    })),
  };
});
