/**
 * Bounds how many actors use the database pool at once for one kind of work, so they queue here,
 * in order and without a deadline, rather than in the pool's queue, whose acquire timeout turns a
 * long queue into failures. Two gates share a worker's pool:
 * - activations: a worker taking over busy partitions (or a benchmark waking thousands of users)
 *   would otherwise queue every load at the same moment and starve the commits of running actors;
 * - commits: a backlog of thousands of users (a restart after an outage, a burst of first syncs)
 *   would otherwise queue as many commit transactions, and those behind the pool's 10 s would fail
 *   and be retried with a reload of their state, adding to the queue they failed in.
 */
export class PoolGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays counted.
      if (next) next();
      else this.active--;
    };
  }
}
