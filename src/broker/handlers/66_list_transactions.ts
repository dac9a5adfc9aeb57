// ListTransactions (key 66), v0-2. Filters by state (unknown state names are echoed back in
// unknownStateFilters), by producer id, (v1+) by running longer than durationFilter ms, and (v2+) by
// transactionalIdPattern, a regular expression the whole id must match (Java's Pattern.matches; an
// empty or null pattern matches all). A pattern that does not compile answers INVALID_REGULAR_EXPRESSION.
import { ErrorCode } from "../../protocol/errors.ts";
import { ListTransactions } from "../../protocol/messages/66_list_transactions.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

const STATES = [
  "Empty",
  "Ongoing",
  "PrepareCommit",
  "PrepareAbort",
  "CompleteCommit",
  "CompleteAbort",
  "Dead",
  "PrepareEpochFence",
];

export default defineHandler(ListTransactions, [0, 2], LARGE_RESPONSE, (req, ctx) => {
  const now = ctx.services.now();
  const states = new Set(req.stateFilters);
  const pids = new Set(req.producerIdFilters);
  const minDuration = ctx.apiVersion >= 1 ? Number(req.durationFilter) : -1;
  let pattern: RegExp | null = null;
  if (ctx.apiVersion >= 2 && req.transactionalIdPattern) {
    try {
      pattern = new RegExp(`^(?:${req.transactionalIdPattern})$`, "u");
    } catch {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION,
        unknownStateFilters: [],
        transactionStates: [],
      };
    }
  }
  const transactionStates = [];
  for (const t of ctx.services.txns.list()) {
    // ACLs: only transactional ids the principal may DESCRIBE.
    if (!allowed(ctx, Op.DESCRIBE, Res.TRANSACTIONAL_ID, t.transactionalId)) continue;
    if (states.size > 0 && !states.has(t.state)) continue;
    if (pids.size > 0 && !pids.has(t.producerId)) continue;
    if (pattern && !pattern.test(t.transactionalId)) continue;
    if (minDuration >= 0 && !(t.state === "Ongoing" && now - t.startTimestamp > minDuration)) continue;
    transactionStates.push({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.state });
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    unknownStateFilters: req.stateFilters.filter((s) => !STATES.includes(s)),
    transactionStates,
  };
});
