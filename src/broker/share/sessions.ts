// Share sessions (KIP-932, ShareFetch/ShareAcknowledge), as Kafka's ShareSessionCache keeps them: one per
// group member on this broker. Epoch 0 opens one (replacing the member's previous session), each request
// after it carries the next epoch (wrapping to 1), -1 closes it. A session remembers the partitions it
// fetches (added and forgotten by each request) and the connection its last request came on: when that
// connection drops the session ends (ShareCoordinator.connectionClosed). At most
// group.share.max.share.sessions sessions (SHARE_SESSION_LIMIT_REACHED beyond).
import { ErrorCode } from "../../protocol/errors.ts";

export type Session = {
  epoch: number;
  partitions: Map<string, { topicId: string; partition: number }>;
  /** The connection its last request came on: when it drops, the session ends (Kafka 4.1). */
  connectionId: number;
};

type Failure = { errorCode: number; errorMessage: string | null };

const sessionKey = (groupId: string, memberId: string) => `${groupId}\u0000${memberId}`;

export class ShareSessions {
  /** group \0 member -> session. */
  private readonly sessions = new Map<string, Session>();

  get(groupId: string, memberId: string): Session | undefined {
    return this.sessions.get(sessionKey(groupId, memberId));
  }

  /**
   * Checks a request's session epoch and applies it: a new session at 0 (`replaced` when the member had
   * one), the next epoch expected otherwise. Settled without awaiting, so the member's next request
   * (next epoch) finds the session as it must.
   */
  advance(
    groupId: string,
    memberId: string,
    epoch: number,
    add: { topicId: string; partition: number }[],
    forget: { topicId: string; partition: number }[],
    connectionId: number,
    maxSessions: number,
  ): Failure | { session: Session; replaced: boolean } {
    const key = sessionKey(groupId, memberId);
    let s = this.sessions.get(key);
    let replaced = false;
    if (epoch === 0) {
      if (!s && this.sessions.size >= maxSessions) {
        return { errorCode: ErrorCode.SHARE_SESSION_LIMIT_REACHED, errorMessage: "The share session cache is full." };
      }
      replaced = s !== undefined;
      s = { epoch: 0, partitions: new Map(), connectionId };
      this.sessions.set(key, s);
    } else {
      if (!s) return { errorCode: ErrorCode.SHARE_SESSION_NOT_FOUND, errorMessage: "The share session was not found." };
      if (epoch !== -1 && epoch !== s.epoch) {
        return {
          errorCode: ErrorCode.INVALID_SHARE_SESSION_EPOCH,
          errorMessage: `The share session epoch ${epoch} is not the expected ${s.epoch}.`,
        };
      }
    }
    s.connectionId = connectionId;
    for (const p of add) s.partitions.set(`${p.topicId}:${p.partition}`, p);
    for (const p of forget) s.partitions.delete(`${p.topicId}:${p.partition}`);
    if (epoch !== -1) s.epoch = s.epoch >= 0x7fffffff ? 1 : s.epoch + 1;
    return { session: s, replaced };
  }

  remove(groupId: string, memberId: string): void {
    this.sessions.delete(sessionKey(groupId, memberId));
  }

  /** The [group, member] of each session whose last request came on `connectionId`. */
  on(connectionId: number): [string, string][] {
    const out: [string, string][] = [];
    for (const [key, s] of this.sessions) {
      if (s.connectionId !== connectionId) continue;
      const i = key.indexOf("\u0000");
      out.push([key.slice(0, i), key.slice(i + 1)]);
    }
    return out;
  }
}
