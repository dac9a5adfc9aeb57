// A member joining while the leader's assignment is being stored: the SyncGroups waiting for that store are answered
// REBALANCE_IN_PROGRESS (as Kafka) instead of being left unanswered until the clients time out (seen with franz-go's
// cooperative-sticky group: the leader's SyncGroup hung for its whole request timeout).
import { expect, test } from "bun:test";
import { ClassicGroup } from "../../src/broker/groups/classic.ts";
import type { JoinRequest } from "../../src/broker/groups/classic.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

test("SyncGroup answered REBALANCE_IN_PROGRESS when a join lands during the assignment's write", async () => {
  let release: (code: number) => void = () => {};
  let ids = 0;
  const group = new ClassicGroup("g", {
    now: () => Date.now(),
    initialRebalanceDelayMs: () => 0,
    persist: () => new Promise<number>((resolve) => (release = resolve)),
    maybeForget: () => {},
    newMemberId: (prefix) => `${prefix}-${++ids}`,
    log: () => {},
  });
  const req = (clientId: string): JoinRequest => ({
    memberId: "",
    groupInstanceId: null,
    clientId,
    clientHost: "/127.0.0.1",
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array([1]) }],
    requireKnownMemberId: false,
    version: 9,
  });
  const a = await group.join(req("a"), 100);
  expect(a.errorCode).toBe(ErrorCode.NONE);
  let answer: { errorCode: number } | null = null;
  void Promise.resolve(
    group.sync(a.memberId, null, a.generationId, "consumer", "range", [{
      memberId: a.memberId,
      assignment: new Uint8Array([9]),
    }]),
  ).then((r) => (answer = r));
  const b = group.join(req("b"), 100); // a rebalance begins while the assignment is being written
  release(ErrorCode.NONE);
  for (let i = 0; i < 10 && answer === null; i++) await Promise.resolve();
  expect(answer).not.toBeNull();
  expect(answer!.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  group.shutdown(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  expect((await b).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
});
