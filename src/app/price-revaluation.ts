import type { TickerHolders } from '../../actors/portfolio/ticker-holders.ts';
import type { UserPortfolioState } from '../../actors/portfolio/user-portfolio-behavior.ts';
import { preparedRepricing, repricingView, totalsView } from '../../actors/portfolio/portfolio-views.ts';
import type { WorkerRuntime } from '../../actors/worker-runtime.ts';
import { followPrices } from '../market/price-reader.ts';
import type { StoredPriceTick } from '../market/price-tick.ts';
import { aggregateHoldings, applyLiveQuoteAt, holdingPriceText, liveSlot, liveTotals, quoteAt, quoteTime, type Holding, type LiveSlot, type PriceQuote } from '../portfolio/index.ts';
import type { DeltaCoalescer } from '../realtime/delta-coalescer.ts';
import type { ChangedPrice } from '../realtime/events.ts';
import type { PresenceView } from '../realtime/presence.ts';
import { readLastPrices } from '../market/price-reader.ts';
import { PreviousCloseBook } from '../market/previous-closes.ts';
import type { AppContext } from '../runtime/context.ts';

/**
 * How a tick revalues a user's portfolio.
 * - `incremental` (the product): `applyLiveQuote` revalues the one holding the tick prices and moves
 *   the totals by its difference, as numbers (the actor settles them into objects before it next
 *   applies events); exact, so equal to a full recomputation digit for digit.
 * - `naive`: the baseline of `npm run bench:ticks` (`PRICE_REVALUATION_MODE=naive`): every tick
 *   recomputes the whole portfolio with `aggregateHoldings` over the actor's accounts. Same
 *   results, same deltas; only the cost of the revaluation differs.
 */
export type PriceRevaluationMode = 'incremental' | 'naive';

export interface PriceRevaluationStats {
  /** Ticks read from the price streams (those skipped as superseded included). */
  ticks: number;
  /** Actor tasks run (one per user per read batch with a tick the user holds). */
  revaluations: number;
  /** Read batches handled. */
  batches: number;
  /** Epoch ms of the newest price-stream entry handled (from its entry id), 0 before the first. */
  lastEntryMs: number;
  /** Users in the ticker index (loaded actors holding a quoted security). */
  indexedUsers: number;
}

export interface PriceRevaluation {
  /** Counters (for metrics and the benchmark). */
  stats(): PriceRevaluationStats;
  stop(): Promise<void>;
}

export interface PriceRevaluationOptions {
  fromIds?: ReadonlyArray<string | undefined>;
  /** @default 'incremental' */
  mode?: PriceRevaluationMode;
  /**
   * Only users someone watches (a browser open) are revalued on ticks; when a user becomes
   * watched, their actor first catches up with the last prices, and a watched user without an
   * actor here gets one (the runtime's `activate`: loaded, valued with the last prices) when this
   * worker owns their partition. Without it, every active actor holding the security is
   * revalued.
   */
  presence?: PresenceView;
  /** How often the presence view is re-read. @default 1000 */
  presencePollMs?: number;
  /** The price streams are read at most this often (`tailPrices`' `readIntervalMs`). @default 0 */
  readIntervalMs?: number;
}

const entryMs = (id: string): number => Number(id.slice(0, id.indexOf('-')));

/**
 * Revalues the active actors of this worker from the price streams. A read batch is first folded
 * to the newest tick of each security (an older tick of the same security in the same batch
 * changes nothing the newer one does not overwrite), then each tick goes only to the users
 * holding its ticker (TickerHolders); a user's ticks of the batch become one task run on its
 * actor's state between event batches, and the changed holdings go to the delta coalescer.
 * Cost per batch: the holders of the securities that ticked, not the ticks nor the size of
 * portfolios.
 */
export function startPriceRevaluation(
  ctx: AppContext,
  runtime: Pick<WorkerRuntime<UserPortfolioState>, 'tell'> & Partial<Pick<WorkerRuntime<UserPortfolioState>, 'activate'>>,
  holders: TickerHolders,
  coalescer: Pick<DeltaCoalescer, 'push'>,
  options: PriceRevaluationOptions = {},
): PriceRevaluation {
  const mode = options.mode ?? 'incremental';
  const revalue = mode === 'naive' ? revalueNaive : revalueIncremental;
  const stats: Omit<PriceRevaluationStats, 'indexedUsers'> = { ticks: 0, revaluations: 0, batches: 0, lastEntryMs: 0 };
  const presence = options.presence;
  // The previous close each tick's quote carries (the day change), reloaded when the market role rewrites them.
  const closes = new PreviousCloseBook(ctx.redis, ctx.keys);
  const onBatch = createTickBatchHandler({ runtime, holders, coalescer, revalue, stats, closes, watchedOnly: presence !== undefined });
  /** A newly watched user's actor has skipped ticks: bring it to the last prices, then push. */
  const catchUp = async (userId: string) => {
    const tickers = holders.tickersOf(userId);
    if (tickers.length === 0) return;
    const prices = await readLastPrices(ctx.redis, ctx.keys, tickers);
    const ticks = [...prices].map(([symbol, p]) => ({ symbol, quote: quoteAt(p.price, p.at, p.previousClose) }));
    runtime.tell(userId, (state) => {
      const repriced = revalue(state, ticks);
      if (repriced.length) coalescer.push(userId, { totals: totalsView(liveTotals(state.portfolio)), repriced });
    });
  };
  /**
   * Every watched user whose partition this worker owns has an actor here: one who just became
   * watched, and one whose actor was passivated or whose partition moved here since. The runtime
   * answers at once for users it does not own or already has; loads go through its activation
   * gate, and none passivates another watched user's actor (no thrashing past MAX_ACTIVE_ACTORS).
   */
  const activateWatched = async () => {
    const activate = runtime.activate;
    if (!activate || !presence) return;
    await Promise.all(Array.from(presence.users(), (userId) => activate(userId)));
  };
  let presenceTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  if (presence) {
    const poll = () => {
      if (stopped) return;
      presence
        .refresh()
        .then((joined) => {
          holders.watch(presence.users());
          return Promise.all(joined.map(catchUp));
        })
        .then(activateWatched)
        .catch((err: unknown) => ctx.log.warn({ err }, 'presence refresh failed'))
        .finally(() => {
          if (stopped) return;
          presenceTimer = setTimeout(poll, options.presencePollMs ?? 1_000);
          presenceTimer.unref();
        });
    };
    poll();
  }
  let closesTimer: NodeJS.Timeout | undefined;
  const refreshCloses = () => {
    closes
      .refresh()
      .catch((err: unknown) => ctx.log.warn({ err }, 'reading previous closes failed'))
      .finally(() => {
        if (stopped) return;
        closesTimer = setTimeout(refreshCloses, options.presencePollMs ?? 1_000);
        closesTimer.unref();
      });
  };
  refreshCloses();
  // Behind, the reader reads on to the streams' end and keeps the newest tick per security
  // (`catchUpEntries`): overload skips superseded ticks instead of queueing them.
  const follower = followPrices(
    ctx.redis,
    ctx.keys,
    {
      shards: ctx.config.PRICE_SHARDS,
      readIntervalMs: options.readIntervalMs ?? 0,
      onRead: (entries) => (stats.ticks += entries),
      ...(options.fromIds ? { fromIds: options.fromIds } : {}),
    },
    onBatch,
  );
  follower.done.catch((err: unknown) => ctx.log.error({ err }, 'price revaluation stopped'));
  return {
    stats: () => ({ ...stats, indexedUsers: holders.users }),
    stop: async () => {
      stopped = true;
      clearTimeout(presenceTimer);
      clearTimeout(closesTimer);
      await follower.stop();
    },
  };
}

/** What a read batch of ticks is applied with (see `createTickBatchHandler`). */
export interface TickBatchDeps {
  runtime: Pick<WorkerRuntime<UserPortfolioState>, 'tell'>;
  holders: TickerHolders;
  coalescer: Pick<DeltaCoalescer, 'push'>;
  revalue: (state: UserPortfolioState, ticks: readonly QuotedTick[]) => ChangedPrice[];
  stats: Pick<PriceRevaluationStats, 'batches' | 'revaluations' | 'lastEntryMs'>;
  /** Previous closes by symbol (the day change a tick's quote carries). */
  closes: Pick<PreviousCloseBook, 'get'>;
  /**
   * Only the watched users are revalued: a tick goes to `holders.watchedHolders` (kept current
   * with `holders.watch`) instead of every holder.
   */
  watchedOnly?: boolean;
}

/**
 * The handler of one read batch of ticks. The batch is first folded to the newest tick of each
 * security (an older tick of the same security in the same batch changes nothing the newer one
 * does not overwrite), then each tick goes only to the (watched) users holding its ticker; a
 * user's ticks of the batch become one task run on its actor's state between event batches, and
 * the changed holdings go to the delta coalescer.
 */
export function createTickBatchHandler(deps: TickBatchDeps): (batch: readonly StoredPriceTick[]) => void {
  const { runtime, holders, coalescer, revalue, stats, closes, watchedOnly } = deps;
  return (batch) => {
    stats.batches += 1;
    // Newest tick per security: ticks of one security come from one shard, in stream order.
    const newest = new Map<string, StoredPriceTick>();
    for (const tick of batch) {
      newest.set(tick.symbol, tick);
      const ms = entryMs(tick.id);
      if (ms > stats.lastEntryMs) stats.lastEntryMs = ms;
    }
    const perUser = new Map<string, QuotedTick[]>();
    for (const tick of newest.values()) {
      const users = watchedOnly ? holders.watchedHolders(tick.symbol) : holders.holders(tick.symbol);
      if (!users) continue;
      // One quote object per tick, shared by every portfolio it is applied to.
      let quoted: QuotedTick | undefined;
      for (const userId of users) {
        quoted ??= quotedTick(tick, closes);
        const pending = perUser.get(userId);
        if (pending) pending.push(quoted);
        else perUser.set(userId, [quoted]);
      }
    }
    for (const [userId, pending] of perUser) {
      const told = runtime.tell(userId, (state) => {
        const repriced = revalue(state, pending);
        if (repriced.length === 0) return;
        stats.revaluations++;
        coalescer.push(userId, { totals: totalsView(liveTotals(state.portfolio)), repriced });
      });
      if (!told) holders.remove(userId);
    }
  };
}

export interface QuotedTick {
  symbol: string;
  quote: PriceQuote;
}

function quotedTick(tick: Pick<StoredPriceTick, 'symbol' | 'price' | 'at'>, closes: Pick<PreviousCloseBook, 'get'>): QuotedTick {
  return { symbol: tick.symbol, quote: quoteAt(tick.price, tick.at, closes.get(tick.symbol)) };
}

export function revalueIncremental(state: UserPortfolioState, ticks: readonly QuotedTick[]): ChangedPrice[] {
  const repriced: ChangedPrice[] = [];
  for (const tick of ticks) {
    const slot = liveSlotOf(state, tick.symbol);
    if (slot === null) continue;
    const moved = applyLiveQuoteAt(slot, tick.quote);
    if (moved) repriced.push(preparedRepricing(moved));
  }
  return repriced;
}

/** The live slot of `symbol` in the user's portfolio (`null` when no holding has that ticker). */
export function liveSlotOf(state: UserPortfolioState, symbol: string): LiveSlot | null {
  let live = state.liveSlots;
  // A new portfolio state or ticker map (a commit, new FX rates, a deletion) starts a new set.
  if (live === undefined || live.portfolio !== state.portfolio || live.tickers !== state.tickers) {
    live = state.liveSlots = { portfolio: state.portfolio, tickers: state.tickers, slots: new Map() };
  }
  let slot = live.slots.get(symbol);
  if (slot === undefined) {
    const key = state.tickers.get(symbol);
    slot = key === undefined ? null : liveSlot(state.portfolio, key);
    live.slots.set(symbol, slot);
  }
  return slot;
}

/** The baseline: every tick stores its quote and recomputes the whole portfolio. */
export function revalueNaive(state: UserPortfolioState, ticks: readonly QuotedTick[]): ChangedPrice[] {
  const changed: string[] = [];
  for (const { symbol, quote } of ticks) {
    const key = state.tickers.get(symbol);
    if (!key) continue;
    const prices = state.portfolio.prices;
    const stored = prices.get(key);
    // Out-of-order ticks are ignored, as applyQuote does.
    if (stored !== undefined && quoteTime(stored) > quoteTime(quote)) continue;
    prices.set(key, quote);
    // aggregateHoldings copies `prices` into the new state.
    state.portfolio = aggregateHoldings(state.portfolio.accounts, { baseCurrency: state.baseCurrency, fx: state.portfolio.fx, prices });
    changed.push(key);
  }
  const repriced: ChangedPrice[] = [];
  for (const key of new Set(changed)) {
    const holding: Holding | undefined = state.portfolio.holdings.get(state.portfolio.keyByFacet.get(key) ?? key);
    if (holding) repriced.push(repricingView(holdingPriceText(holding)));
  }
  return repriced;
}
