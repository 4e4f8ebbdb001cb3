/**
 * Which active users of this worker hold each market-data ticker: the index a price tick is
 * routed through, so a tick costs work only for the users it touches. Entries are set when an
 * actor loads or commits and removed when it is passivated (or when a tick finds no actor for it).
 */
export class TickerHolders {
  private readonly byTicker = new Map<string, Set<string>>();
  private readonly byUser = new Map<string, ReadonlySet<string>>();

  set(userId: string, tickers: Iterable<string>): void {
    const next = new Set(tickers);
    const previous = this.byUser.get(userId);
    if (previous) {
      for (const ticker of previous) if (!next.has(ticker)) this.unlink(ticker, userId);
    }
    for (const ticker of next) {
      let users = this.byTicker.get(ticker);
      if (!users) this.byTicker.set(ticker, (users = new Set()));
      users.add(userId);
    }
    if (next.size) this.byUser.set(userId, next);
    else this.byUser.delete(userId);
  }

  remove(userId: string): void {
    const previous = this.byUser.get(userId);
    if (!previous) return;
    for (const ticker of previous) this.unlink(ticker, userId);
    this.byUser.delete(userId);
  }

  holders(ticker: string): ReadonlySet<string> | undefined {
    return this.byTicker.get(ticker);
  }

  tickersOf(userId: string): string[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  get users(): number {
    return this.byUser.size;
  }

  private unlink(ticker: string, userId: string): void {
    const users = this.byTicker.get(ticker);
    if (!users) return;
    users.delete(userId);
    if (users.size === 0) this.byTicker.delete(ticker);
  }
}
