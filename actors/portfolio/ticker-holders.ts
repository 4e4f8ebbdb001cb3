/**
 * Which active users of this worker hold each market-data ticker: the index a price tick is
 * routed through, so a tick costs work only for the users it touches. Entries are set when an
 * actor loads or commits and removed when it is passivated (or when a tick finds no actor for it).
 */
export class TickerHolders {
  private readonly byTicker = new Map<string, Set<string>>();
  private readonly byUser = new Map<string, ReadonlySet<string>>();
  /**
   * The same index for the watched users only (`watch`): a tick goes to a security's watched
   * holders without testing each of its holders. With every actor in memory a security has about
   * ten times as many holders as watched ones, and that test per holder and tick was a sixth of a
   * worker's CPU in bench:ticks.
   */
  private readonly watchedByTicker = new Map<string, Set<string>>();
  private watched: ReadonlySet<string> = new Set();

  set(userId: string, tickers: Iterable<string>): void {
    const next = new Set(tickers);
    const previous = this.byUser.get(userId);
    const watched = this.watched.has(userId);
    if (previous) {
      for (const ticker of previous) {
        if (next.has(ticker)) continue;
        unlink(this.byTicker, ticker, userId);
        if (watched) unlink(this.watchedByTicker, ticker, userId);
      }
    }
    for (const ticker of next) {
      link(this.byTicker, ticker, userId);
      if (watched) link(this.watchedByTicker, ticker, userId);
    }
    if (next.size) this.byUser.set(userId, next);
    else this.byUser.delete(userId);
  }

  remove(userId: string): void {
    const previous = this.byUser.get(userId);
    if (!previous) return;
    const watched = this.watched.has(userId);
    for (const ticker of previous) {
      unlink(this.byTicker, ticker, userId);
      if (watched) unlink(this.watchedByTicker, ticker, userId);
    }
    this.byUser.delete(userId);
  }

  holders(ticker: string): ReadonlySet<string> | undefined {
    return this.byTicker.get(ticker);
  }

  /** Sets who is watched (a copy is kept): `watchedHolders` then lists only them. */
  watch(users: Iterable<string>): void {
    const next = new Set(users);
    for (const userId of this.watched) {
      if (next.has(userId)) continue;
      for (const ticker of this.byUser.get(userId) ?? []) unlink(this.watchedByTicker, ticker, userId);
    }
    for (const userId of next) {
      if (this.watched.has(userId)) continue;
      for (const ticker of this.byUser.get(userId) ?? []) link(this.watchedByTicker, ticker, userId);
    }
    this.watched = next;
  }

  /** The watched users (as of the last `watch`) among the holders of `ticker`. */
  watchedHolders(ticker: string): ReadonlySet<string> | undefined {
    return this.watchedByTicker.get(ticker);
  }

  tickersOf(userId: string): string[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  get users(): number {
    return this.byUser.size;
  }
}

function link(index: Map<string, Set<string>>, ticker: string, userId: string): void {
  let users = index.get(ticker);
  if (!users) index.set(ticker, (users = new Set()));
  users.add(userId);
}

function unlink(index: Map<string, Set<string>>, ticker: string, userId: string): void {
  const users = index.get(ticker);
  if (!users) return;
  users.delete(userId);
  if (users.size === 0) index.delete(ticker);
}
