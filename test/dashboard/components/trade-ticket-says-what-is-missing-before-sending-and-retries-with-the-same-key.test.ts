// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { accountsResponse, orderListResponse, orderView, type OrderView } from '../../../src/api/schemas.ts';
import { renderTrading } from '../../../src/realtime/dashboard/browser/trade-ticket.ts';
import { answer, installFakeApi, refusal, type Answer, type SentRequest } from './fake-api.ts';
import { sampleOrder } from '../../support/sample-order.ts';
import { fakeSocket } from './fake-socket.ts';
import { ACCOUNT_ID } from './portfolio-fixtures.ts';

/**
 * trade-ticket.ts over a fake fetch (answers parsed by the API's schemas): a form the API would
 * refuse is said in words and nothing is sent; Place sends an Idempotency-Key that a retry of the
 * same form sends again (the API's word for a 503: retry with the same key), and a new form gets
 * a new one.
 */

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

function orderOf(key: string, fields: Partial<OrderView> = {}): OrderView {
  return sampleOrder({
    accountId: ACCOUNT_ID,
    clientOrderId: key,
    brokerageOrderId: 'alpaca-1',
    symbol: 'AAPL',
    routing: { accountId: ACCOUNT_ID, provider: 'alpaca', reason: 'internal-default: the internal Alpaca account' },
    submittedAt: '2026-06-02T14:00:00.000Z',
    updatedAt: '2026-06-02T14:00:00.000Z',
    ...fields,
  });
}

/** The order the API answers for a POST /api/orders: its key and quantity as sent. */
const placed = (r: SentRequest) => answer(orderView, orderOf(r.headers.get('idempotency-key')!, { quantity: (r.body as { quantity: string }).quantity }));

function mount(place: (request: SentRequest) => Answer) {
  const api = installFakeApi({
    'GET /api/orders': () => answer(orderListResponse, { orders: [], nextCursor: null }),
    'GET /api/accounts': () => answer(accountsResponse, { accounts: [] }),
    'POST /api/orders': place,
    'POST /api/orders/preview': () => refusal('FS_INTERNAL', 'not expected in this test'),
  });
  const container = document.body.appendChild(document.createElement('div'));
  renderTrading(container, fakeSocket().socket, 'token-1');
  const field = <T extends HTMLInputElement | HTMLSelectElement>(name: string) => container.querySelector<T>(`[name="${name}"]`)!;
  const fill = (name: string, value: string) => {
    field(name).value = value;
    field(name).dispatchEvent(new Event('change'));
  };
  const click = (testId: string) => container.querySelector<HTMLButtonElement>(`[data-testid="${testId}"]`)!.click();
  const result = container.querySelector<HTMLElement>('[data-testid="ticket-result"]')!;
  const orderKeys = () => api.sent('POST /api/orders').map((r) => r.headers.get('idempotency-key'));
  return { api, container, fill, click, result, orderKeys };
}

describe('the trade ticket', () => {
  it('says in words what the form lacks, and sends nothing', async () => {
    const { api, fill, click, result } = mount(placed);
    await expect.poll(() => api.requests.length).toBe(2); // the orders and accounts of the page
    click('place');
    expect(result.textContent).toBe('Enter a symbol (AAPL, SHOP.TO). Enter a quantity.');
    expect(result.className).toBe('ticket-result error');
    fill('symbol', 'AAPL');
    fill('quantity', '2');
    fill('type', 'limit');
    click('preview');
    expect(result.textContent).toBe('A limit order needs a limit price.');
    fill('limitPrice', '0');
    click('place');
    expect(result.textContent).toBe('The limit price must be a number above 0, with at most 4 decimals.');
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/orders?limit=20', 'GET /api/accounts']);
  });

  it('a retry of the same form sends the same Idempotency-Key; a changed form a new one', async () => {
    let refuseNext = true;
    const { fill, click, result, container, orderKeys } = mount((request) => {
      if (!refuseNext) return placed(request);
      refuseNext = false;
      return refusal('FS_BROKERAGE_UNAVAILABLE', 'Alpaca is not answering; retry with the same Idempotency-Key');
    });
    fill('symbol', 'AAPL');
    fill('quantity', '2');
    click('place');
    await expect.poll(() => result.textContent).toBe('Alpaca is not answering; retry with the same Idempotency-Key');
    click('place');
    await expect.poll(() => result.textContent).toBe('Order placed: Buy 2 AAPL. Accepted by the brokerage, waiting to fill.');
    const [first, retry] = orderKeys();
    expect(first).toMatch(/^[\x21-\x7e]{8,128}$/);
    expect(retry).toBe(first);
    expect(container.querySelector('[data-testid="orders"] tr[data-order-id] td[data-field="order"] .main')!.textContent).toBe('Buy 2 AAPL');
    // A new order (placed, so the key is spent; and another quantity) gets a new key.
    fill('quantity', '3');
    click('place');
    await expect.poll(() => result.textContent).toBe('Order placed: Buy 3 AAPL. Accepted by the brokerage, waiting to fill.');
    expect(orderKeys()).toHaveLength(3);
    expect(orderKeys()[2]).not.toBe(first);
  });
});
