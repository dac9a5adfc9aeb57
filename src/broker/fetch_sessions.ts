// Incremental fetch sessions (KIP-227): the broker remembers a consumer's partitions and answers
// later fetches with only the partitions that changed.
//
// sessionId 0, epoch -1: sessionless full fetch.   sessionId 0, epoch 0: full fetch, new session.
// sessionId X, epoch -1: close X, full fetch.       sessionId X, epoch 0: close X, new session.
// sessionId X, epoch N > 0: incremental, N must be the session's next epoch.
// A session names its topics the way the request that created it did (by name before v13, by topic id from v13):
// an incremental fetch of the other kind gets FETCH_SESSION_TOPIC_ID_ERROR, as Kafka's FetchManager answers, and the
// client starts a new session. (The Java consumer sends a v12 full fetch while one of its topics has no id in its
// metadata, e.g. while reconnecting to a restarted broker, and the next fetches at v18; answered in the old session,
// those partitions carried the zero topic id, the client dropped their data and polled the same offsets forever.)
import { ErrorCode } from "../protocol/errors.ts";

export type FetchPartition = {
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: bigint;
  maxBytes: number;
  currentLeaderEpoch: number;
  /** What the last response in the session said; a change puts the partition in the next one. */
  lastHighWatermark: bigint;
  lastLogStartOffset: bigint;
  lastStableOffset: bigint;
};

export type SessionPlan = {
  errorCode: number;
  /** 0 when sessionless. */
  sessionId: number;
  /** Partitions to consider, in the session's order. */
  partitions: FetchPartition[];
  /** Omit partitions with nothing new from the response. */
  incremental: boolean;
};

type Session = {
  id: number;
  epoch: number;
  partitions: Map<string, FetchPartition>;
  lastUsed: number;
  /** Created by a v13+ request (topics by id). */
  usesTopicIds: boolean;
};

export type RequestedPartition = Omit<FetchPartition, "lastHighWatermark" | "lastLogStartOffset" | "lastStableOffset">;

export const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class FetchSessions {
  private sessions = new Map<number, Session>();
  private readonly maxSessions: number;
  private readonly randomId: () => number;

  /** `randomId` (tests) gives session ids in 1..2^31-1; by default Web Crypto's random numbers. */
  constructor(maxSessions = 1000, randomId?: () => number) {
    this.maxSessions = maxSessions;
    this.randomId = randomId ?? (() => crypto.getRandomValues(new Uint32Array(1))[0] & 0x7fffffff);
  }

  get size(): number {
    return this.sessions.size;
  }

  plan(
    sessionId: number,
    epoch: number,
    requested: RequestedPartition[],
    forgotten: { topic: string; partition: number }[],
    now: number,
    /** The request names topics by id (Fetch v13+). */
    usesTopicIds: boolean,
  ): SessionPlan {
    const fresh = (p: RequestedPartition): FetchPartition => ({
      ...p,
      lastHighWatermark: -1n,
      lastLogStartOffset: -1n,
      lastStableOffset: -1n,
    });
    if (epoch === -1 || epoch === 0) {
      if (sessionId !== 0) this.sessions.delete(sessionId);
      const partitions = requested.map(fresh);
      if (epoch === -1) return { errorCode: ErrorCode.NONE, sessionId: 0, partitions, incremental: false };
      const session = this.create(partitions, now, usesTopicIds);
      return { errorCode: ErrorCode.NONE, sessionId: session?.id ?? 0, partitions, incremental: false };
    }
    const session = this.sessions.get(sessionId);
    if (!session) {
      return { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, partitions: [], incremental: false };
    }
    if (session.epoch !== epoch) {
      return { errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: 0, partitions: [], incremental: false };
    }
    if (session.usesTopicIds !== usesTopicIds) {
      return { errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR, sessionId: 0, partitions: [], incremental: false };
    }
    session.epoch = epoch + 1;
    session.lastUsed = now;
    // LRU order: most recently used last.
    this.sessions.delete(sessionId);
    this.sessions.set(sessionId, session);
    for (const f of forgotten) session.partitions.delete(partitionKey(f.topic, f.partition));
    for (const p of requested) {
      const key = partitionKey(p.topic, p.partition);
      const old = session.partitions.get(key);
      if (old) {
        old.fetchOffset = p.fetchOffset;
        old.maxBytes = p.maxBytes;
        old.currentLeaderEpoch = p.currentLeaderEpoch;
      } else {
        session.partitions.set(key, fresh(p));
      }
    }
    return { errorCode: ErrorCode.NONE, sessionId, partitions: [...session.partitions.values()], incremental: true };
  }

  private create(partitions: FetchPartition[], now: number, usesTopicIds: boolean): Session | null {
    if (this.sessions.size >= this.maxSessions) {
      // Evict the least recently used session (Map keeps insertion order; used ones move last).
      const oldest = this.sessions.keys().next();
      if (!oldest.done) this.sessions.delete(oldest.value);
    }
    // Random ids, as Kafka's FetchSessionCache: after a restart, clients still hold ids of the old process, and a
    // sequential count from 1 handed those same ids to other clients, whose sessions a stale client's "close
    // session X" (epoch 0 or -1) then removed.
    let id = 0;
    while (id === 0 || this.sessions.has(id)) id = this.randomId();
    const session: Session = { id, epoch: 1, partitions: new Map(), lastUsed: now, usesTopicIds };
    for (const p of partitions) session.partitions.set(partitionKey(p.topic, p.partition), p);
    this.sessions.set(id, session);
    return session;
  }
}
