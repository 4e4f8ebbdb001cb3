import { z } from 'zod';
import { HISTORY_RANGES } from '../history/history-range.ts';
import { RETURN_MARKS } from '../returns/range-returns.ts';
import { UNEXPLAINED_REASONS } from '../portfolio/purchase-cost.ts';
import { ACTIVITY_TYPES } from '../activities/activity.ts';
import { ASSET_CLASSES } from '../portfolio/asset-class.ts';
import { ERRORS, type ErrorBody, type ErrorCode } from '../http/errors.ts';
import type { AccountSummary, ConnectionState, ConnectionSummary, HoldingView, PortfolioTotals as TotalsView, PurchaseFxView } from '../realtime/events.ts';

/**
 * The HTTP API's request and response bodies, as zod schemas: the routes validate requests with
 * them and type their answers with them, and the OpenAPI document (`src/http/openapi.ts`,
 * `GET /api/openapi.json`) is generated from them, so the document cannot drift from either.
 * Pure: no I/O, no Node imports.
 *
 * Request schemas are registered in `requestSchemas` (rendered as what a client may send),
 * response schemas in `responseSchemas` (rendered as what the server sends: objects admit no
 * other fields, so a field added to an answer but not here fails the document's test).
 */

export interface SchemaMeta {
  /** The name under `#/components/schemas/`. */
  id: string;
  description?: string;
}

export const requestSchemas = z.registry<SchemaMeta>();
export const responseSchemas = z.registry<SchemaMeta>();

// ---------------------------------------------------------------------------------------------
// Requests

/** `POST /api/snaptrade/connection-url`. */
export const connectionUrlRequest = z
  .object({
    broker: z.string().min(1).max(100).optional().describe('Brokerage slug to preselect in the portal (e.g. "QUESTRADE").'),
    reconnect: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe("Authorization id of one of the caller's connections to reconnect (a broken one)."),
    customRedirect: z.url().optional().describe('Where the portal sends the user afterwards.'),
  })
  .strict()
  .register(requestSchemas, { id: 'ConnectionUrlRequest' });

/** `POST /api/alpaca/accounts`. */
export const alpacaLinkRequest = z
  .object({
    keyId: z.string().min(1).max(200).describe("The Alpaca API key id (checked with Alpaca, then stored sealed)."),
    secretKey: z.string().min(1).max(500).describe('The Alpaca API secret key.'),
  })
  .strict()
  .register(requestSchemas, { id: 'AlpacaLinkRequest' });

/** `POST /api/auth/dev/sign-in` (development and the demo only). */
export const devSignInRequest = z
  .object({
    userId: z
      .string()
      .trim()
      .min(1, 'userId: a user id of 1 to 100 characters')
      .max(100, 'userId: a user id of 1 to 100 characters')
      .regex(/^[A-Za-z0-9._@-]+$/, 'userId: letters, digits, ".", "_", "@" and "-" only')
      .describe('The user to sign in as (a new id makes a new user on their first connection).'),
  })
  .strict()
  .register(requestSchemas, { id: 'DevSignInRequest' });

/** The path parameter of `DELETE /api/admin/users/:id`. */
export const adminUserId = z.string().min(1).max(200).describe('The user id (the token subject).');

// ---------------------------------------------------------------------------------------------
// Shared parts of answers

const decimal = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/)
  .describe('An exact decimal number, as a string.');
const timestamp = z.iso.datetime({ offset: true }).describe('ISO 8601 timestamp.');
const currency = z.string().regex(/^[A-Z]{3}$/).describe('ISO 4217 currency code.');
const connectionState = z
  .enum(['active', 'broken', 'disabled', 'removed', 'needs_relink'])
  .describe('`broken`: log in again at the brokerage (the portal repairs it); `needs_relink`: connect the brokerage anew.');
const provider = z.enum(['snaptrade', 'alpaca']);
const ORDER_STATUS_VALUES = ['pending', 'submitted', 'accepted', 'partially_filled', 'filled', 'canceled', 'rejected', 'expired', 'failed'] as const;

export const errorCodeSchema = z
  .enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]])
  .register(responseSchemas, { id: 'ErrorCode', description: 'Stable error codes (README "Errors").' });

/** Every error answer: `{error: {code, message}}`. */
export const errorResponse = z
  .object({
    error: z.object({
      code: errorCodeSchema,
      message: z.string().describe('What went wrong, in words.'),
      details: z.unknown().optional(),
    }),
  })
  .register(responseSchemas, { id: 'Error' });

// ---------------------------------------------------------------------------------------------
// SnapTrade

export const connectionUrlResponse = z
  .object({
    redirectURI: z.url().describe("SnapTrade's connection portal: open it to connect a brokerage."),
    sessionId: z.string().nullable(),
  })
  .register(responseSchemas, { id: 'ConnectionUrlResponse' });
export type ConnectionUrlResponse = z.infer<typeof connectionUrlResponse>;

export const refreshStatus = z.enum(['done', 'partial', 'failed', 'pending']);
export type RefreshStatus = z.infer<typeof refreshStatus>;

export const refreshResponse = z
  .object({
    status: refreshStatus.describe(
      '`done`; `partial`: some accounts synced, some failed; `failed`: nothing could be synced; `pending`: still running.',
    ),
    message: z.string().describe('The outcome in words.'),
    coalesced: z.boolean().describe('This request joined a refresh that was already running.'),
    applied: z.boolean().describe('The sync was applied to the portfolio before the answer.'),
    accounts: z.int().min(0),
    positions: z.int().min(0),
    symbols: z.int().min(0),
    durationMs: z.int().min(0),
    failures: z.array(z.object({ scope: z.string(), error: z.string(), retryable: z.boolean() })),
    connections: z.array(
      z.object({
        id: z.string(),
        provider,
        brokerage: z.string().nullable(),
        status: connectionState,
        statusReason: z.string().nullable(),
      }),
    ),
  })
  .register(responseSchemas, { id: 'RefreshResponse' });
export type RefreshResponse = z.infer<typeof refreshResponse>;

export const disconnectResponse = z
  .object({
    connectionId: z.string().describe('Our id of the connection.'),
    authorizationId: z.string().describe("SnapTrade's authorization id, removed there."),
    status: z
      .literal('removing')
      .describe('SnapTrade removed the authorization; its accounts and holdings leave the portfolio when the sync (or the CONNECTION_DELETED webhook) lands, pushed as `connection:status` removed and a `portfolio:delta`.'),
  })
  .register(responseSchemas, { id: 'DisconnectResponse' });
export type DisconnectResponse = z.infer<typeof disconnectResponse>;

// ---------------------------------------------------------------------------------------------
// Alpaca

export const alpacaLinkResponse = z
  .object({
    connectionId: z.uuid(),
    accountId: z.string().describe("Alpaca's account id (the path parameter of the unlink)."),
    status: connectionState,
  })
  .register(responseSchemas, { id: 'AlpacaLinkResponse' });
export type AlpacaLinkResponse = z.infer<typeof alpacaLinkResponse>;

// ---------------------------------------------------------------------------------------------
// Development sign-in

export const devUsersResponse = z
  .object({
    users: z.array(
      z.object({
        id: z.string(),
        connections: z.int().min(0).describe('Brokerage connections that are not removed.'),
      }),
    ),
  })
  .register(responseSchemas, { id: 'DevUsers' });
export type DevUsersResponse = z.infer<typeof devUsersResponse>;

export const devSignInResponse = z
  .object({
    userId: z.string(),
    token: z.string().describe('A user token (HS256, `AUTH_SECRET`): send it as `Authorization: Bearer` and as the socket\'s `auth.token`.'),
    expiresAt: timestamp,
  })
  .register(responseSchemas, { id: 'DevSignIn' });
export type DevSignInResponse = z.infer<typeof devSignInResponse>;

// ---------------------------------------------------------------------------------------------
// Users

export const deleteUserResponse = z
  .object({
    deleted: z.literal(true),
    userId: z.string(),
    snaptradeDeleted: z.boolean().describe("SnapTrade's copy of the user was deleted by this call (false: there was none)."),
    applied: z.boolean().describe('The deletion was applied within the wait (false, with 202: it will be, shortly).'),
  })
  .register(responseSchemas, { id: 'DeleteUserResponse' });
export type DeleteUserResponse = z.infer<typeof deleteUserResponse>;

/** `PUT /api/me/settings`. */
export const settingsRequest = z
  .object({
    baseCurrency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, 'expected a three-letter currency code, e.g. "CAD"')
      .transform((code) => code.toUpperCase())
      .describe('The currency to value the portfolio in: one of `supportedBaseCurrencies` (`GET /api/me/settings`); case does not matter.'),
  })
  .strict()
  .register(requestSchemas, { id: 'SettingsRequest' });

/** `GET /api/me/settings`. */
export const settingsResponse = z
  .object({
    baseCurrency: z.string().describe('Every figure of the portfolio (totals, values in the base, day change, history, returns) is in it.'),
    supportedBaseCurrencies: z
      .array(z.string())
      .describe('The currencies the engine can value the portfolio in: those its exchange rates convert to (sorted).'),
  })
  .register(responseSchemas, { id: 'Settings' });
export type SettingsResponse = z.infer<typeof settingsResponse>;

/** `PUT /api/me/settings`. */
export const settingsChangeResponse = settingsResponse
  .extend({
    applied: z
      .boolean()
      .describe("The change was applied within the wait (false, with 202: it is in the user's stream and will be, shortly; `baseCurrency` is still the old one)."),
  })
  .register(responseSchemas, { id: 'SettingsChange' });
export type SettingsChangeResponse = z.infer<typeof settingsChangeResponse>;

// ---------------------------------------------------------------------------------------------
// Portfolio and accounts

const totals = z
  .object({
    totalValue: decimal.nullable(),
    cash: decimal.nullable(),
    invested: decimal.nullable(),
    costBasis: decimal.nullable(),
    unrealizedPl: decimal.nullable(),
    dayChange: decimal.nullable().describe('Sum of the day change of the `dayChangeHoldings` holdings that have one.'),
    holdingsCount: z.int().min(0),
    dayChangeHoldings: z
      .int()
      .min(0)
      .describe('Holdings counted in `dayChange`; each other holding says why in `dayChangeMissing`.'),
  })
  .register(responseSchemas, { id: 'PortfolioTotals', description: 'In the base currency; null when unknown (a missing FX rate).' });

const purchaseFx = z
  .object({
    costBasisFx: z
      .enum(['purchase-date', 'partial', 'current'])
      .describe(
        "`purchase-date`: every account's cost is converted at the rates of its purchases' days (its buys and sells, at average cost, explain its quantity); `partial`: some accounts' are, the others' at today's rate; `current`: all at today's rate (no activities explain the positions: history older than what was fetched, a transfer in, a split, or no stored rate on a trade's day).",
      ),
    costBasisBase: decimal.nullable().describe('The cost in the base currency so converted (null without today\'s rate for an account converted at it).'),
    currencyGainBase: decimal
      .nullable()
      .describe("Cost at today's rate less cost at the purchase days' rates, over the accounts converted at them (null when none is). It does not move with the price."),
    priceGainBase: decimal.nullable().describe('The gain from the price: `unrealizedPlBase`.'),
    plBase: decimal.nullable().describe('The P/L against `costBasisBase`: `priceGainBase` + `currencyGainBase`.'),
    atTodaysRate: z
      .array(z.object({ accountId: z.string(), reason: z.enum(UNEXPLAINED_REASONS) }))
      .describe(
        "The accounts whose cost is at today's rate, and why their activities do not explain the position: `no-buys` (no purchase in the history the brokerage gave), `units-differ` (the buys and sells do not add up to the quantity held: older history, units moved in), `split-or-transfer`, `short-position`, `sold-more-than-held`, `no-rate-on-trade-date` (no rate stored on or before a purchase's day: rates are kept from the day the engine first ran), `no-price` (a purchase without units or price).",
      ),
  })
  .register(responseSchemas, { id: 'PurchaseFx', description: 'A holding\'s cost at the rates of its purchase days (exact decimals).' });

const holding = z
  .object({
    id: z.string().describe('The security identity key: the same security at two brokerages is one holding.'),
    symbol: z.string(),
    description: z.string().nullable(),
    currency: currency.describe("The security's trading currency (`price`, `marketValue` and `costBasis` are in it)."),
    assetClass: z
      .enum(ASSET_CLASSES)
      .describe("From the brokerage's security type: `cash_equivalent` is a money-market fund the brokerage also counts as cash; a security without a type code (Alpaca's stocks and ETFs) is `equity`."),
    quantity: decimal,
    price: decimal.nullable(),
    priceAsOf: timestamp.nullable().describe('When `price` was traded (market) or reported (brokerage).'),
    priceSource: z
      .enum(['market', 'brokerage'])
      .nullable()
      .describe('`market`: the live market-data feed; `brokerage`: the last price the brokerage reported with the positions.'),
    priceStale: z.boolean().describe('No live feed for this security (not a US listing): the price is the brokerage\'s last report, as of `priceAsOf`.'),
    marketValue: decimal.nullable(),
    marketValueBase: decimal.nullable().describe('Market value in the base currency (null without an FX rate).'),
    costBasis: decimal.nullable(),
    unrealizedPl: decimal.nullable(),
    dayChange: decimal.nullable(),
    unrealizedPlBase: decimal
      .nullable()
      .describe('`unrealizedPl` in the base currency at today\'s rate, i.e. the price gain (null without a cost, a price or an FX rate); `purchaseFx` adds the currency gain.'),
    dayChangeBase: decimal.nullable().describe('`dayChange` in the base currency: what the totals count (null as `dayChangeMissing` says).'),
    dayChangeMissing: z
      .enum(['no-price', 'no-previous-close', 'no-fx-rate'])
      .nullable()
      .describe('Why the holding has no day change (in the base currency), so the totals leave it out; null when it has one.'),
    positionsAsOf: timestamp.nullable().describe('When the positions behind this holding were last synced.'),
    accounts: z.array(
      z.object({
        accountId: z.string(),
        institution: z.string(),
        quantity: decimal,
        marketValue: decimal.nullable().describe("In the holding's listing currency."),
        marketValueBase: decimal.nullable().describe('In the base currency (null without a price or an FX rate).'),
      }),
    ),
    purchaseFx: purchaseFx
      .nullable()
      .optional()
      .describe(
        "The cost at the purchase days' rates and the split of the P/L into price and currency gain; null when no account's cost is known. Always in this answer and in the socket snapshot; a delta's upserted holding leaves it out (the snapshot a client asks for at the sync's end has it).",
      ),
  })
  .register(responseSchemas, { id: 'Holding' });

const accountSummary = z
  .object({
    id: z.string(),
    institution: z.string(),
    name: z.string(),
    provider: z.string().describe('`snaptrade` or `alpaca`.'),
    status: z.string().describe('`open` or `closed`.'),
    connectionId: z.string(),
    connectionStatus: z.string().describe('The connection\'s state (see `Account.connection.status`).'),
    cashBase: decimal.nullable().describe('The account\'s cash in the base currency (null: no balance reported yet, or one without an FX rate).'),
  })
  .register(responseSchemas, { id: 'AccountSummary' });

const connectionSummary = z
  .object({
    id: z.string().describe('Our id of the connection (`connection:status` names it).'),
    provider,
    externalId: z.string().describe("The brokerage's id: SnapTrade's authorization id (what `reconnect` and the disconnect take), Alpaca's account id."),
    brokerage: z.string().nullable(),
    status: connectionState,
    statusReason: z.string().nullable().describe('Why it is not active, in words.'),
    lastSyncedAt: timestamp.nullable().describe('When a listing of its accounts last came back from the brokerage.'),
  })
  .register(responseSchemas, { id: 'ConnectionSummary' });

export const portfolioResponse = z
  .object({
    asOf: timestamp,
    baseCurrency: currency,
    totals,
    holdings: z.array(holding),
    accounts: z.array(accountSummary),
    connections: z.array(connectionSummary).describe('Every connection that is not removed.'),
    completeness: z.object({
      complete: z.boolean().describe('Every holding and cash line was valued.'),
      unpricedHoldings: z.int().min(0),
      holdingsMissingFx: z.int().min(0),
      cashLinesMissingFx: z.int().min(0),
    }),
  })
  .register(responseSchemas, { id: 'Portfolio' });
export type PortfolioResponse = z.infer<typeof portfolioResponse>;

const historyPoint = z
  .object({
    at: timestamp.describe('When the value was taken (intraday: the minute; a daily close: when the job valued it).'),
    day: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional()
      .describe('The New York market day of a daily close (YYYY-MM-DD).'),
    totalValue: decimal,
    invested: decimal,
    cash: decimal,
    costBasis: decimal.nullable(),
    unrealizedPl: decimal.nullable(),
    dayChange: decimal.nullable(),
  })
  .register(responseSchemas, { id: 'HistoryPoint' });

export const historyQuery = z
  .object({
    range: z.enum(HISTORY_RANGES).default('1M').describe('1D and 1W: intraday points (1W: one per 30 minutes); longer ranges: daily closes.'),
  })
  .strict();

export const historyResponse = z
  .object({
    range: z.enum(HISTORY_RANGES),
    baseCurrency: currency,
    interval: z.enum(['minute', '30 minutes', 'day']),
    points: z.array(historyPoint).describe('Oldest first; values in `baseCurrency` (points taken in another base currency are left out).'),
    live: historyPoint.describe("Today's moving point: the portfolio valued now with the last prices."),
    otherBaseCurrencies: z
      .array(currency)
      .describe('The base currencies of points in this range that are left out: taken before the user changed their base currency (empty when none).'),
  })
  .register(responseSchemas, { id: 'PortfolioHistory' });
export type HistoryResponse = z.infer<typeof historyResponse>;

const returnFraction = decimal.describe('A return as a fraction (0.05 = 5 %), rounded to 10 decimal places.');

export const returnsQuery = z
  .object({
    range: z.enum(HISTORY_RANGES).default('1M').describe('The range, as for the value history.'),
    accountId: z.uuid().optional().describe('One account instead of the whole portfolio.'),
  })
  .strict();

export const returnsResponse = z
  .object({
    range: z.enum(HISTORY_RANGES),
    baseCurrency: currency,
    accountId: z.string().nullable().describe('The account, or null for the whole portfolio.'),
    start: z.object({ at: timestamp, value: decimal }).nullable().describe('The first value of the range (null with fewer than two values, and for an account).'),
    end: z.object({ at: timestamp, value: decimal }).describe('The value now.'),
    simpleReturn: returnFraction.nullable().describe('end / start − 1, flows counted as gain (null without a positive start).'),
    twr: returnFraction.nullable().describe('Time-weighted return: value points chained, external flows taken out (computed in decimal to 20 places).'),
    mwr: z
      .object({
        annual: returnFraction.nullable().describe('XIRR over 365-day years (null when too large to represent).'),
        period: returnFraction.describe('The same rate over the range.'),
      })
      .nullable()
      .describe('Money-weighted return (solved in double precision to full precision; null with a mark when no rate balances the flows).'),
    flows: z.object({
      known: z.boolean().describe('Any activity is known; when false, flows are unknown and taken as none.'),
      net: decimal,
      inflows: decimal.describe('Deposits and transfers in from outside.'),
      outflows: decimal.describe('Withdrawals and transfers out, negative.'),
      count: z.int().min(0),
      internalTransferLegs: z.int().min(0).describe("Transfer legs between two of the user's accounts, left out of the portfolio's flows."),
      notValued: z.int().min(0).describe('Flows or income without a cash amount or an exchange rate, left out.'),
    }),
    income: z.object({ dividends: decimal, interest: decimal, total: decimal }).describe('Dividends and interest dated in the range.'),
    unrealizedPl: decimal.nullable().describe("Of the current holdings with a known cost; for the portfolio, against their cost at the purchase days' rates where the purchases are known (the sum of the holdings' `purchaseFx.plBase`, as the dashboard's header), while `totals.unrealizedPl` of GET /api/portfolio stays at today's rate."),
    realized: z
      .object({
        pl: decimal.describe('Σ proceeds − average cost of the units sold, of the sells valued, each at the rate of its day in the base currency.'),
        sells: z.int().min(0).describe('Sells dated in the range.'),
        notValued: z.int().min(0).describe('Of those, sells whose cost cannot be known (no earlier buy, more sold than bought, no price, a split or transfer before it) or without an exchange rate, left out of pl.'),
      })
      .describe("Realized P/L of the sells dated in the range: each account's trades in a security replayed at average cost."),
    marks: z
      .array(z.object({ code: z.enum(RETURN_MARKS), message: z.string() }))
      .describe('What the figures rest on when the data is short, in words.'),
  })
  .register(responseSchemas, { id: 'PortfolioReturns' });
export type ReturnsResponse = z.infer<typeof returnsResponse>;

export const accountView = z
  .object({
    id: z.string(),
    provider,
    externalId: z.string(),
    name: z.string().nullable(),
    numberMasked: z.string().nullable(),
    institutionName: z.string(),
    currency,
    tradingAllowed: z.boolean(),
    status: z.enum(['open', 'closed']),
    positionsAsOf: timestamp.nullable(),
    lastSyncedAt: timestamp.nullable(),
    connection: z.object({
      id: z.string(),
      brokerage: z.string().nullable(),
      status: connectionState,
      statusReason: z.string().nullable(),
    }),
    cash: z.array(z.object({ currency, amount: decimal, buyingPower: decimal.nullable(), asOf: timestamp })),
  })
  .register(responseSchemas, { id: 'Account' });
export type AccountView = z.infer<typeof accountView>;

export const accountsResponse = z.object({ accounts: z.array(accountView) }).register(responseSchemas, { id: 'Accounts' });
export type AccountsResponse = z.infer<typeof accountsResponse>;

// ---------------------------------------------------------------------------------------------
// Orders

/** A positive decimal with at most `places` decimals, as a JSON string or number; normalized to a string. */
function positiveDecimal(places: number, what: string) {
  return z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      const text = typeof value === 'number' ? String(value) : value.trim();
      if (!/^\d+(\.\d+)?$/.test(text)) {
        ctx.addIssue({ code: 'custom', message: `${what} must be a positive decimal number` });
        return z.NEVER;
      }
      const [whole, fraction = ''] = text.split('.');
      const trimmedFraction = fraction.replace(/0+$/, '');
      if (trimmedFraction.length > places) {
        ctx.addIssue({ code: 'custom', message: `${what} takes at most ${places} decimals` });
        return z.NEVER;
      }
      const normalized = `${whole!.replace(/^0+(?=\d)/, '')}${trimmedFraction ? `.${trimmedFraction}` : ''}`;
      if (Number(normalized) <= 0) {
        ctx.addIssue({ code: 'custom', message: `${what} must be greater than 0` });
        return z.NEVER;
      }
      if (Number(normalized) > 1e12) {
        ctx.addIssue({ code: 'custom', message: `${what} is too large` });
        return z.NEVER;
      }
      return normalized;
    })
    .describe(`${what}: a positive decimal (string or number), at most ${places} decimals.`);
}

const ORDER_TYPES_NEEDING_LIMIT = new Set(['limit', 'stop_limit']);
const ORDER_TYPES_NEEDING_STOP = new Set(['stop', 'stop_limit']);

/** `POST /api/orders` and `POST /api/orders/preview`. */
export const orderRequest = z
  .object({
    accountId: z.uuid().optional().describe('One of the caller\'s accounts (`GET /api/accounts` `id`). Absent: routing chooses and says why.'),
    symbol: z
      .string()
      .trim()
      .min(1)
      .max(21)
      .regex(/^[A-Za-z0-9][A-Za-z0-9.\-/]*$/, 'a ticker: letters, digits, ".", "-" or "/"')
      .transform((s) => s.toUpperCase())
      .optional()
      .describe('Ticker (e.g. `AAPL`, `SHOP.TO`). This or `universalSymbolId`.'),
    universalSymbolId: z.uuid().optional().describe("SnapTrade's universal symbol id. This or `symbol`."),
    side: z.enum(['buy', 'sell']),
    quantity: positiveDecimal(9, 'quantity').optional().describe('Shares. This or `notional`.'),
    notional: positiveDecimal(2, 'notional').optional().describe('Amount of money to trade (market orders, time in force `day`). This or `quantity`.'),
    type: z.enum(['market', 'limit', 'stop', 'stop_limit']),
    limitPrice: positiveDecimal(4, 'limitPrice').optional().describe('Required for `limit` and `stop_limit`; refused otherwise.'),
    stopPrice: positiveDecimal(4, 'stopPrice').optional().describe('Required for `stop` and `stop_limit`; refused otherwise.'),
    timeInForce: z.enum(['day', 'gtc', 'ioc', 'fok']).default('day'),
  })
  .strict()
  .superRefine((form, ctx) => {
    if ((form.symbol === undefined) === (form.universalSymbolId === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['symbol'], message: 'give exactly one of symbol or universalSymbolId' });
    }
    if ((form.quantity === undefined) === (form.notional === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['quantity'], message: 'give exactly one of quantity or notional' });
    }
    if (ORDER_TYPES_NEEDING_LIMIT.has(form.type) !== (form.limitPrice !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['limitPrice'],
        message: ORDER_TYPES_NEEDING_LIMIT.has(form.type) ? `a ${form.type} order needs limitPrice` : `a ${form.type} order takes no limitPrice`,
      });
    }
    if (ORDER_TYPES_NEEDING_STOP.has(form.type) !== (form.stopPrice !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['stopPrice'],
        message: ORDER_TYPES_NEEDING_STOP.has(form.type) ? `a ${form.type} order needs stopPrice` : `a ${form.type} order takes no stopPrice`,
      });
    }
    if (form.notional !== undefined && (form.type !== 'market' || form.timeInForce !== 'day')) {
      ctx.addIssue({ code: 'custom', path: ['notional'], message: 'notional orders must be market orders with timeInForce day' });
    }
  })
  .register(requestSchemas, { id: 'OrderRequest' });
export type OrderRequest = z.infer<typeof orderRequest>;

/** The `Idempotency-Key` header of `POST /api/orders`: also the Alpaca `client_order_id`. */
export const idempotencyKey = z
  .string()
  .min(8, 'Idempotency-Key: at least 8 characters')
  .max(128, 'Idempotency-Key: at most 128 characters')
  .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key: printable ASCII without spaces')
  .describe('A key the client makes once per order (a UUID, say) and sends again when it retries.');

/** `GET /api/orders` query. */
export const orderListQuery = z
  .object({
    status: z.enum(['open', 'closed', ...ORDER_STATUS_VALUES]).optional().describe('`open` (not final), `closed` (final), or one status.'),
    accountId: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional().describe('`nextCursor` of the previous page.'),
  })
  .strict();
export type OrderListQuery = z.infer<typeof orderListQuery>;

const orderRouting = z
  .object({
    accountId: z.string(),
    provider,
    reason: z.string().describe('Why this account: `requested`, `holds-security`, `internal-default`, `only-trading-account`, in words after the colon.'),
  })
  .register(responseSchemas, { id: 'OrderRouting' });

export const orderView = z
  .object({
    id: z.uuid(),
    accountId: z.string(),
    provider,
    clientOrderId: z.string().describe('The Idempotency-Key the order was placed with.'),
    brokerageOrderId: z.string().nullable(),
    symbol: z.string(),
    side: z.enum(['buy', 'sell']),
    type: z.enum(['market', 'limit', 'stop', 'stop_limit']),
    timeInForce: z.enum(['day', 'gtc', 'ioc', 'fok', 'opg', 'cls']),
    quantity: decimal.nullable(),
    notional: decimal.nullable(),
    limitPrice: decimal.nullable(),
    stopPrice: decimal.nullable(),
    status: z.enum(ORDER_STATUS_VALUES),
    filledQuantity: decimal,
    averageFillPrice: decimal.nullable(),
    impact: z.record(z.string(), z.unknown()).nullable().describe('The pre-trade impact the order was placed with.'),
    routing: orderRouting.nullable().describe('Null for an order placed at the brokerage directly.'),
    submittedAt: timestamp.nullable(),
    updatedAt: timestamp,
  })
  .register(responseSchemas, { id: 'Order' });
export type OrderView = z.infer<typeof orderView>;

export const orderImpact = z
  .object({
    currency: currency,
    price: decimal.nullable().describe('The price the estimate uses (limit price, or the last price).'),
    estimatedQuantity: decimal.nullable(),
    estimatedCost: decimal.nullable().describe('Before commissions: positive for a buy, the proceeds for a sell.'),
    commissions: decimal,
    fees: decimal,
    buyingPowerBefore: decimal.nullable(),
    buyingPowerAfter: decimal.nullable(),
  })
  .register(responseSchemas, { id: 'OrderImpact' });
export type OrderImpactView = z.infer<typeof orderImpact>;

export const orderPreviewResponse = z
  .object({
    routing: orderRouting,
    symbol: z.string(),
    impact: orderImpact,
    warnings: z.array(z.string()),
  })
  .register(responseSchemas, { id: 'OrderPreview' });
export type OrderPreviewResponse = z.infer<typeof orderPreviewResponse>;

export const orderListResponse = z
  .object({ orders: z.array(orderView), nextCursor: z.string().nullable() })
  .register(responseSchemas, { id: 'OrderList' });
export type OrderListResponse = z.infer<typeof orderListResponse>;

// ---------------------------------------------------------------------------------------------
// Activities (src/activities)

const activityType = z.enum(ACTIVITY_TYPES);
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day, YYYY-MM-DD');
const ACTIVITY_TYPE_LIST = new RegExp(`^(${ACTIVITY_TYPES.join('|')})(,(${ACTIVITY_TYPES.join('|')}))*$`);

/** `GET /api/activities` query. */
export const activityListQuery = z
  .object({
    accountId: z.uuid('accountId: an account id (UUID) from GET /api/accounts').optional().describe('Only this account.'),
    type: z
      .string()
      .regex(ACTIVITY_TYPE_LIST, `type: one or more of ${ACTIVITY_TYPES.join(', ')}, comma-separated`)
      .optional()
      .transform((t) => (t ? [...new Set(t.split(','))] : []) as (typeof ACTIVITY_TYPES)[number][])
      .describe(`One type or several, comma-separated: ${ACTIVITY_TYPES.join(', ')}.`),
    from: day.optional().describe('Activities on or after this day (UTC).'),
    to: day.optional().describe('Activities on or before this day (UTC).'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(400).optional().describe('`nextCursor` of the previous page.'),
  })
  .strict()
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from: on or before to', path: ['from'] });
export type ActivityListQuery = z.infer<typeof activityListQuery>;

export const activityView = z
  .object({
    accountId: z.uuid(),
    provider,
    providerActivityId: z.string().describe("The provider's id of the activity (each is stored once per account)."),
    type: activityType,
    providerType: z.string().describe("The provider's own type (SnapTrade `REI`, Alpaca `DIVNRA`...); `type` is `other` for types without a mapping."),
    tradeDate: timestamp,
    settlementDate: day.nullable(),
    symbol: z.string().nullable(),
    universalSymbolId: z.string().nullable().describe("SnapTrade's universal symbol id of the security, when known."),
    units: decimal.nullable(),
    price: decimal.nullable().describe('Per unit, in `currency` (a dividend per share).'),
    amount: decimal.nullable().describe("The effect on the account's cash in `currency`: positive in (sell, dividend, interest, deposit), negative out (buy, fee, withdrawal)."),
    fee: decimal.nullable(),
    currency: currency.nullable().describe('Null only when the amount is in a security (`amountSymbol`, crypto).'),
    amountSymbol: z.string().nullable(),
    description: z.string().nullable(),
    externalReferenceId: z.string().nullable().describe("The brokerage's reference grouping related activities (a fill's order id)."),
  })
  .register(responseSchemas, { id: 'Activity' });
export type ActivityViewBody = z.infer<typeof activityView>;

export const activityListResponse = z
  .object({ activities: z.array(activityView), nextCursor: z.string().nullable() })
  .register(responseSchemas, { id: 'ActivityList' });
export type ActivityListResponse = z.infer<typeof activityListResponse>;

/** `GET /api/securities/search` query. */
export const securitySearchQuery = z
  .object({
    query: z.string().trim().min(1, 'query: at least 1 character').max(40, 'query: at most 40 characters').describe('A symbol or the start of one, or part of the name.'),
    accountId: z.uuid().optional().describe('The account to trade in: its brokerage answers (default: the Alpaca account, else the first that trades).'),
  })
  .strict();

export const securityMatch = z.object({
  symbol: z.string(),
  name: z.string().nullable(),
  /** SnapTrade's id of the security for this account (place with it as `universalSymbolId`). */
  universalSymbolId: z.string().nullable(),
  exchange: z.string().nullable(),
  currency: z.string().nullable(),
});
export type SecurityMatch = z.infer<typeof securityMatch>;

export const securitySearchResponse = z
  .object({ accountId: z.uuid(), provider: z.enum(['snaptrade', 'alpaca']), securities: z.array(securityMatch) })
  .register(responseSchemas, { id: 'SecuritySearch' });
export type SecuritySearchResponse = z.infer<typeof securitySearchResponse>;

// ---------------------------------------------------------------------------------------------
// Webhooks, health

export const webhookResponse = z
  .object({
    status: z.enum(['accepted', 'duplicate']).describe('`duplicate`: a webhook with this webhookId was accepted before; nothing was appended again.'),
    streamId: z.string().regex(/^\d+-\d+$/).describe("The Redis stream entry that holds the webhook."),
  })
  .register(responseSchemas, { id: 'WebhookAccepted' });
export type WebhookResponse = z.infer<typeof webhookResponse>;

export const healthResponse = z.object({ status: z.literal('ok') }).register(responseSchemas, { id: 'Health' });
export type HealthResponse = z.infer<typeof healthResponse>;

const marketLeaseState = z
  .enum(['active', 'standby'])
  .describe('Only from a process running the market role: `active` holds the market lease (the one Alpaca data connection), `standby` waits to take over. Ready either way.');
export const readyResponse = z
  .object({
    status: z.literal('ok'),
    redis: z.literal('ok'),
    postgres: z.literal('ok'),
    market: marketLeaseState.optional(),
  })
  .register(responseSchemas, { id: 'Ready' });
export type ReadyResponse = z.infer<typeof readyResponse>;

const dependencyState = z.enum(['ok', 'down']);
export const notReadyResponse = errorResponse
  .extend({ redis: dependencyState.optional(), postgres: dependencyState.optional(), market: marketLeaseState.optional() })
  .register(responseSchemas, { id: 'NotReady', description: 'FS_NOT_READY; `redis`/`postgres` say which dependency is down (absent while shutting down).' });
export type NotReadyResponse = z.infer<typeof notReadyResponse>;

// ---------------------------------------------------------------------------------------------
// Admin replays (src/replay)

export const replayRequest = z
  .strictObject({
    users: z.array(adminUserId).min(1).max(100_000).optional().describe('The users to replay.'),
    all: z.literal(true).optional().describe('Replay every user instead.'),
    dryRun: z.boolean().optional().describe('Report only: nothing is repaired.'),
    fromStart: z.boolean().optional().describe('Fold from the start of the stream, ignoring snapshots (refused once the partition was trimmed).'),
  })
  .refine((r) => (r.users !== undefined) !== (r.all === true), { message: 'give either users or all: true', path: ['users'] })
  .register(requestSchemas, { id: 'ReplayRequest' });
export type ReplayRequestBody = z.infer<typeof replayRequest>;

export const replayId = z.string().uuid().describe('The replay id `POST /api/admin/replays` answered.');

const replayState = z
  .enum(['queued', 'running', 'done', 'failed'])
  .describe('`done`: every user has a report; `failed`: the job gave up (`error` says why; a restarted job resumes where it was).');

export const replayStarted = z.object({ id: z.string(), state: replayState }).register(responseSchemas, { id: 'ReplayStarted' });
export type ReplayStarted = z.infer<typeof replayStarted>;

const entityDiff = z.object({
  added: z.array(z.object({ key: z.string(), rebuilt: z.record(z.string(), z.unknown()) })).describe('In the rebuilt state, missing live.'),
  removed: z.array(z.object({ key: z.string(), live: z.record(z.string(), z.unknown()) })).describe('Live, missing from the rebuilt state.'),
  changed: z.array(
    z.object({
      key: z.string(),
      fields: z.array(z.object({ field: z.string(), live: z.unknown(), rebuilt: z.unknown() })),
    }),
  ),
});

const userReplayReport = z.object({
  userId: z.string(),
  differences: z
    .object({ holdings: entityDiff, accounts: entityDiff, connections: entityDiff, orders: entityDiff, settings: entityDiff.optional() })
    .describe('Holdings by identity key (quantity, cost, currency, accounts); accounts and connections by `provider:externalId`; orders by order id (account, symbol, side, quantity, status, fills, brokerage order id); settings as one entry, key `user` (`baseCurrency`; absent in reports written before settings were compared).'),
  differed: z.boolean(),
  repaired: z.boolean().describe('The live rows were rewritten from the rebuilt state, atomically with the user\'s checkpoint.'),
  eventsReplayed: z.number().int(),
  fromSnapshot: z.string().nullable().describe('Stream id of the snapshot the rebuild started from; null from the start.'),
  upTo: z.string().nullable().describe('Last stream id folded (the replay event itself).'),
  skipped: z.array(z.object({ id: z.string(), type: z.string(), error: z.string() })).describe('Events the fold could not apply (parked live too).'),
});

export const replayStatus = z
  .object({
    id: z.string(),
    state: replayState,
    dryRun: z.boolean(),
    fromStart: z.boolean(),
    progress: z.object({ done: z.number().int(), total: z.number().int() }),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    error: z.string().optional(),
    report: z.object({
      users: z.array(userReplayReport).describe('Only the users that differed: nothing for users that match.'),
      matched: z.number().int(),
      differed: z.number().int(),
      repaired: z.number().int(),
    }),
  })
  .register(responseSchemas, { id: 'ReplayStatus' });
export type ReplayStatusBody = z.infer<typeof replayStatus>;

// ---------------------------------------------------------------------------------------------
// The interfaces other modules declare for these shapes (the socket.io contract, the error
// registry) must stay the schemas' types: a field added on one side only fails to compile here.

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type SchemaMatchesDeclaredTypes = [
  Holds<Same<z.infer<typeof holding>, HoldingView>>,
  Holds<Same<z.infer<typeof purchaseFx>, PurchaseFxView>>,
  Holds<Same<z.infer<typeof totals>, TotalsView>>,
  Holds<Same<z.infer<typeof accountSummary>, AccountSummary>>,
  Holds<Same<z.infer<typeof connectionSummary>, ConnectionSummary>>,
  Holds<Same<z.infer<typeof connectionState>, ConnectionState>>,
  Holds<Same<z.infer<typeof errorResponse>, ErrorBody>>,
];
