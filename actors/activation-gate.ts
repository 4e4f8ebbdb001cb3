/**
 * Bounds how many actors load their state at once. A worker taking over busy partitions (or a
 * benchmark waking thousands of users) would otherwise queue every activation on the database
 * pool at the same moment, starving the commits of actors that are already running until the
 * pool's acquire timeout fails them all.
 */
export class ActivationGate {
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
