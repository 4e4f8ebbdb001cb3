import { z } from 'zod';

/**
 * Request schemas and response types of the sandbox control API (`/__sandbox/...` on the
 * SnapTrade sandbox server). The server validates with these schemas; the typed client
 * (`control-client.ts`) uses the same types, so both sides agree at compile time.
 */

const positionSchema = z.object({
  symbol: z.string().min(1),
  units: z.number().min(0),
  /** Average purchase price per unit; the current price when absent. */
  averageCost: z.number().positive().optional(),
});

const accountSchema = z.object({
  name: z.string().optional(),
  rawType: z.string().optional(),
  currency: z.string().length(3).optional(),
  cash: z.record(z.string(), z.number()).optional(),
  positions: z.array(positionSchema).optional(),
});

const alpacaPositionSchema = z.object({
  symbol: z.string().min(1),
  /** Shares held; 0 leaves the symbol out. */
  qty: z.number().min(0),
  /** Average entry price per share; the current price when absent. */
  avgEntryPrice: z.number().positive().optional(),
});

const matchSchema = z
  .object({ operationId: z.string().optional(), userId: z.string().optional(), accountId: z.string().optional() })
  .optional();
const limits = { durationMs: z.number().int().positive().optional(), times: z.number().int().positive().optional() };

export const controlSchemas = {
  createUser: z.object({ userId: z.string().min(1).optional(), webhook: z.boolean().optional() }),
  connect: z.object({
    brokerage: z.string().min(1),
    accounts: z.array(accountSchema).optional(),
    type: z.enum(['read', 'trade']).optional(),
    populatingForMs: z.number().int().min(0).optional(),
    webhooks: z.boolean().optional(),
  }),
  notify: z.object({ webhook: z.boolean().optional() }),
  setPositions: z.object({
    positions: z.array(positionSchema),
    cash: z.record(z.string(), z.number()).optional(),
    notify: z.boolean().optional(),
  }),
  upsertPosition: positionSchema.extend({ notify: z.boolean().optional() }),
  setCash: z.object({ currency: z.string().length(3), amount: z.number(), notify: z.boolean().optional() }),
  recordActivity: z.object({
    type: z.string().min(1),
    currency: z.string().length(3),
    amount: z.number().nullable(),
    symbol: z.string().min(1).nullable().optional(),
    units: z.number().optional(),
    price: z.number().optional(),
    fee: z.number().optional(),
    description: z.string().optional(),
    /** ISO 8601; default now. */
    tradeDate: z.iso.datetime({ offset: true }).optional(),
    /** Add the amount to the account's cash of its currency. */
    applyToCash: z.boolean().optional(),
    /** Send ACCOUNT_TRANSACTIONS_UPDATED (default true). */
    notify: z.boolean().optional(),
  }),
  setPrices: z.union([
    z.object({ symbol: z.string().min(1), price: z.number().positive() }),
    z.object({ prices: z.record(z.string(), z.number().positive()) }),
  ]),
  setExchangeRate: z.object({ pair: z.string().regex(/^[A-Za-z]{3}-[A-Za-z]{3}$/), rate: z.number().positive() }),
  addFault: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('latency'), latencyMs: z.number().int().min(0), match: matchSchema, ...limits }),
    z.object({ kind: z.literal('error'), status: z.number().int().min(400).max(599), match: matchSchema, ...limits }),
    /** Shorthand for `error` 503 (code 3002). */
    z.object({ kind: z.literal('brokerage_error'), match: matchSchema, ...limits }),
    /** Shorthand for `error` 425 (code 3012). */
    z.object({ kind: z.literal('populating'), match: matchSchema, ...limits }),
    z.object({
      kind: z.literal('random'),
      probability: z.number().min(0).max(1),
      statuses: z.array(z.number().int().min(400).max(599)).optional(),
      match: matchSchema,
      ...limits,
    }),
  ]),
  rateLimit: z.object({ limit: z.number().int().positive().optional(), windowMs: z.number().int().positive().optional() }),
  webhookConfig: z.object({
    url: z.url().nullable().optional(),
    retryScheduleMs: z.array(z.number().int().min(0)).optional(),
  }),
  fireWebhook: z.object({
    eventType: z.string().min(1),
    userId: z.string().min(1),
    accountId: z.string().optional(),
    authorizationId: z.string().optional(),
    /** Extra or overriding event fields. */
    fields: z.record(z.string(), z.unknown()).optional(),
  }),
  autoHoldings: z.object({ intervalMs: z.number().int().min(0) }),
  settings: z.object({
    refreshDelayMs: z.number().int().min(0).optional(),
    refreshCooldownMs: z.number().int().min(0).optional(),
  }),

  // --- Alpaca sandbox (`/__sandbox/alpaca/...`) -----------------------------------------
  alpacaCreateAccount: z.object({
    /** API key id; generated (seeded) when absent. Must not be in use. */
    keyId: z.string().min(1).optional(),
    /** API secret; generated (seeded) when absent. */
    secretKey: z.string().min(1).optional(),
    /** Starting cash in USD. @default 100000 */
    cash: z.number().min(0).optional(),
  }),
  /** Deposit (negative: withdraw) USD. */
  alpacaFund: z.object({ amount: z.number() }),
  alpacaSetPositions: z.object({ positions: z.array(alpacaPositionSchema) }),
  alpacaKillStreams: z.object({
    /** Which stream sockets to drop. @default 'all' */
    kind: z.enum(['market-data', 'trade-updates', 'all']).optional(),
  }),
  /** REST requests per minute per key; 0 disables the limit. */
  alpacaRateLimit: z.object({ perMinute: z.number().int().min(0) }),
  /** Most distinct symbols per market-data connection (error 405); 0 removes the limit. */
  alpacaSymbolLimit: z.object({ limit: z.number().int().min(0) }),
  /** Trading behaviour real Alpaca has: market hours, exchange rejections, partial fills. */
  alpacaTrading: z.object({
    marketOpen: z.boolean().optional(),
    rejectNext: z.object({ count: z.number().int().min(0), reason: z.string().min(1).max(200).optional() }).optional(),
    /** Most shares a resting order fills per tick (bigger ones fill in parts); null: no limit. */
    maxFillQtyPerTick: z.number().positive().nullable().optional(),
  }),
  alpacaFaults: z.object({
    /** Chance in [0, 1] that a REST request fails instead of being served. */
    probability: z.number().min(0).max(1),
    /** Statuses to fail with, picked at random. @default [500] */
    statuses: z.array(z.number().int().min(400).max(599)).optional(),
    /** Only paths starting with one of these fail (e.g. `/v2/orders`). @default every path */
    pathPrefixes: z.array(z.string().min(1)).optional(),
    /** Stop after this many injected failures. @default unlimited */
    maxFaults: z.number().int().positive().optional(),
  }),
};

export type CreateUserInput = z.input<typeof controlSchemas.createUser>;
export type ConnectInput = z.input<typeof controlSchemas.connect>;
export type SetPositionsInput = z.input<typeof controlSchemas.setPositions>;
export type UpsertPositionInput = z.input<typeof controlSchemas.upsertPosition>;
export type SetPricesInput = z.input<typeof controlSchemas.setPrices>;
export type RecordActivityInput = z.input<typeof controlSchemas.recordActivity>;
export type AddFaultInput = z.input<typeof controlSchemas.addFault>;
export type RateLimitInput = z.input<typeof controlSchemas.rateLimit>;
export type WebhookConfigInput = z.input<typeof controlSchemas.webhookConfig>;
export type FireWebhookInput = z.input<typeof controlSchemas.fireWebhook>;
export type SettingsInput = z.input<typeof controlSchemas.settings>;
export type AlpacaCreateAccountInput = z.input<typeof controlSchemas.alpacaCreateAccount>;
export type AlpacaSetPositionsInput = z.input<typeof controlSchemas.alpacaSetPositions>;
export type AlpacaStreamKind = NonNullable<z.input<typeof controlSchemas.alpacaKillStreams>['kind']>;
export type AlpacaFaultsInput = z.input<typeof controlSchemas.alpacaFaults>;
export type AlpacaTradingInput = z.input<typeof controlSchemas.alpacaTrading>;
export interface ControlAlpacaTrading {
  marketOpen: boolean;
  rejectNext: { count: number; reason: string };
  maxFillQtyPerTick: number | null;
}

export interface ControlPosition {
  symbol: string;
  units: number;
  averageCost: number;
  /** Current price and currency of the security. */
  price: number | null;
  currency: string;
  snaptradeId: string;
}

export interface ControlAccount {
  id: string;
  userId: string;
  authorizationId: string;
  brokerage: string;
  name: string;
  number: string;
  currency: string;
  cash: Record<string, number>;
  positions: ControlPosition[];
  totalValue: number;
}

export interface ControlAuthorization {
  id: string;
  userId: string;
  brokerage: string;
  brokerageId: string;
  type: 'read' | 'trade';
  disabled: boolean;
  accounts: ControlAccount[];
}

export interface ControlUser {
  userId: string;
  userSecret: string;
  authorizations: ControlAuthorization[];
}

export interface ControlAlpacaPosition {
  symbol: string;
  qty: number;
  costBasis: number;
  avgEntryPrice: number;
}

/** An Alpaca sandbox account, with the key pair that authenticates as it. */
export interface ControlAlpacaAccount {
  id: string;
  accountNumber: string;
  keyId: string;
  secretKey: string;
  cash: number;
  positions: ControlAlpacaPosition[];
  openOrders: number;
}

/** `GET /__sandbox/alpaca`: where the Alpaca server is and how it is limited. */
export interface ControlAlpacaInfo {
  /** REST base URL (trading and market data). */
  url: string;
  /** WebSocket base: market data at `${wsUrl}/v2/iex`, trade updates at `${wsUrl}/stream`. */
  wsUrl: string;
  defaultAccountId: string;
  rateLimit: { perMinute: number };
  symbolLimit: number;
}

/** Open stream sockets (or, from `POST /alpaca/streams/kill`, how many were dropped). */
export interface ControlAlpacaConnections {
  marketData: number;
  tradeUpdates: number;
}

export interface ControlAlpacaFaults {
  /** The active fault config, or null when no faults are injected. */
  faults: z.output<typeof controlSchemas.alpacaFaults> | null;
}

export interface ControlError {
  error: { code: string; message: string; issues?: unknown };
}
