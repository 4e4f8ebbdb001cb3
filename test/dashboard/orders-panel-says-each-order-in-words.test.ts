import { describe, expect, it } from 'vitest';
import { ORDER_STATUSES, type OrderRecord } from '../../src/trading/order-types.ts';
import { sampleOrder } from '../support/sample-order.ts';
import { STATUS_WORDS, cancellable, fillLine, orderPhrase, orderTerms } from '../../src/realtime/dashboard/browser/orders-model.ts';

/**
 * The orders panel's words (orders-model.ts): an order as a phrase, its terms with prices as money,
 * its status as a word a person knows (never the API's `partially_filled`), what filled at what
 * price, and Cancel only while the brokerage can still cancel.
 */

const order = (fields: Partial<OrderRecord>): OrderRecord => sampleOrder({ id: 'o1', quantity: '2.000000', ...fields });

describe('the orders panel says each order in words', () => {
  it('says the order as a phrase, by quantity or by value', () => {
    expect(orderPhrase(order({}), 'USD')).toBe('Buy 2 MSFT');
    expect(orderPhrase(order({ side: 'sell', quantity: '0.500000' }), 'USD')).toBe('Sell 0.5 MSFT');
    expect(orderPhrase(order({ quantity: null, notional: '500' }), 'USD')).toBe('Buy $500.00 of MSFT');
  });

  it('says the terms with prices as money in the account currency, stop before limit', () => {
    expect(orderTerms(order({}), 'USD')).toBe('Market · day');
    expect(orderTerms(order({ type: 'limit', limitPrice: '90', timeInForce: 'gtc' }), 'USD')).toBe('Limit $90.00 · good till canceled');
    expect(orderTerms(order({ type: 'stop_limit', stopPrice: '95', limitPrice: '94.5' }), 'CAD')).toBe('Stop limit CA$95.00 / CA$94.50 · day');
    // Without a known currency the price is a plain number, not dollars by guess.
    expect(orderTerms(order({ type: 'limit', limitPrice: '90.250000' }), null)).toBe('Limit 90.25 · day');
  });

  it('says what filled and at what price', () => {
    expect(fillLine(order({}), 'USD')).toBe('None filled');
    expect(fillLine(order({ quantity: '5', filledQuantity: '1', averageFillPrice: '99.1' }), 'USD')).toBe('1 of 5 filled at $99.10');
    expect(fillLine(order({ status: 'filled', filledQuantity: '2.000000', averageFillPrice: '85' }), 'USD')).toBe('2 of 2 filled at $85.00');
    expect(fillLine(order({ quantity: null, notional: '500' }), 'USD')).toBe('');
  });

  it('has a word for every status, none of them an API id, and Cancel only while the order is open', () => {
    for (const status of ORDER_STATUSES) {
      expect(STATUS_WORDS[status].word).toMatch(/^[A-Z][a-z]+( [a-z]+)?$/);
      expect(STATUS_WORDS[status].word).not.toContain('_');
    }
    expect(STATUS_WORDS.partially_filled.word).toBe('Partly filled');
    expect(STATUS_WORDS.accepted.word).toBe('Open');
    expect(ORDER_STATUSES.filter((status) => cancellable(order({ status })))).toEqual(['pending', 'submitted', 'accepted', 'partially_filled']);
  });
});
