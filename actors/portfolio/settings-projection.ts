import type { Knex } from '../../src/db/knex.ts';
import { aggregateHoldings, type PortfolioState } from '../../src/portfolio/index.ts';
import type { SettingsChangedPayload } from '../../src/users/settings-event.ts';
import { writeHoldings } from './portfolio-repository.ts';

/**
 * `settings.changed` in the user's actor, inside its fenced commit: the new base currency is stored
 * on the users row, the portfolio is aggregated again in it (the same accounts, the prices the
 * actor holds and its FX table, so every base figure moves at once: totals, each holding's value in
 * the base, day change), and every holdings row is rewritten with its value in the new base.
 * Returns the portfolio in the new base; the actor keeps it and tells the browser.
 */
export async function applySettingsChanged(
  tx: Knex.Transaction,
  userId: string,
  portfolio: PortfolioState,
  payload: SettingsChangedPayload,
): Promise<PortfolioState> {
  const { baseCurrency } = payload;
  await tx('users').where({ id: userId }).update({ base_currency: baseCurrency, updated_at: tx.fn.now() });
  const next = aggregateHoldings(portfolio.accounts, { baseCurrency, fx: portfolio.fx, prices: portfolio.prices });
  await writeHoldings(tx, userId, baseCurrency, [...next.holdings.values()], []);
  return next;
}
