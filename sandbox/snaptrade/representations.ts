import { roundPrice } from '../market/price-book.ts';
import { createRandom, seededUuid } from '../market/seeded-random.ts';
import type { SandboxQuote, SandboxSecurity } from '../market/price-book.types.ts';
import type { SandboxBrokerage } from '../scenario/brokerages.ts';
import { currencyOf } from '../scenario/currencies.ts';
import type { ScenarioEngine } from '../scenario/scenario-engine.ts';
import type {
  PendingTrade,
  SandboxAccount,
  SandboxActivity,
  SandboxAuthorization,
  SandboxOrder,
} from '../scenario/scenario-store.ts';

/**
 * The JSON shapes SnapTrade answers with (Account, BrokerageAuthorization, AccountPosition,
 * Balance, UniversalSymbol, AccountOrderRecord, ...), built from the scenario's state. Numbers
 * SnapTrade sends as decimal strings (units, prices) are strings here too.
 */

interface ExchangeInfo {
  code: string;
  name: string;
  timezone: string;
  suffix: string | null;
}

const EXCHANGES: Record<string, ExchangeInfo> = {
  XNAS: { code: 'NASDAQ', name: 'Nasdaq', timezone: 'America/New_York', suffix: null },
  XNYS: { code: 'NYSE', name: 'New York Stock Exchange', timezone: 'America/New_York', suffix: null },
  ARCX: { code: 'ARCA', name: 'NYSE ARCA', timezone: 'America/New_York', suffix: null },
  BATS: { code: 'BATS', name: 'Cboe BZX', timezone: 'America/New_York', suffix: null },
  XTSE: { code: 'TSX', name: 'Toronto Stock Exchange', timezone: 'America/Toronto', suffix: '.TO' },
};

export function exchangeOf(mic: string): Record<string, unknown> {
  const info = EXCHANGES[mic] ?? { code: mic, name: mic, timezone: 'America/New_York', suffix: null };
  return {
    id: seededUuid('exchange', mic),
    code: info.code,
    mic_code: mic,
    name: info.name,
    timezone: info.timezone,
    start_time: '09:30:00',
    close_time: '16:00:00',
    suffix: info.suffix,
  };
}

/** The security type codes SnapTrade documents (`SecurityType.code`). */
const TYPE_DESCRIPTIONS: Record<string, string> = {
  ad: 'ADR',
  bnd: 'Bond',
  cs: 'Common Stock',
  cef: 'Closed End Fund',
  crypto: 'Cryptocurrency',
  et: 'ETF',
  oef: 'Open Ended Fund',
  pm: 'Precious Metals',
  ps: 'Preferred Stock',
  rt: 'Right',
  struct: 'Structured Product',
  ut: 'Unit',
  wi: 'When Issued',
  wt: 'Warrant',
};

function securityType(code: string): Record<string, unknown> {
  return {
    id: seededUuid('security-type', code),
    code,
    description: TYPE_DESCRIPTIONS[code] ?? code,
    is_supported: true,
  };
}

/** `GET /securityTypes`: the documented codes plus any other the price book uses. */
export function securityTypes(securities: readonly SandboxSecurity[]): Array<Record<string, unknown>> {
  const codes = new Set([...Object.keys(TYPE_DESCRIPTIONS), ...securities.map((s) => s.typeCode)]);
  return [...codes].map(securityType);
}

/** `GET /exchanges`: the venues the sandbox knows and those its securities list on. */
export function exchanges(securities: readonly SandboxSecurity[]): Array<Record<string, unknown>> {
  const mics = new Set([...Object.keys(EXCHANGES), ...securities.map((s) => s.exchangeMic)]);
  return [...mics].map(exchangeOf);
}

/** Instrument `kind` of a SnapTrade security type code. */
function instrumentKind(typeCode: string): string {
  return { cs: 'stock', et: 'etf', oef: 'mutualfund', ad: 'adr', cef: 'cef' }[typeCode] ?? 'other';
}

/** Raw symbol without the exchange suffix (`SHOP.TO` -> `SHOP`). */
function rawSymbol(security: SandboxSecurity): string {
  const suffix = EXCHANGES[security.exchangeMic]?.suffix;
  return suffix && security.symbol.endsWith(suffix) ? security.symbol.slice(0, -suffix.length) : security.symbol;
}

export function universalSymbol(security: SandboxSecurity): Record<string, unknown> {
  const currency = currencyOf(security.currency);
  return {
    id: security.snaptradeId,
    symbol: security.symbol,
    raw_symbol: rawSymbol(security),
    description: security.description,
    currency,
    exchange: exchangeOf(security.exchangeMic),
    type: securityType(security.typeCode),
    figi_code: security.figi,
    figi_instrument: { figi_code: security.figi, figi_share_class: security.figi },
    currencies: [currency],
  };
}

/** SnapTrade's `Symbol` (in activities): a UniversalSymbol without the deprecated `currencies`. */
export function symbol(security: SandboxSecurity): Record<string, unknown> {
  const { currencies: _currencies, ...rest } = universalSymbol(security);
  return rest;
}

/**
 * A quote (`SymbolsQuotes` item) from the book's last price: a spread of about 4 bp (at least
 * one price increment) around it, as the Alpaca sandbox's quotes, and sizes in round lots
 * seeded by the symbol and the time of the last price.
 */
export function quote(security: SandboxSecurity, last: SandboxQuote): Record<string, unknown> {
  const increment = last.price >= 1 ? 0.01 : 0.0001;
  const spread = Math.max(increment, roundPrice(last.price * 0.0004));
  const bid = Math.max(increment, roundPrice(last.price - spread / 2));
  const sizes = createRandom('quote-size', security.symbol, last.at.getTime());
  return {
    symbol: universalSymbol(security),
    bid_price: bid,
    bid_size: 100 * (1 + Math.floor(sizes() * 5)),
    ask_price: roundPrice(bid + spread),
    ask_size: 100 * (1 + Math.floor(sizes() * 5)),
    last_trade_price: last.price,
  };
}

export function brokerage(b: SandboxBrokerage, publicUrl: string): Record<string, unknown> {
  return {
    id: b.id,
    slug: b.slug,
    name: b.name,
    display_name: b.displayName,
    description: `${b.name} (SnapTrade sandbox)`,
    aws_s3_logo_url: `${publicUrl}/__sandbox/assets/${b.slug.toLowerCase()}.svg`,
    aws_s3_square_logo_url: null,
    url: null,
    enabled: true,
    maintenance_mode: false,
    is_degraded: false,
    allows_trading: b.allowsTrading,
    allows_fractional_units: true,
    has_reporting: true,
    is_real_time_connection: false,
    brokerage_type: { id: seededUuid('brokerage-type', 'traditional'), name: 'Traditional Brokerage' },
    exchanges: [],
    open_url: null,
  };
}

export function authorization(a: SandboxAuthorization, publicUrl: string): Record<string, unknown> {
  return {
    id: a.id,
    created_date: a.createdAt.toISOString(),
    brokerage: brokerage(a.brokerage, publicUrl),
    name: `Connection-${a.brokerage.slug}`,
    type: a.type,
    disabled: a.disabled,
    disabled_date: a.disabledAt ? a.disabledAt.toISOString() : null,
    meta: {},
    updated_date: (a.lastRefreshAt ?? a.createdAt).toISOString(),
    is_eligible_for_payout: false,
    data_freshness_mode: 'daily',
  };
}

function firstTransactionDate(engine: ScenarioEngine, a: SandboxAccount): string {
  const activities = engine.store.activities.get(a.id) ?? [];
  const first = activities.reduce((min, x) => Math.min(min, x.tradeDate.getTime()), a.createdAt.getTime());
  return new Date(first).toISOString().slice(0, 10);
}

/** `2024-06-28 18:42:46.561408+00:00`, the format of SnapTrade's holdings sync dates. */
function syncTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

export function account(engine: ScenarioEngine, a: SandboxAccount): Record<string, unknown> {
  const auth = engine.store.authorizations.get(a.authorizationId);
  const populated = !auth || auth.populatingUntil <= Date.now();
  return {
    id: a.id,
    brokerage_authorization: a.authorizationId,
    portfolio_group: seededUuid('portfolio-group', a.id),
    name: a.name,
    number: a.number,
    institution_name: a.brokerage.name,
    created_date: a.createdAt.toISOString(),
    funding_date: null,
    opening_date: null,
    sync_status: {
      transactions: {
        initial_sync_completed: populated,
        last_successful_sync: populated ? a.holdingsSyncedAt.toISOString().slice(0, 10) : null,
        first_transaction_date: populated ? firstTransactionDate(engine, a) : null,
      },
      holdings: {
        initial_sync_completed: populated,
        last_successful_sync: populated ? syncTimestamp(a.holdingsSyncedAt) : null,
        holdings_unavailable: false,
      },
    },
    balance: { total: { amount: engine.accountValue(a), currency: a.currency } },
    status: 'open',
    raw_type: a.rawType,
    account_category: 'INVESTMENT',
    meta: { type: a.rawType, institution_name: a.brokerage.name },
    cash_restrictions: [],
    is_paper: false,
  };
}

function decimal(n: number): string {
  return String(Math.round(n * 1e8) / 1e8);
}

export function positionsAll(engine: ScenarioEngine, a: SandboxAccount): Record<string, unknown> {
  const results = [...a.positions.values()].map((p) => {
    const security = engine.priceBook.security(p.symbol)!;
    const price = engine.price(p.symbol) ?? p.averageCost;
    return {
      instrument: {
        kind: instrumentKind(security.typeCode),
        id: security.snaptradeId,
        symbol: security.symbol,
        raw_symbol: rawSymbol(security),
        description: security.description,
        currency: security.currency,
        exchange: security.exchangeMic,
        figi_instrument: { figi_code: security.figi, figi_share_class: security.figi },
      },
      units: decimal(p.units),
      price: decimal(price),
      cost_basis: decimal(p.averageCost),
      currency: security.currency,
      cash_equivalent: security.cashEquivalent,
      tax_lots: [],
    };
  });
  return { results, data_freshness: { as_of: a.holdingsSyncedAt.toISOString() } };
}

export function balances(a: SandboxAccount): Array<Record<string, unknown>> {
  return [...a.cash.entries()].map(([code, cash]) => ({
    currency: currencyOf(code),
    cash: Math.round(cash * 100) / 100,
    buying_power: Math.round(Math.max(cash, 0) * 100) / 100,
  }));
}

export function orderRecord(engine: ScenarioEngine, o: SandboxOrder): Record<string, unknown> {
  const security = engine.priceBook.security(o.symbol);
  const open = o.status === 'ACCEPTED' ? o.units - o.filledUnits : 0;
  return {
    brokerage_order_id: o.brokerageOrderId,
    brokerage_group_order_id: null,
    order_role: null,
    status: o.status,
    universal_symbol: security ? universalSymbol(security) : null,
    option_symbol: null,
    quote_universal_symbol: null,
    quote_currency: null,
    action: o.action,
    total_quantity: decimal(o.units),
    open_quantity: decimal(open),
    canceled_quantity: decimal(o.status === 'CANCELED' ? o.units - o.filledUnits : 0),
    filled_quantity: decimal(o.filledUnits),
    execution_price: o.executionPrice === null ? null : decimal(o.executionPrice),
    limit_price: o.limitPrice === null ? null : decimal(o.limitPrice),
    stop_price: o.stopPrice === null ? null : decimal(o.stopPrice),
    trailing_stop: null,
    order_type: o.orderType,
    time_in_force: o.timeInForce,
    time_placed: o.placedAt.toISOString(),
    time_updated: o.updatedAt.toISOString(),
    time_executed: o.executedAt ? o.executedAt.toISOString() : null,
    expiry_date: null,
    symbol: security?.snaptradeId ?? seededUuid('unknown-symbol', o.symbol),
    child_brokerage_order_ids: null,
  };
}

export function tradeImpact(engine: ScenarioEngine, trade: PendingTrade): Record<string, unknown> {
  const accountState = engine.store.requireAccount(trade.accountId);
  const security = engine.priceBook.security(trade.symbol)!;
  const price = trade.price ?? engine.price(trade.symbol)!;
  const remaining = engine.remainingCashAfter(accountState, trade.symbol, trade.action, trade.units, price);
  const currency = currencyOf(accountState.currency);
  return {
    trade: {
      id: trade.id,
      account: trade.accountId,
      order_type: trade.orderType,
      time_in_force: trade.timeInForce,
      symbol: {
        universal_symbol_id: security.snaptradeId,
        currency: currencyOf(security.currency),
        local_id: security.symbol,
        symbol: security.symbol,
        brokerage_symbol_id: security.snaptradeId,
      },
      action: trade.action,
      units: trade.units,
      price,
    },
    trade_impacts: [
      {
        account: trade.accountId,
        currency: currency.id,
        remaining_cash: remaining,
        estimated_commission: 0,
        forex_fees: 0,
      },
    ],
    combined_remaining_balance: {
      account: {
        id: accountState.id,
        name: accountState.name,
        number: accountState.number,
        institution_account_id: null,
        sync_status: (account(engine, accountState) as { sync_status: unknown }).sync_status,
      },
      currency,
      cash: remaining,
    },
  };
}

/** `2024-03-22 16:27:55+00:00`, the format of SnapTrade's activity dates. */
function activityTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '+00:00');
}

/** `AccountUniversalActivity` (`GET /accounts/{id}/activities`). */
export function accountActivity(engine: ScenarioEngine, a: SandboxAccount, x: SandboxActivity): Record<string, unknown> {
  const security = x.symbol ? engine.priceBook.security(x.symbol) : undefined;
  return {
    id: x.id,
    symbol: security ? symbol(security) : null,
    option_symbol: null,
    price: x.price,
    units: x.units,
    amount: x.amount,
    currency: currencyOf(x.currency),
    currency_universal_symbol: null,
    type: x.type,
    option_type: '',
    description: x.description,
    trade_date: activityTimestamp(x.tradeDate),
    settlement_date: activityTimestamp(x.settlementDate),
    fee: x.fee,
    fx_rate: x.fxRate,
    institution: a.brokerage.name,
    external_reference_id: x.externalReferenceId,
  };
}

/** `AccountSimple`, the account of a `UniversalActivity`. */
export function accountSimple(engine: ScenarioEngine, a: SandboxAccount): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    number: a.number,
    institution_account_id: null,
    sync_status: (account(engine, a) as { sync_status: unknown }).sync_status,
  };
}

/** `UniversalActivity` (`GET /activities`): the account activity with its `AccountSimple`. */
export function universalActivity(
  engine: ScenarioEngine,
  a: SandboxAccount,
  simple: Record<string, unknown>,
  x: SandboxActivity,
): Record<string, unknown> {
  return { ...accountActivity(engine, a, x), account: simple };
}

const V2_ORDER_TYPES: Record<SandboxOrder['orderType'], string> = {
  Market: 'MARKET',
  Limit: 'LIMIT',
  Stop: 'STOP',
  StopLimit: 'STOP_LIMIT',
};

const V2_LEG_STATUSES: Record<SandboxOrder['status'], string> = {
  ACCEPTED: 'PENDING',
  EXECUTED: 'EXECUTED',
  CANCELED: 'CANCELED',
  REJECTED: 'REJECTED',
};

/** `AccountOrderRecordV2`: the order with its single leg. */
export function orderRecordV2(engine: ScenarioEngine, o: SandboxOrder): Record<string, unknown> {
  const security = engine.priceBook.security(o.symbol);
  const canceled = o.status === 'CANCELED' ? o.units - o.filledUnits : 0;
  return {
    brokerage_order_id: o.brokerageOrderId,
    brokerage_group_order_id: null,
    order_role: null,
    status: o.status,
    legs: [
      {
        leg_id: o.brokerageOrderId,
        instrument: {
          symbol: o.symbol,
          asset_type: 'EQUITY',
          description: security?.description ?? o.symbol,
          exchange_mic_code: security?.exchangeMic ?? '',
          figi_code: security?.figi ?? null,
        },
        action: o.action,
        status: V2_LEG_STATUSES[o.status],
        total_quantity: decimal(o.units),
        filled_quantity: decimal(o.filledUnits),
        canceled_quantity: decimal(canceled),
        execution_price: o.executionPrice === null ? null : decimal(o.executionPrice),
      },
    ],
    execution_price: o.executionPrice === null ? null : decimal(o.executionPrice),
    limit_price: o.limitPrice === null ? null : decimal(o.limitPrice),
    stop_price: o.stopPrice === null ? null : decimal(o.stopPrice),
    trailing_stop: null,
    order_type: V2_ORDER_TYPES[o.orderType],
    time_in_force: o.timeInForce.toUpperCase(),
    quote_currency: security?.currency ?? '',
    time_placed: o.placedAt.toISOString(),
    time_executed: o.executedAt ? o.executedAt.toISOString() : null,
  };
}

/** `PartnerData` of the sandbox's client id: every sandbox brokerage, every feature on. */
export function partnerInfo(clientId: string, brokerages: readonly SandboxBrokerage[], publicUrl: string): Record<string, unknown> {
  return {
    slug: clientId,
    name: clientId,
    logo_url: null,
    redirect_uri: null,
    allowed_brokerages: brokerages.map((b) => brokerage(b, publicUrl)),
    can_access_account_history: true,
    can_access_holdings: true,
    can_access_orders: true,
    can_access_portfolio_management: true,
    can_access_reference_data: true,
    can_access_trades: true,
    pin_required: false,
  };
}

/**
 * `BrokerageAuthorizationTypeReadOnly` rows: a read type for every brokerage and a trade type
 * for those that allow trading. The sandbox portal is a form standing in for the brokerage's
 * own login, so every type is reported as OAUTH.
 */
export function brokerageAuthorizationTypes(brokerages: readonly SandboxBrokerage[]): Array<Record<string, unknown>> {
  return brokerages.flatMap((b) =>
    (b.allowsTrading ? (['read', 'trade'] as const) : (['read'] as const)).map((type) => ({
      id: seededUuid('brokerage-authorization-type', b.slug, type),
      type,
      auth_type: 'OAUTH',
      brokerage: { id: b.id, name: b.name, slug: b.slug },
    })),
  );
}
