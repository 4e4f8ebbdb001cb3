import { describe, expect, it } from 'vitest';
import { aggregateHoldings, type AccountPositions } from '../../src/portfolio/aggregate-holdings.ts';
import { EMPTY_FX_TABLE } from '../../src/portfolio/currency.ts';
import { normalizeAlpacaAccount } from '../../src/portfolio/normalize-alpaca.ts';
import { normalizeSnapTradeAccount } from '../../src/portfolio/normalize-snaptrade.ts';
import { AAPL, alpacaAccount, alpacaPosition, snapBalance, snapPosition, snapPositionsBody } from './provider-payloads.ts';

/*
 * AAPL held in three places:
 *   questrade (SnapTrade, FIGI given, exchange "XNAS")   10 units, cost 150, price 200 @ 14:30
 *   wealthsimple (SnapTrade, no FIGI, exchange "NASDAQ")   5 units, cost unknown, price 201 @ 14:00
 *   alpaca (listing NASDAQ -> XNAS, USD)                  20 units, cost 180, price 202 @ 14:45, prev close 198
 *
 * All three are one security: questrade's ref carries FIGI BBG000B9XRY4 and listing AAPL@XNAS:USD,
 * wealthsimple's the same SnapTrade id, alpaca's the same listing -> key figi:BBG000B9XRY4.
 *
 * quantity      = 10 + 5 + 20                  = 35
 * price         = newest reported = alpaca 202 (14:45)
 * market value  = 35 x 202                     = 7070   (questrade 2020, wealthsimple 1010, alpaca 4040)
 * cost basis    = 10 x 150 + 20 x 180          = 1500 + 3600 = 5100 over 30 units with a cost
 * average cost  = 5100 / 30                    = 170
 * unrealized    = 30 x 202 - 5100              = 960
 * day change    = 35 x (202 - 198)             = 140
 * positionsAsOf = oldest account as-of         = 14:00 (wealthsimple)
 * totals: invested 7070 + cash (1000 + 250 + 500) = 8820
 */
describe('AAPL at two SnapTrade brokerages and at Alpaca', () => {
  const questrade = normalizeSnapTradeAccount({
    positions: snapPositionsBody('2026-06-02T14:30:00Z', [snapPosition(AAPL, { units: '10', price: '200', cost_basis: '150' })]),
    balances: [snapBalance('USD', 1000)],
  });
  const wealthsimple = normalizeSnapTradeAccount({
    positions: snapPositionsBody('2026-06-02T14:00:00Z', [
      snapPosition({ ...AAPL, figi: undefined, exchange: 'NASDAQ' }, { units: '5', price: '201', cost_basis: null }),
    ]),
    balances: [snapBalance('USD', 250)],
  });
  const alpaca = normalizeAlpacaAccount(
    {
      positions: [
        alpacaPosition({ symbol: 'AAPL', qty: '20', avg_entry_price: '180', current_price: '202', lastday_price: '198', exchange: 'NASDAQ' }),
      ],
      account: alpacaAccount('500'),
    },
    '2026-06-02T14:45:00Z',
  );
  const account = (institution: string, data: typeof questrade): AccountPositions => ({ institution, currency: 'USD', ...data });
  const state = aggregateHoldings(
    new Map([
      ['acc-questrade', account('Questrade', questrade)],
      ['acc-wealthsimple', account('Wealthsimple', wealthsimple)],
      ['acc-alpaca', account('Alpaca', alpaca)],
    ]),
    { baseCurrency: 'USD', fx: EMPTY_FX_TABLE },
  );

  it('lands every position on one holding keyed by the FIGI', () => {
    expect([...state.holdings.keys()]).toEqual(['figi:BBG000B9XRY4']);
    const holding = state.holdings.get('figi:BBG000B9XRY4')!;
    expect(holding.security).toMatchObject({ ticker: 'AAPL', exchangeMic: 'XNAS', currency: 'USD', figi: 'BBG000B9XRY4' });
    expect(holding.accountCount).toBe(3);
  });

  it('sums quantity and value, and averages cost over the positions with a cost', () => {
    const h = state.holdings.get('figi:BBG000B9XRY4')!;
    expect(h).toMatchObject({
      quantity: '35',
      price: '202',
      priceSource: 'position',
      marketValue: '7070',
      costBasis: '5100',
      quantityWithCost: '30',
      averageCost: '170',
      unrealizedPnl: '960',
      previousClose: '198',
      dayChange: '140',
    });
    expect(h.accounts.map((a) => [a.accountId, a.quantity, a.averageCost, a.marketValue, a.price])).toEqual([
      ['acc-alpaca', '20', '180', '4040', '202'],
      ['acc-questrade', '10', '150', '2020', '202'],
      ['acc-wealthsimple', '5', null, '1010', '202'],
    ]);
  });

  it('reports the freshness of positions (oldest) and of the price', () => {
    const h = state.holdings.get('figi:BBG000B9XRY4')!;
    expect(h.positionsAsOf).toBe('2026-06-02T14:00:00.000Z');
    expect(h.priceAsOf).toBe('2026-06-02T14:45:00.000Z');
  });

  it('totals the holding and the three cash balances', () => {
    expect(state.totals).toMatchObject({ investedValue: '7070', cash: '1750', totalValue: '8820', costBasis: '5100', complete: true });
  });
});
