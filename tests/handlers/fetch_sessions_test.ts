// Fetch session ids are random (as Kafka's FetchSessionCache), never 0, never one in use: a broker restarted
// under clients that still hold session ids of the old process must not hand those ids to other clients.
// A session made by name (Fetch < v13) does not go on by topic id, nor the other way (FETCH_SESSION_TOPIC_ID_ERROR).
import { expect, test } from "bun:test";
import { FetchSessions } from "../../src/broker/fetch_sessions.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

const part = {
  topic: "t",
  topicId: "AAAAAAAAAAAAAAAAAAAAAA",
  partition: 0,
  fetchOffset: 0n,
  maxBytes: 1,
  currentLeaderEpoch: 0,
};

test("new sessions take random ids, skipping 0 and ids in use", () => {
  const draws = [0, 7, 7, 9];
  const s = new FetchSessions(10, () => draws.shift()!);
  expect(s.plan(0, 0, [part], [], 0, true).sessionId).toBe(7);
  expect(s.plan(0, 0, [part], [], 0, true).sessionId).toBe(9);
});

test("two broker processes do not count session ids up from the same start", () => {
  const before = new FetchSessions();
  const after = new FetchSessions();
  const ids = (f: FetchSessions) => Array.from({ length: 5 }, () => f.plan(0, 0, [part], [], 0, true).sessionId);
  const a = ids(before);
  const b = ids(after);
  expect(a.every((id) => id > 0 && id <= 0x7fffffff)).toBe(true);
  expect(a.some((id, i) => id !== b[i])).toBe(true);
  // A stale client's incremental fetch on the new process finds no session of its id.
  expect(after.plan(a[0], 5, [], [], 0, true).errorCode).toBe(
    b.includes(a[0]) ? ErrorCode.INVALID_FETCH_SESSION_EPOCH : ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  );
});

test("an incremental fetch that names topics unlike the session's first request gets FETCH_SESSION_TOPIC_ID_ERROR", () => {
  const s = new FetchSessions();
  const byName = s.plan(0, 0, [part], [], 0, false);
  expect(s.plan(byName.sessionId, 1, [], [], 0, true).errorCode).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
  // The session is still there for a request of its own kind.
  expect(s.plan(byName.sessionId, 1, [], [], 0, false).errorCode).toBe(ErrorCode.NONE);
  const byId = s.plan(0, 0, [part], [], 0, true);
  expect(s.plan(byId.sessionId, 1, [], [], 0, false).errorCode).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
  // A full fetch of the other kind replaces the session (what the client does next).
  const again = s.plan(byId.sessionId, 0, [part], [], 0, false);
  expect(again.errorCode).toBe(ErrorCode.NONE);
  expect(s.plan(again.sessionId, 1, [], [], 0, false).errorCode).toBe(ErrorCode.NONE);
});
