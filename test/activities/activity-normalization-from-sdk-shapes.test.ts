import type { trading } from '@alpacahq/alpaca-trade-api';
import type { AccountUniversalActivity } from 'snaptrade-typescript-sdk';
import { describe, expect, it } from 'vitest';
import type { NormalizedActivity } from '../../src/activities/activity.ts';
import { normalizeAlpacaActivities } from '../../src/activities/normalize-alpaca-activities.ts';
import { normalizeSnapTradeActivities } from '../../src/activities/normalize-snaptrade-activities.ts';
import { toWireShape } from '../../src/providers/alpaca/alpaca-provider.ts';

/**
 * Provider activities, typed with the SDKs' own models (SnapTrade's `AccountUniversalActivity`,
 * Alpaca's trade and non-trade activity models, turned into Alpaca's wire shape by the provider's
 * `toWireShape`, as the sync job does), each with the normalised activity it must become.
 * Pure: no I/O.
 */

const AAPL = { id: '2bcd7cc3-e922-4976-bce1-9858296801c3', symbol: 'AAPL' };

/** SnapTrade activity with the fields every row has; `over` sets the case's own. */
function snap(id: string, over: Partial<AccountUniversalActivity>): AccountUniversalActivity {
  return {
    id,
    symbol: null,
    option_symbol: null,
    currency_universal_symbol: null,
    price: 0,
    units: 0,
    amount: 0,
    currency: { code: 'USD' },
    type: 'BUY',
    option_type: '',
    description: `activity ${id}`,
    trade_date: '2026-03-22 16:27:55+00:00',
    settlement_date: '2026-03-24 00:00:00+00:00',
    fee: 0,
    fx_rate: null,
    institution: 'Robinhood',
    external_reference_id: null,
    ...over,
  } as AccountUniversalActivity;
}

type Expected = Partial<NormalizedActivity>;

const SNAPTRADE_CASES: [string, AccountUniversalActivity, Expected][] = [
  [
    'BUY: a buy, amount negative, the universal symbol id kept',
    snap('s-buy', { type: 'BUY', symbol: AAPL as never, units: 3, price: 210.5, amount: -631.5, external_reference_id: 'order-1' }),
    { type: 'buy', providerType: 'BUY', amount: '-631.5', units: '3', price: '210.5', symbol: 'AAPL', universalSymbolId: AAPL.id, currency: 'USD', externalReferenceId: 'order-1', tradeDate: '2026-03-22T16:27:55.000Z', settlementDate: '2026-03-24', fee: '0' },
  ],
  ['SELL: a sell', snap('s-sell', { type: 'SELL', symbol: AAPL as never, units: 1, price: 220, amount: 220 }), { type: 'sell', amount: '220' }],
  [
    'DIVIDEND: a dividend with its units and amount per share',
    snap('s-div', { type: 'DIVIDEND', symbol: AAPL as never, units: 10, price: 0.25, amount: 2.5 }),
    { type: 'dividend', amount: '2.5', units: '10', price: '0.25' },
  ],
  ['STOCK_DIVIDEND: a dividend', snap('s-sdiv', { type: 'STOCK_DIVIDEND', symbol: AAPL as never, units: 1 }), { type: 'dividend' }],
  ['REI: a dividend reinvested is a buy', snap('s-rei', { type: 'REI', symbol: AAPL as never, units: 0.01, price: 250, amount: -2.5 }), { type: 'buy', providerType: 'REI' }],
  ['INTEREST: interest', snap('s-int', { type: 'INTEREST', amount: 1.23 }), { type: 'interest', amount: '1.23', units: null, price: null, symbol: null }],
  ['FEE: a fee', snap('s-fee', { type: 'FEE', amount: -4.95 }), { type: 'fee', amount: '-4.95' }],
  ['TAX: a fee', snap('s-tax', { type: 'TAX', amount: -0.38 }), { type: 'fee', providerType: 'TAX' }],
  ['CONTRIBUTION: a deposit', snap('s-dep', { type: 'CONTRIBUTION', amount: 1000 }), { type: 'deposit', amount: '1000' }],
  ['WITHDRAWAL: a withdrawal', snap('s-wd', { type: 'WITHDRAWAL', amount: -250 }), { type: 'withdrawal', amount: '-250' }],
  ['TRANSFER: a transfer', snap('s-tr', { type: 'TRANSFER', amount: -500 }), { type: 'transfer' }],
  ['EXTERNAL_ASSET_TRANSFER_IN: a transfer', snap('s-tin', { type: 'EXTERNAL_ASSET_TRANSFER_IN', symbol: AAPL as never, units: 5, amount: 0 }), { type: 'transfer', units: '5' }],
  ['SPLIT: a split', snap('s-split', { type: 'SPLIT', symbol: AAPL as never, units: 30 }), { type: 'split', units: '30' }],
  ['OPTIONEXPIRATION: other, its type kept', snap('s-opt', { type: 'OPTIONEXPIRATION', option_symbol: { id: 'o1', ticker: 'AAPL  260320C00200000' } as never }), { type: 'other', providerType: 'OPTIONEXPIRATION', symbol: 'AAPL  260320C00200000', universalSymbolId: null }],
  ['an unknown type: other, its type kept', snap('s-new', { type: 'STAKING_REWARD', amount: 0.5 }), { type: 'other', providerType: 'STAKING_REWARD', amount: '0.5' }],
  [
    'no trade date: the settlement date stands in',
    snap('s-nodate', { type: 'INTEREST', amount: 0.1, trade_date: null, settlement_date: '2026-03-26T00:00:00Z' }),
    { tradeDate: '2026-03-26T00:00:00.000Z', settlementDate: '2026-03-26' },
  ],
  [
    'an amount in a security: no currency, the quote security named',
    snap('s-crypto', { type: 'BUY', currency: null, currency_universal_symbol: { symbol: 'USDC' } as never, amount: -10 }),
    { currency: null, amountSymbol: 'USDC' },
  ],
  ['no currency at all: the account currency', snap('s-nocur', { type: 'FEE', currency: null, amount: -1 }), { currency: 'CAD', amountSymbol: null }],
];

const ALPACA_CASES: [string, unknown, Expected][] = [
  [
    'FILL buy: amount = -qty x price, exactly',
    { id: '20260322102755000::f1', activityType: 'FILL', type: 'fill', side: 'buy', qty: '3', price: '189.37', symbol: 'JPM', transactionTime: new Date('2026-03-22T14:27:55Z'), orderId: 'ord-1', cumQty: '3', leavesQty: '0' } satisfies trading.TradingActivities,
    { type: 'buy', providerType: 'FILL', amount: '-568.11', units: '3', price: '189.37', symbol: 'JPM', currency: 'USD', externalReferenceId: 'ord-1', tradeDate: '2026-03-22T14:27:55.000Z' },
  ],
  [
    'FILL sell_short: a sell, amount positive',
    { id: 'f2', activityType: 'FILL', type: 'partial_fill', side: 'sell_short', qty: '0.5', price: '100.1', symbol: 'KO', transactionTime: new Date('2026-03-22T15:00:00Z') } satisfies trading.TradingActivities,
    { type: 'sell', amount: '50.05' },
  ],
  ['CSD: a deposit', { id: 'n1', activityType: 'CSD', netAmount: '2500', currency: 'USD', date: new Date('2026-03-20'), status: 'executed' } satisfies trading.NonTradeActivities, { type: 'deposit', amount: '2500', tradeDate: '2026-03-20T00:00:00.000Z' }],
  ['CSW: a withdrawal', { id: 'n2', activityType: 'CSW', netAmount: '-500.25', date: new Date('2026-03-20') } satisfies trading.NonTradeActivities, { type: 'withdrawal', amount: '-500.25', currency: 'USD' }],
  [
    'DIV: a dividend, created_at its time',
    { id: 'n3', activityType: 'DIV', netAmount: '4.85', qty: '10', perShareAmount: '0.485', symbol: 'KO', date: new Date('2026-03-20'), createdAt: new Date('2026-03-20T13:00:00Z') } satisfies trading.NonTradeActivities,
    { type: 'dividend', amount: '4.85', units: '10', price: '0.485', symbol: 'KO', tradeDate: '2026-03-20T13:00:00.000Z' },
  ],
  ['DIVNRA: tax withheld is a fee', { id: 'n4', activityType: 'DIVNRA', netAmount: '-0.73', symbol: 'KO', date: new Date('2026-03-20') } satisfies trading.NonTradeActivities, { type: 'fee', providerType: 'DIVNRA' }],
  ['INT: interest', { id: 'n5', activityType: 'INT', netAmount: '0.42', date: new Date('2026-03-20') } satisfies trading.NonTradeActivities, { type: 'interest' }],
  ['TRANS out: a withdrawal', { id: 'n6', activityType: 'TRANS', netAmount: '-10', date: new Date('2026-03-20') } satisfies trading.NonTradeActivities, { type: 'withdrawal' }],
  ['TRANS in: a deposit', { id: 'n7', activityType: 'TRANS', netAmount: '10', date: new Date('2026-03-20') } satisfies trading.NonTradeActivities, { type: 'deposit' }],
  ['JNLC: a transfer', { id: 'n8', activityType: 'JNLC', netAmount: '100', date: new Date('2026-03-20') } satisfies trading.NonTradeActivities, { type: 'transfer' }],
  ['SPLIT: a split', { id: 'n9', activityType: 'SPLIT', qty: '10', symbol: 'NVDA', date: new Date('2026-03-20') } satisfies trading.NonTradeActivities, { type: 'split', amount: null }],
  ['OPEXP: other', { id: 'n10', activityType: 'OPEXP', date: new Date('2026-03-20') } satisfies trading.NonTradeActivities, { type: 'other', providerType: 'OPEXP' }],
  ['an unknown type: other, its type kept', { id: 'n11', activityType: 'NEWTHING' as trading.ActivityType, netAmount: '1', date: new Date('2026-03-20') }, { type: 'other', providerType: 'NEWTHING' }],
];

describe('SnapTrade activities normalise', () => {
  it.each(SNAPTRADE_CASES)('%s', (_name, activity, expected) => {
    const batch = normalizeSnapTradeActivities([activity], 'CAD');
    expect(batch.rejected).toEqual([]);
    expect(batch.activities).toEqual([expect.objectContaining({ providerActivityId: activity.id, ...expected })]);
  });

  it('leaves out what cannot be read, naming the field, keeps the rest, and keeps each id once', () => {
    const good = snap('s-ok', { type: 'DIVIDEND', amount: 1 });
    const batch = normalizeSnapTradeActivities(
      [good, snap('s-undated', { trade_date: null, settlement_date: undefined as never }), { ...snap('', {}), id: '' }, snap('s-bad', { amount: 'lots' as never }), good],
      'USD',
    );
    expect(batch.activities.map((a) => a.providerActivityId)).toEqual(['s-ok']);
    expect(batch.rejected).toEqual([
      { index: 1, providerActivityId: 's-undated', problems: ['trade_date: expected a trade or settlement date'] },
      { index: 2, providerActivityId: null, problems: ['id: expected the activity id'] },
      { index: 3, providerActivityId: 's-bad', problems: ['amount: expected a decimal number'] },
    ]);
    expect(normalizeSnapTradeActivities({ data: [] }, 'USD').rejected[0]!.problems).toEqual(['(root): expected a list of activities']);
  });
});

describe('Alpaca activities normalise', () => {
  it.each(ALPACA_CASES)('%s', (_name, model, expected) => {
    const wire = toWireShape(model) as { id: string };
    const batch = normalizeAlpacaActivities([wire]);
    expect(batch.rejected).toEqual([]);
    expect(batch.activities).toEqual([expect.objectContaining({ providerActivityId: wire.id, ...expected })]);
  });

  it("reports a fill's own problems", () => {
    const batch = normalizeAlpacaActivities([toWireShape({ id: 'f', activityType: 'FILL', side: 'buy', qty: '1', symbol: 'KO', transactionTime: new Date() })]);
    expect(batch.rejected).toEqual([{ index: 0, providerActivityId: 'f', problems: ['price: expected a decimal number'] }]);
  });
});
