// Long requests give the event loop a turn now and then, so that one request naming tens of
// thousands of partitions does not stall every other connection (issue #14.7). On this broker the
// event loop is the only request handler thread; Kafka has several (num.io.threads).

import { turn } from "../runtime/turn.ts";

/** Steps of work between turns. */
const EVERY = 1000;

export { turn };

/** What a WorkYielder tells before its first turn (RequestContext has it). */
export type TurnTaker = { keepOrder(): void };

/**
 * Counts the steps of one request's work across its loops, nested ones included. Before its first
 * turn it calls the request's keepOrder(): the connection then starts no later request until this
 * one is answered, so that a request yielding halfway through its entries still takes effect
 * entirely before the next one on its connection (Kafka handles one request per connection at a
 * time), not interleaved with it.
 */
export class WorkYielder {
  private steps = 0;
  private readonly ctx: TurnTaker | null;
  private held = false;

  constructor(ctx: TurnTaker | null = null) {
    this.ctx = ctx;
  }

  /** One step of work; every EVERY steps, a turn to await (else null, and nothing to wait for). */
  step(): Promise<void> | null {
    if (++this.steps % EVERY !== 0) return null;
    if (!this.held) {
      this.held = true;
      this.ctx?.keepOrder();
    }
    return turn();
  }

  /**
   * Promise.all(items.map(fn)) with a turn every EVERY items started (counted across calls). Small
   * arrays take the plain path.
   */
  async map<T, R>(items: readonly T[], fn: (item: T) => R | Promise<R>): Promise<R[]> {
    if ((this.steps % EVERY) + items.length < EVERY) {
      this.steps += items.length;
      return Promise.all(items.map(fn));
    }
    const out: (R | Promise<R>)[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const r = fn(items[i]);
      // Promise.all below reports a rejection; until then it must not count as unhandled.
      if (r instanceof Promise) r.catch(() => {});
      out[i] = r;
      const t = this.step();
      if (t !== null) await t;
    }
    return Promise.all(out);
  }
}
