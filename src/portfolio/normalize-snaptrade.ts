import { z } from 'zod';
import { currencyCodeSchema } from './currency.ts';
import { add, dec, mul, str, sub, ZERO, type Decimal } from './decimal.ts';
import {
  decimalSchema,
  timestampSchema,
  type NormalizedAccountData,
  type NormalizedBalance,
  type NormalizedPosition,
} from './normalized.ts';
import { parsePayload, PayloadValidationError } from './payload-error.ts';
import { securityRef } from './security-identity.ts';

/**
 * SnapTrade -> normalised positions and balances.
 *
 * Input: the bodies of `GET /accounts/{id}/positions/all` (`AllAccountPositionsResponse`:
 * `{results: AccountPosition[], data_freshness: {as_of}}`) and `GET /accounts/{id}/balances`
 * (`Balance[]`). Field names are the spec's. `AccountPosition.instrument` is the canonical
 * form (flat: `id, symbol, raw_symbol, currency: "USD", exchange: "XNAS",
 * figi_instrument.figi_code`, `kind`); for robustness the older `Position` form is accepted
 * too (`symbol.symbol` = UniversalSymbol with `currency.code`, `exchange.mic_code`,
 * `figi_code`, `type.code`; `average_purchase_price` instead of `cost_basis`).
 *
 * - `cost_basis` ("book price or average purchase price", per unit, per contract for options)
 *   becomes `averageCost`; `units` becomes `quantity` (negative = short). A position without
 *   units cannot be valued: the payload is rejected.
 * - `price` is per share; for options it is multiplied by the contract multiplier so that
 *   quantity x price and quantity x averageCost are both per contract.
 * - Position currency = `currency` (of `price` and `cost_basis`), else the listing currency.
 *
 * Cash rule (see also `aggregate-holdings.ts`): SnapTrade's `Balance.cash` *includes* money
 * market funds that are also returned as positions with `cash_equivalent: true`. Those are
 * valued as holdings, so their value (units x price, in the balance's currency) is taken out
 * of `cash` here; the provider's figure is kept as `reportedCash`. Cash is never counted twice.
 */

const currencyField = z.union([currencyCodeSchema, z.object({ code: currencyCodeSchema })]);

const codeOrObject = z.union([z.string(), z.object({ code: z.string().nullish(), mic_code: z.string().nullish() })]);

const instrumentSchema = z.object({
  kind: z.string().nullish(),
  id: z.string().min(1, 'expected the SnapTrade instrument id'),
  symbol: z.string().min(1, 'expected a symbol'),
  raw_symbol: z.string().nullish(),
  root_symbol: z.string().nullish(),
  description: z.string().nullish(),
  currency: currencyField.nullish(),
  exchange: codeOrObject.nullish(),
  figi_code: z.string().nullish(),
  figi_instrument: z.object({ figi_code: z.string().nullish() }).nullish(),
  type: z.object({ code: z.string().nullish() }).nullish(),
  multiplier: decimalSchema.nullish(),
  underlying: z.object({ currency: currencyField.nullish() }).nullish(),
});

type Instrument = z.output<typeof instrumentSchema>;

const positionSchema = z
  .object({
    instrument: instrumentSchema.optional(),
    symbol: z.object({ symbol: instrumentSchema }).optional(),
    units: decimalSchema.nullish(),
    price: decimalSchema.nullish(),
    cost_basis: decimalSchema.nullish(),
    average_purchase_price: decimalSchema.nullish(),
    currency: currencyField.nullish(),
    cash_equivalent: z.boolean().nullish(),
  })
  .refine((p) => p.instrument !== undefined || p.symbol !== undefined, {
    message: 'expected an `instrument` (or legacy `symbol.symbol`)',
  })
  .refine((p) => p.units !== null && p.units !== undefined, {
    message: 'units is missing: a position without a quantity cannot be valued',
    path: ['units'],
  });

const positionsResponseSchema = z.object({
  results: z.array(positionSchema),
  data_freshness: z.object({ as_of: timestampSchema }),
});

const balancesSchema = z.array(
  z.object({
    currency: z.object({ code: currencyCodeSchema }),
    cash: decimalSchema.nullish(),
    buying_power: decimalSchema.nullish(),
  }),
);

function codeOf(value: string | { code: string } | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const code = (typeof value === 'string' ? value : value.code).trim().toUpperCase();
  return code === '' ? undefined : code;
}

function exchangeOf(value: Instrument['exchange']): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return value.mic_code ?? value.code ?? undefined;
}

function normalizePosition(raw: z.output<typeof positionSchema>, index: number): NormalizedPosition {
  const instrument = (raw.instrument ?? raw.symbol?.symbol)!;
  const kind = instrument.kind?.toLowerCase() ?? undefined;
  const listingCurrency = codeOf(instrument.currency) ?? codeOf(instrument.underlying?.currency);
  const positionCurrency = codeOf(raw.currency) ?? listingCurrency;
  const currency = positionCurrency ?? listingCurrency;
  if (currency === undefined) {
    throw new PayloadValidationError('snaptrade.positions', [
      { path: `results[${index}].currency`, message: 'no position or instrument currency: the position cannot be valued' },
    ]);
  }
  const ticker = kind === 'option' || kind === 'future' ? instrument.symbol : (instrument.raw_symbol ?? instrument.symbol);
  const cashEquivalent = raw.cash_equivalent === true;
  const security = securityRef({
    figi: instrument.figi_instrument?.figi_code ?? instrument.figi_code,
    snaptradeSymbolId: instrument.id,
    ticker,
    exchange: exchangeOf(instrument.exchange),
    currency: listingCurrency ?? currency,
    description: instrument.description,
    type: instrument.type?.code ?? kind,
    cashEquivalent,
  });
  const multiplier = kind === 'option' && instrument.multiplier ? dec(instrument.multiplier) : null;
  const position: NormalizedPosition = {
    security,
    quantity: raw.units!,
    currency,
    cashEquivalent,
  };
  const cost = raw.cost_basis ?? raw.average_purchase_price;
  if (cost !== null && cost !== undefined) position.averageCost = cost;
  if (raw.price !== null && raw.price !== undefined) {
    position.price = multiplier ? str(mul(dec(raw.price), multiplier)) : raw.price;
  }
  return position;
}

/** Body of `GET /accounts/{id}/positions/all` -> positions and their as-of time. Throws `PayloadValidationError`. */
export function normalizeSnapTradePositions(body: unknown): { asOf: string; positions: NormalizedPosition[] } {
  const parsed = parsePayload('snaptrade.positions', positionsResponseSchema, body);
  return { asOf: parsed.data_freshness.as_of, positions: parsed.results.map(normalizePosition) };
}

/**
 * Body of `GET /accounts/{id}/balances` -> cash per currency, with the account's cash-equivalent
 * positions taken out of cash (see the module comment). Balances whose `cash` is null (not
 * available at that brokerage) are left out. Throws `PayloadValidationError`.
 */
export function normalizeSnapTradeBalances(body: unknown, positions: readonly NormalizedPosition[]): NormalizedBalance[] {
  const parsed = parsePayload('snaptrade.balances', balancesSchema, body);
  const equivalents = new Map<string, { value: Decimal; unpriced: boolean }>();
  for (const position of positions) {
    if (!position.cashEquivalent) continue;
    const entry = equivalents.get(position.currency) ?? { value: ZERO, unpriced: false };
    if (position.price === undefined) entry.unpriced = true;
    else entry.value = add(entry.value, mul(dec(position.quantity), dec(position.price)));
    equivalents.set(position.currency, entry);
  }
  const out: NormalizedBalance[] = [];
  for (const balance of parsed) {
    if (balance.cash === null || balance.cash === undefined) continue;
    const code = balance.currency.code;
    const equivalent = equivalents.get(code);
    const normalized: NormalizedBalance = { currency: code, cash: balance.cash };
    if (equivalent !== undefined) {
      normalized.reportedCash = balance.cash;
      normalized.cash = str(sub(dec(balance.cash), equivalent.value));
      if (equivalent.unpriced) normalized.cashEquivalentUnpriced = true;
    }
    if (balance.buying_power !== null && balance.buying_power !== undefined) normalized.buyingPower = balance.buying_power;
    out.push(normalized);
  }
  return out;
}

/** Both bodies of one account sync -> what goes into `positions.synced`. Throws `PayloadValidationError`. */
export function normalizeSnapTradeAccount(bodies: { positions: unknown; balances: unknown }): NormalizedAccountData {
  const { asOf, positions } = normalizeSnapTradePositions(bodies.positions);
  return { asOf, positions, balances: normalizeSnapTradeBalances(bodies.balances, positions) };
}
