import type { TickerHolders } from '../../actors/portfolio/ticker-holders.ts';
import type { UserPortfolioState } from '../../actors/portfolio/user-portfolio-behavior.ts';
import { holdingView, totalsView } from '../../actors/portfolio/portfolio-views.ts';
import type { WorkerRuntime } from '../../actors/worker-runtime.ts';
import { followPrices } from '../market/price-reader.ts';
import type { StoredPriceTick } from '../market/price-tick.ts';
import { applyPrice } from '../portfolio/index.ts';
import type { DeltaCoalescer } from '../realtime/delta-coalescer.ts';
import type { HoldingView } from '../realtime/events.ts';
import type { AppContext } from '../runtime/context.ts';

export interface PriceRevaluation {
  /** Ticks read, and user revaluations they caused (for metrics and the benchmark). */
  stats(): { ticks: number; revaluations: number };
  stop(): Promise<void>;
}

/**
 * Revalues the active actors of this worker from the price streams. A tick goes only to the
 * users holding its ticker (TickerHolders); within one read batch, a user's ticks are folded
 * into one task run on its actor's state between batches, and the changed holdings go to the
 * delta coalescer. Cost per tick: the holders of that security, not the size of portfolios.
 */
export function startPriceRevaluation(
  ctx: AppContext,
  runtime: Pick<WorkerRuntime<UserPortfolioState>, 'tell'>,
  holders: TickerHolders,
  coalescer: Pick<DeltaCoalescer, 'push'>,
  options: { fromIds?: ReadonlyArray<string | undefined> } = {},
): PriceRevaluation {
  let ticks = 0;
  let revaluations = 0;
  const onBatch = (batch: StoredPriceTick[]) => {
    ticks += batch.length;
    const perUser = new Map<string, Map<string, StoredPriceTick>>();
    for (const tick of batch) {
      const users = holders.holders(tick.symbol);
      if (!users) continue;
      for (const userId of users) {
        let pending = perUser.get(userId);
        if (!pending) perUser.set(userId, (pending = new Map()));
        pending.set(tick.symbol, tick);
      }
    }
    for (const [userId, pending] of perUser) {
      const told = runtime.tell(userId, (state) => {
        const upserted: HoldingView[] = [];
        for (const [symbol, tick] of pending) {
          const key = state.tickers.get(symbol);
          if (!key) continue;
          const change = applyPrice(state.portfolio, key, { price: String(tick.price), asOf: new Date(tick.at).toISOString() });
          if (change?.holding) upserted.push(holdingView(change.holding));
        }
        if (upserted.length === 0) return;
        revaluations++;
        coalescer.push(userId, { totals: totalsView(state.portfolio.totals), upserted });
      });
      if (!told) holders.remove(userId);
    }
  };
  const follower = followPrices(ctx.redis, ctx.keys, { shards: ctx.config.PRICE_SHARDS, ...(options.fromIds ? { fromIds: options.fromIds } : {}) }, onBatch);
  follower.done.catch((err: unknown) => ctx.log.error({ err }, 'price revaluation stopped'));
  return {
    stats: () => ({ ticks, revaluations }),
    stop: () => follower.stop(),
  };
}
