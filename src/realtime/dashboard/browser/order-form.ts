/**
 * The trade ticket's checks before any request: what `POST /api/orders` and its preview would
 * refuse in the form itself (no symbol, no quantity, a price the order type needs, a number that
 * is not a positive decimal), said in words beside the ticket, so the person fixes the form
 * without a round trip. The server checks again (`orderRequest` in src/api/schemas.ts) and stays
 * the authority; a test holds both to the same verdicts on the forms the ticket can send.
 */

/** The ticket's form, as it sends it. */
export interface OrderForm {
  accountId?: string;
  symbol: string;
  side: string;
  type: string;
  quantity: string;
  limitPrice?: string;
  stopPrice?: string;
  timeInForce: string;
}

const TICKER = /^[A-Za-z0-9][A-Za-z0-9.\-/]*$/;

/** A decimal above 0 and at most 1e12, with at most `places` decimals (trailing zeros aside). */
function positiveDecimal(text: string, places: number): boolean {
  if (!/^\d+(\.\d+)?$/.test(text)) return false;
  const fraction = (text.split('.')[1] ?? '').replace(/0+$/, '');
  const value = Number(text);
  return fraction.length <= places && value > 0 && value <= 1e12;
}

/** What is wrong with `form`, one sentence each; empty when the API would take it. */
export function orderFormProblems(form: OrderForm): string[] {
  const problems: string[] = [];
  const symbol = form.symbol.trim();
  if (!symbol) problems.push('Enter a symbol (AAPL, SHOP.TO).');
  else if (symbol.length > 21 || !TICKER.test(symbol)) problems.push('The symbol is a ticker: letters, digits, ".", "-" or "/".');
  const quantity = form.quantity.trim();
  if (!quantity) problems.push('Enter a quantity.');
  else if (!positiveDecimal(quantity, 9)) problems.push('The quantity must be a number above 0, with at most 9 decimals.');
  for (const [price, name] of [
    [form.limitPrice, 'limit'],
    [form.stopPrice, 'stop'],
  ] as const) {
    if (price === undefined) continue;
    if (!price.trim()) problems.push(`A ${form.type.replace('_', ' ')} order needs a ${name} price.`);
    else if (!positiveDecimal(price.trim(), 4)) problems.push(`The ${name} price must be a number above 0, with at most 4 decimals.`);
  }
  return problems;
}
