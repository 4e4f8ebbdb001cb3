import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderRequest } from '../../src/api/schemas.ts';
import { orderFormProblems, type OrderForm } from '../../src/realtime/dashboard/browser/order-form.ts';

/**
 * The trade ticket's own checks (order-form.ts) against the API's (`orderRequest`): on every form
 * the ticket can send (a quantity field always, a limit or stop price exactly when the type shows
 * it), the ticket finds a problem exactly when the API would refuse it. The oracle is the schema
 * the server validates with, not the code under test.
 */

const TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const;
const symbols = fc.constantFrom('', ' ', 'AAPL', 'shop.to', ' BRK/B ', 'BRK-B', '-X', '.A', 'A B', 'A'.repeat(21), 'A'.repeat(22), 'ÄPPL', '7203');
const numbers = fc.constantFrom('', ' ', '0', '0.0', '1', ' 2 ', '0.5', '00.10', '1.123456789', '1.1234567891', '1.1234567890', '1.1234', '1.12345', '-1', 'abc', '1e3', '1,5', '.5', '5.', '1000000000000', '1000000000000.5');

const forms = fc.record({ symbol: symbols, type: fc.constantFrom(...TYPES), quantity: numbers, limit: numbers, stop: numbers }).map(
  ({ symbol, type, quantity, limit, stop }): OrderForm => ({
    symbol: symbol.trim(),
    side: 'buy',
    type,
    quantity: quantity.trim(),
    ...(type === 'limit' || type === 'stop_limit' ? { limitPrice: limit.trim() } : {}),
    ...(type === 'stop' || type === 'stop_limit' ? { stopPrice: stop.trim() } : {}),
    timeInForce: 'day',
  }),
);

describe("the ticket's checks", () => {
  it('find a problem exactly when the API would refuse the form', () => {
    fc.assert(
      fc.property(forms, (form) => {
        expect({ form, refused: orderFormProblems(form).length > 0 }).toEqual({ form, refused: !orderRequest.safeParse(form).success });
      }),
      { numRuns: 2_000 },
    );
  });

  it('say each problem in words', () => {
    expect(orderFormProblems({ symbol: '', side: 'buy', type: 'stop_limit', quantity: '', limitPrice: '', stopPrice: '1.12345', timeInForce: 'day' })).toEqual([
      'Enter a symbol (AAPL, SHOP.TO).',
      'Enter a quantity.',
      'A stop limit order needs a limit price.',
      'The stop price must be a number above 0, with at most 4 decimals.',
    ]);
  });
});
