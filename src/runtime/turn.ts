// A turn of the event loop, for long work that must not stall every other connection: the broker's
// request handlers (src/broker/yield.ts) and the storage engines' compaction and cleaning passes.

/** A macrotask turn: timers and I/O of other connections run before it resolves. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
