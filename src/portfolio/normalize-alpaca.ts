import { z } from 'zod';
import { currencyCodeSchema } from './currency.ts';
import { dec, neg, str } from './decimal.ts';
import { decimalSchema, isoTimestamp, type NormalizedAccountData, type NormalizedBalance, type NormalizedPosition } from './normalized.ts';
import { parsePayload } from './payload-error.ts';
import { securityRef } from './security-identity.ts';

/**
 * Alpaca -> normalised positions and balances.
 *
 * Input: the body of `GET /v2/positions` (decimal strings: `symbol, qty, avg_entry_price,
 * current_price, lastday_price, side, asset_class, asset_id, exchange`) and of
 * `GET /v2/account` (`cash, buying_power, currency`). Alpaca accounts are USD and Alpaca
 * gives no FIGI, so a position's identity is its listing, `listing:<SYMBOL>@<MIC>:USD`, with
 * Alpaca's exchange names mapped to MICs (NASDAQ -> XNAS, NYSE -> XNYS, ARCA -> ARCX, ...).
 * `SecurityIndex` then merges it with the same listing seen at SnapTrade brokerages.
 *
 * - `qty` becomes `quantity`; a short position is negative (Alpaca reports it negative with
 *   `side: "short"`; a positive qty with `side: "short"` is negated).
 * - `avg_entry_price` becomes `averageCost`, `current_price` `price`, `lastday_price`
 *   `previousClose`. `market_value`, `cost_basis` and `unrealized_pl` are ignored: they are
 *   recomputed exactly from the above.
 * - The payload carries no as-of time: the caller passes when it fetched it.
 * - Alpaca holds no money-market funds: nothing is a cash equivalent.
 */

const ALPACA_CURRENCY = 'USD';

const positionSchema = z.object({
  symbol: z.string().trim().min(1, 'expected a symbol'),
  qty: decimalSchema,
  avg_entry_price: decimalSchema.nullish(),
  current_price: decimalSchema.nullish(),
  lastday_price: decimalSchema.nullish(),
  side: z.enum(['long', 'short']).nullish(),
  asset_class: z.string().nullish(),
  asset_id: z.string().nullish(),
  exchange: z.string().nullish(),
});

const positionsSchema = z.array(positionSchema);

const accountSchema = z.object({
  cash: decimalSchema,
  buying_power: decimalSchema.nullish(),
  currency: currencyCodeSchema.nullish(),
});

function present(value: string | null | undefined): value is string {
  return value !== null && value !== undefined;
}

function normalizePosition(raw: z.output<typeof positionSchema>): NormalizedPosition {
  const assetClass = raw.asset_class ?? 'us_equity';
  const quantity = dec(raw.qty);
  const signed = raw.side === 'short' && quantity.gt(0) ? neg(quantity) : quantity;
  const security = securityRef({
    ticker: raw.symbol,
    exchange: assetClass === 'crypto' ? 'CRYPTO' : raw.exchange,
    currency: ALPACA_CURRENCY,
    type: assetClass === 'us_equity' ? undefined : assetClass,
    cashEquivalent: false,
  });
  const position: NormalizedPosition = {
    security,
    quantity: str(signed),
    currency: ALPACA_CURRENCY,
    cashEquivalent: false,
  };
  if (present(raw.avg_entry_price)) position.averageCost = raw.avg_entry_price;
  if (present(raw.current_price)) position.price = raw.current_price;
  if (present(raw.lastday_price)) position.previousClose = raw.lastday_price;
  return position;
}

/** Body of `GET /v2/positions` -> positions. Throws `PayloadValidationError`. */
export function normalizeAlpacaPositions(body: unknown): NormalizedPosition[] {
  return parsePayload('alpaca.positions', positionsSchema, body).map(normalizePosition);
}

/** Body of `GET /v2/account` -> the account's cash. Throws `PayloadValidationError`. */
export function normalizeAlpacaBalances(body: unknown): NormalizedBalance[] {
  const account = parsePayload('alpaca.account', accountSchema, body);
  const balance: NormalizedBalance = { currency: account.currency ?? ALPACA_CURRENCY, cash: account.cash };
  if (present(account.buying_power)) balance.buyingPower = account.buying_power;
  return [balance];
}

/** Both bodies of one Alpaca sync, fetched at `fetchedAt` (ISO 8601) -> what goes into `positions.synced`. */
export function normalizeAlpacaAccount(bodies: { positions: unknown; account: unknown }, fetchedAt: string): NormalizedAccountData {
  return {
    asOf: isoTimestamp(fetchedAt),
    positions: normalizeAlpacaPositions(bodies.positions),
    balances: normalizeAlpacaBalances(bodies.account),
  };
}
