import { repricingView, totalsView } from '../../actors/portfolio/portfolio-views.ts';
import { loadFxTable } from '../../actors/portfolio/portfolio-repository.ts';
import type { UserPortfolioState } from '../../actors/portfolio/user-portfolio-behavior.ts';
import type { WorkerRuntime } from '../../actors/worker-runtime.ts';
import type { Knex } from '../db/knex.ts';
import type { Logger } from '../logging/logger.ts';
import { aggregateHoldings, holdingPriceText, liveTotals, type FxTable } from '../portfolio/index.ts';
import type { DeltaCoalescer } from '../realtime/delta-coalescer.ts';
import type { HoldingRepricing } from '../realtime/events.ts';

export interface FxReload {
  /** Checks for new rates now (the timer does it every `pollMs`); resolves with the actors revalued. */
  check(): Promise<number>;
  stop(): void;
}

/**
 * Exchange rates are market data like prices: the hourly FX job rewrites `fx_rates`, and each
 * worker, seeing newer rows (their `as_of`), revalues every portfolio it holds in memory with
 * them and pushes what moved. Without this an actor kept the rates it loaded at activation until
 * it was passivated (the API, which reads `fx_rates` on every request, would disagree with the
 * open page for hours).
 */
export function startFxReload(
  db: Knex,
  runtime: Pick<WorkerRuntime<UserPortfolioState>, 'tell' | 'activeUsers'>,
  coalescer: Pick<DeltaCoalescer, 'push'>,
  options: { pollMs: number; log: Logger },
): FxReload {
  // The rates the actors loaded at activation are the ones stored when the worker started.
  let seen: string | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const storedVersion = async (): Promise<string> => {
    const row = await db('fx_rates').max({ at: 'as_of' }).count({ n: '*' }).first();
    const at = row?.at as Date | string | null | undefined;
    return `${at instanceof Date ? at.toISOString() : String(at ?? '')}/${String(row?.n ?? 0)}`;
  };

  const check = async (): Promise<number> => {
    const version = await storedVersion();
    if (seen === undefined || version === seen) {
      seen = version;
      return 0;
    }
    const fx = await loadFxTable(db);
    seen = version;
    let revalued = 0;
    for (const userId of runtime.activeUsers()) {
      if (runtime.tell(userId, (state) => revalueWithRates(state, fx, coalescer))) revalued++;
    }
    options.log.info({ actors: revalued, pairs: fx.rates.size }, 'new exchange rates applied to the portfolios in memory');
    return revalued;
  };

  const poll = () => {
    check()
      .catch((err: unknown) => options.log.warn({ err }, 'checking for new exchange rates failed'))
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(poll, options.pollMs);
        timer.unref();
      });
  };
  poll();
  return {
    check,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Recomputes the portfolio with `fx` (same accounts, same prices) and pushes the holdings whose base values moved. */
function revalueWithRates(state: UserPortfolioState, fx: FxTable, coalescer: Pick<DeltaCoalescer, 'push'>): void {
  const before = new Map<string, HoldingRepricing>();
  for (const holding of state.portfolio.holdings.values()) before.set(holding.identityKey, repricingView(holdingPriceText(holding)));
  const totalsBefore = JSON.stringify(totalsView(liveTotals(state.portfolio)));
  state.portfolio = aggregateHoldings(state.portfolio.accounts, { baseCurrency: state.baseCurrency, fx, prices: state.portfolio.prices });
  const repriced: HoldingRepricing[] = [];
  for (const holding of state.portfolio.holdings.values()) {
    const view = repricingView(holdingPriceText(holding));
    if (JSON.stringify(view) !== JSON.stringify(before.get(holding.identityKey))) repriced.push(view);
  }
  const totals = totalsView(liveTotals(state.portfolio));
  if (repriced.length > 0 || JSON.stringify(totals) !== totalsBefore) coalescer.push(state.userId, { totals, repriced });
}
