// Operations still running, so a close can wait for them (the adapters' file handles track their
// syncs, which may run outside the handle's own queue).
export class InFlight {
  #ops = new Set<Promise<unknown>>();

  /** Returns `p`, remembered until it settles. */
  track<T>(p: Promise<T>): Promise<T> {
    this.#ops.add(p);
    const done = () => void this.#ops.delete(p);
    p.then(done, done);
    return p;
  }

  /** Resolves once everything tracked so far has settled (never rejects). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#ops]);
  }
}
