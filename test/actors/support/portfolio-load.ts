import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { normalizeSynced } from '../../../actors/portfolio/user-portfolio-behavior.ts';
import type { Knex } from '../../../src/db/knex.ts';
import {
  aggregateHoldings,
  createFxTable,
  dec,
  type AccountPositions,
  type FxRateInput,
  type NormalizedAccountData,
} from '../../../src/portfolio/index.ts';
import { CredentialsStore } from '../../../src/providers/credentials-store.ts';
import type { AppContext } from '../../../src/runtime/context.ts';
import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../../streams/envelope.ts';
import type { StreamKeys } from '../../../streams/keys.ts';
import { partitionOf } from '../../../streams/partition.ts';
import { replayPartitionByUser, type ReplayedEvent } from '../../../streams/replay.ts';
import { AAPL, alpacaAccount, alpacaPosition, snapBalance, snapPosition, snapPositionsBody, type SnapInstrument } from '../../portfolio/provider-payloads.ts';

/**
 * Load for the real portfolio actor (`UserPortfolioBehavior`): per user, the `accounts.synced`
 * and `positions.synced` events sync jobs append, with the providers' wire payloads (SnapTrade
 * `positions/all` and `balances`, Alpaca `/v2/positions` and `/v2/account`), each SnapTrade
 * answer after the `ACCOUNT_HOLDINGS_UPDATED` webhook that asked for it; and the oracle the
 * projection is checked against: the stream's events folded with the pure functions of
 * `src/portfolio` (`normalizeSynced`, `aggregateHoldings`), never with the actor's code, plus the
 * webhook inbox (one row per webhook, naming its entry).
 *
 * What each user's events exercise: accounts listed, removed and listed again; positions of an
 * account not listed yet (ignored: the actor asks for a user sync); a late `positions.synced`
 * older than the applied one (ignored); one security held at two SnapTrade accounts and Alpaca
 * (merged by listing); CAD listings valued in USD; a money-market fund SnapTrade also counts in
 * cash; an option; an Alpaca short.
 */

export const FX_RATES: readonly FxRateInput[] = [{ from: 'CAD', to: 'USD', rate: '0.74' }];

/** Stored as the FX sync stores them; the actor loads them on activation. */
export async function insertFxRates(knex: Knex): Promise<void> {
  await knex('fx_rates').insert(FX_RATES.map((r) => ({ base: r.from, quote: r.to, rate: String(r.rate), as_of: new Date(), source: 'snaptrade' })));
}

const MSFT: SnapInstrument = { id: '4b0f7e0c-0d55-4b4f-9a43-7f4f0f7f2c11', symbol: 'MSFT', currency: 'USD', exchange: 'XNAS', figi: 'BBG000BPH459', description: 'Microsoft Corporation' };
const SPY: SnapInstrument = { id: '8f3e2b5a-6a1e-4c6c-8d3b-2d9e1f0a7b22', symbol: 'SPY', currency: 'USD', exchange: 'ARCX', figi: 'BBG000BDTBL9', description: 'SPDR S&P 500 ETF Trust', kind: 'etf' };
const SHOP: SnapInstrument = { id: 'c7d1a9e4-2f3b-4a5c-9e8d-1b2c3d4e5f33', symbol: 'SHOP', raw_symbol: 'SHOP', currency: 'CAD', exchange: 'XTSE', figi: 'BBG008HBD923', description: 'Shopify Inc.' };
const VFV: SnapInstrument = { id: 'e2f4a6b8-1c3d-4e5f-8a9b-0c1d2e3f4a44', symbol: 'VFV', currency: 'CAD', exchange: 'XTSE', figi: 'BBG004Z4DQ29', description: 'Vanguard S&P 500 Index ETF', kind: 'etf' };
/** A money-market fund: a position with `cash_equivalent: true`, which SnapTrade also counts in `cash`. */
const SWVXX: SnapInstrument = { id: '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c55', symbol: 'SWVXX', currency: 'USD', exchange: 'XNAS', description: 'Schwab Value Advantage Money Fund', kind: 'mutual_fund' };
const AAPL_CALL: SnapInstrument = { id: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b66', symbol: 'AAPL  270115C00200000', currency: 'USD', exchange: 'XNAS', description: 'AAPL Jan 15 2027 200 Call', kind: 'option' };

const USD_LISTINGS = [AAPL, MSFT, SPY];
const CAD_LISTINGS = [SHOP, VFV];
const ALPACA_LISTINGS = [
  { symbol: 'AAPL', exchange: 'NASDAQ' },
  { symbol: 'SPY', exchange: 'ARCA' },
  { symbol: 'TSLA', exchange: 'NASDAQ' },
];

/** A SnapTrade `AccountPosition` with JSON numbers, as SnapTrade sends them. */
function snapAt(instrument: SnapInstrument, units: number, price: number, cost: number | null, cashEquivalent = false): Record<string, unknown> {
  return { ...snapPosition(instrument, { units: null, cash_equivalent: cashEquivalent }), units, price, cost_basis: cost };
}

/** A small seeded generator (mulberry32): a failing run can be repeated with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface UserLoad {
  userId: string;
  /** The user's Alpaca account, linked before any event (the link API stores it with its keys). */
  alpacaAccountId: string | null;
  /** The user's events in the order they are appended. */
  events: Envelope[];
}

interface SnapAccount {
  externalId: string;
  name: string;
  currency: 'USD' | 'CAD';
}

/**
 * One user's events. `startMs` is the brokerages' as-of clock: every sync answer is a second
 * later than the previous one, except the late copies, which repeat an earlier answer.
 */
export function userLoad(userId: string, index: number, partitionCount: number, seed: number, startMs: number): UserLoad {
  const random = seededRandom(seed * 100_003 + index);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const money = (low: number, high: number) => Math.round((low + random() * (high - low)) * 100) / 100;
  const units = () => (random() < 0.2 ? Math.round(random() * 400) / 4 + 0.25 : Math.floor(1 + random() * 150));
  let clock = startMs;
  const nextAsOf = () => new Date((clock += 1000)).toISOString();

  const authorization = uuidFrom(random);
  const margin: SnapAccount = { externalId: uuidFrom(random), name: 'Margin', currency: 'USD' };
  const tfsa: SnapAccount = { externalId: uuidFrom(random), name: 'TFSA', currency: 'CAD' };
  const rrsp: SnapAccount = { externalId: uuidFrom(random), name: 'RRSP', currency: 'CAD' };
  const alpacaAccountId = index % 2 === 0 ? uuidFrom(random) : null;

  const envelope = (type: Envelope['type'], payload: unknown): Envelope => ({
    id: randomUUID(),
    type,
    user: userId,
    partition: partitionOf(userId, partitionCount),
    time: new Date().toISOString(),
    schema: ENVELOPE_SCHEMA_VERSION,
    payload,
  });

  const snapAccountsSynced = (accounts: readonly SnapAccount[]) =>
    envelope('accounts.synced', {
      provider: 'snaptrade',
      connections: [{ externalId: authorization, brokerageSlug: 'QUESTRADE', brokerageName: 'Questrade', status: 'active' }],
      accounts: accounts.map((a) => ({
        externalId: a.externalId,
        connectionExternalId: authorization,
        name: a.name,
        numberMasked: `••${a.externalId.slice(-4)}`,
        institutionName: 'Questrade',
        currency: a.currency,
        tradingAllowed: true,
      })),
      fetchedAt: new Date().toISOString(),
    });

  const snapPositionsSynced = (account: SnapAccount) => {
    const asOf = nextAsOf();
    const listings = account.currency === 'USD' ? USD_LISTINGS : [...CAD_LISTINGS, ...(random() < 0.3 ? USD_LISTINGS : [])];
    const chosen = listings.filter(() => random() < 0.6);
    const results = chosen.map((instrument) => snapAt(instrument, units(), money(20, 500), random() < 0.15 ? null : money(15, 450)));
    let cashEquivalentValue = 0;
    if (account.currency === 'USD' && random() < 0.4) {
      const fundUnits = Math.floor(100 + random() * 5000);
      cashEquivalentValue = fundUnits;
      const fund = snapAt(SWVXX, fundUnits, 1, 1, true);
      (fund.instrument as Record<string, unknown>).exchange = null;
      results.push(fund);
    }
    if (account.currency === 'USD' && random() < 0.25) {
      const option = snapAt(AAPL_CALL, pick([1, 2, -1]), money(1, 30), money(100, 2000));
      (option.instrument as Record<string, unknown>).multiplier = 100;
      results.push(option);
    }
    const cash = money(0, 20_000);
    const balances = [snapBalance(account.currency, Math.round((cash + cashEquivalentValue) * 100) / 100)];
    if (account.currency === 'CAD' && random() < 0.5) balances.push(snapBalance('USD', money(0, 3_000)));
    return envelope('positions.synced', {
      provider: 'snaptrade',
      accountId: account.externalId,
      positions: snapPositionsBody(asOf, results),
      balances,
      asOf,
      fetchedAt: asOf,
      reason: 'holdings-updated',
    });
  };

  /** What SnapTrade sends before the engine syncs an account (the sync job's positions.synced follows). */
  const holdingsUpdated = (account: SnapAccount): Envelope => {
    const webhookId = uuidFrom(random);
    const eventTimestamp = new Date(clock).toISOString().replace('Z', '123+00:00');
    return {
      ...envelope('snaptrade.webhook', {
        userId,
        clientId: 'FOLIOSTREAM-SANDBOX',
        accountId: account.externalId,
        eventType: 'ACCOUNT_HOLDINGS_UPDATED',
        webhookId,
        brokerageId: '905872ac-a7b1-4031-a31f-790cba1bfc94',
        eventTimestamp,
        brokerageAuthorizationId: authorization,
        details: Object.fromEntries(['total_value', 'positions', 'balances', 'orders'].map((k) => [k, { success: true, error: null }])),
      }),
      id: webhookId,
      meta: { eventType: 'ACCOUNT_HOLDINGS_UPDATED', webhookSchema: 'api_key', knownEventType: true },
    };
  };

  const alpacaAccountsSynced = (accountId: string) =>
    envelope('accounts.synced', {
      provider: 'alpaca',
      connections: [{ externalId: accountId, brokerageSlug: 'ALPACA', brokerageName: 'Alpaca', status: 'active' }],
      accounts: [
        {
          externalId: accountId,
          connectionExternalId: accountId,
          name: 'Alpaca brokerage account',
          numberMasked: `••${accountId.slice(-4)}`,
          institutionName: 'Alpaca',
          currency: 'USD',
          tradingAllowed: true,
        },
      ],
      fetchedAt: new Date().toISOString(),
    });

  const alpacaPositionsSynced = (accountId: string) => {
    const asOf = nextAsOf();
    const positions = ALPACA_LISTINGS.filter(() => random() < 0.6).map((l) => {
      const price = money(20, 500);
      return alpacaPosition({
        symbol: l.symbol,
        exchange: l.exchange,
        qty: String(units()),
        avg_entry_price: money(15, 450).toFixed(2),
        current_price: price.toFixed(2),
        lastday_price: (price * 0.99).toFixed(2),
      });
    });
    if (random() < 0.3) {
      positions.push(alpacaPosition({ symbol: 'GME', exchange: 'NYSE', qty: '-5', side: 'short', avg_entry_price: '24.10', current_price: money(15, 40).toFixed(2), lastday_price: '23.00' }));
    }
    const cash = money(0, 50_000).toFixed(2);
    return envelope('positions.synced', {
      provider: 'alpaca',
      accountId,
      positions,
      balances: alpacaAccount(cash, (Number(cash) * 2).toFixed(2)),
      asOf,
      fetchedAt: asOf,
      reason: 'alpaca-fill',
    });
  };

  const events: Envelope[] = [];
  const sent = new Map<string, Envelope[]>();
  const positions = (e: Envelope) => {
    const accountId = (e.payload as { accountId: string }).accountId;
    sent.set(accountId, [...(sent.get(accountId) ?? []), e]);
    events.push(e);
  };
  const snapSync = (account: SnapAccount) => {
    events.push(holdingsUpdated(account));
    positions(snapPositionsSynced(account));
  };
  // The first listing, then each account's first sync.
  events.push(snapAccountsSynced([margin, tfsa]));
  snapSync(margin);
  snapSync(tfsa);
  if (alpacaAccountId) {
    events.push(alpacaAccountsSynced(alpacaAccountId));
    positions(alpacaPositionsSynced(alpacaAccountId));
  }
  // Positions of an account the user has not been listed with yet: ignored.
  snapSync(rrsp);
  // The TFSA is closed and an RRSP opened: the TFSA's positions and cash go.
  events.push(snapAccountsSynced([margin, rrsp]));
  snapSync(rrsp);
  const open: string[] = [margin.externalId, rrsp.externalId, ...(alpacaAccountId ? [alpacaAccountId] : [])];
  const byId = new Map([margin, tfsa, rrsp].map((a) => [a.externalId, a]));
  const rounds = 4 + Math.floor(random() * 4);
  for (let round = 0; round < rounds; round++) {
    const accountId = pick(open);
    const earlier = sent.get(accountId) ?? [];
    if (earlier.length > 0 && random() < 0.2) {
      // A slow job's answer lands after a newer one: the same payload again, its older asOf.
      const late = pick(earlier);
      events.push(envelope('positions.synced', { ...(late.payload as object), reason: 'late-answer' }));
      continue;
    }
    if (accountId === alpacaAccountId) positions(alpacaPositionsSynced(accountId));
    else snapSync(byId.get(accountId)!);
  }
  if (index % 3 === 0) {
    // The TFSA comes back (listed again: no positions until its next sync, and an answer older
    // than its last one is still refused).
    events.push(snapAccountsSynced([margin, tfsa, rrsp]));
    const old = sent.get(tfsa.externalId)![0]!;
    events.push(envelope('positions.synced', { ...(old.payload as object), reason: 'late-answer' }));
    if (index % 2 === 0) snapSync(tfsa);
  }
  return { userId, alpacaAccountId, events };
}

/** `count` users' loads. */
export function portfolioLoads(prefix: string, count: number, partitionCount: number, seed: number, startMs = Date.parse('2026-11-02T14:30:00.000Z')): UserLoad[] {
  return Array.from({ length: count }, (_, i) => userLoad(`${prefix}-${i}`, i, partitionCount, seed, startMs));
}

/** All users' events interleaved round-robin (each user's own order kept). */
export function interleave(loads: readonly UserLoad[]): Envelope[] {
  const out: Envelope[] = [];
  const longest = Math.max(...loads.map((l) => l.events.length));
  for (let n = 0; n < longest; n++) for (const load of loads) if (n < load.events.length) out.push(load.events[n]!);
  return out;
}

/** What the Alpaca link API does before any sync: the user and the connection with its sealed keys. */
export async function linkAlpacaAccounts(ctx: AppContext, loads: readonly UserLoad[]): Promise<void> {
  const credentials = new CredentialsStore(ctx.db, ctx.secretBox);
  const linked = loads.filter((l) => l.alpacaAccountId);
  if (linked.length === 0) return;
  await ctx.db('users').insert(linked.map((l) => ({ id: l.userId }))).onConflict('id').ignore();
  await ctx.db('brokerage_connections').insert(
    linked.map((l) => {
      const id = randomUUID();
      return {
        id,
        user_id: l.userId,
        provider: 'alpaca',
        external_id: l.alpacaAccountId,
        brokerage_slug: 'ALPACA',
        brokerage_name: 'Alpaca',
        credentials_sealed: credentials.sealAlpaca(id, `PK${l.alpacaAccountId!.slice(0, 8).toUpperCase()}`, 'paper-secret'),
      };
    }),
  );
}

// --- the oracle ---------------------------------------------------------------------------------

interface ExpectedAccount {
  provider: 'snaptrade' | 'alpaca';
  externalId: string;
  institution: string;
  currency: string;
  open: boolean;
  /** The newest answer applied (kept when the account is removed, as `accounts.positions_as_of`). */
  asOf: string | null;
  /** Positions and cash as normalised from that answer; null once removed. */
  data: NormalizedAccountData | null;
}

/**
 * One user's accounts after their events, by the rules the README states: a provider's account
 * list replaces that provider's accounts (a missing one is removed with its positions and cash;
 * one listed again is open and empty until its next sync); a sync answer for an account not
 * (or no longer) listed changes nothing; an answer older than the one applied changes nothing.
 */
export function expectedAccounts(events: readonly Envelope[]): Map<string, ExpectedAccount> {
  const accounts = new Map<string, ExpectedAccount>();
  for (const event of events) {
    if (event.type === 'accounts.synced') {
      const payload = event.payload as { provider: 'snaptrade' | 'alpaca'; accounts: { externalId: string; institutionName: string; currency: string }[] };
      const listed = new Set<string>();
      for (const a of payload.accounts) {
        const key = `${payload.provider}:${a.externalId}`;
        listed.add(key);
        const known = accounts.get(key);
        accounts.set(key, {
          provider: payload.provider,
          externalId: a.externalId,
          institution: a.institutionName,
          currency: a.currency,
          open: true,
          asOf: known?.asOf ?? null,
          data: known?.open ? known.data : null,
        });
      }
      for (const [key, account] of accounts) {
        if (account.provider === payload.provider && account.open && !listed.has(key)) {
          account.open = false;
          account.data = null;
        }
      }
    } else if (event.type === 'positions.synced') {
      const payload = event.payload as Parameters<typeof normalizeSynced>[0];
      const account = accounts.get(`${payload.provider}:${payload.accountId}`);
      if (!account?.open) continue;
      const data = normalizeSynced(payload);
      if (account.asOf !== null && Date.parse(data.asOf) < Date.parse(account.asOf)) continue;
      account.data = data;
      account.asOf = data.asOf;
    }
  }
  return accounts;
}

/** Numeric columns are NUMERIC(38, 12): a computed figure is stored rounded to 12 places. */
function sameStored(stored: unknown, expected: string | null | undefined): boolean {
  if (expected === null || expected === undefined) return stored === null;
  if (stored === null || stored === undefined) return false;
  return dec(String(stored)).eq(dec(expected).round(12, 1));
}

function sameExact(actual: unknown, expected: string | null | undefined): boolean {
  if (expected === null || expected === undefined) return actual === null || actual === undefined;
  if (actual === null || actual === undefined) return false;
  return dec(String(actual)).eq(dec(expected));
}

function sameTime(stored: unknown, expected: string | null | undefined): boolean {
  if (expected === null || expected === undefined) return stored === null;
  return stored instanceof Date && stored.getTime() === Date.parse(expected);
}

export interface StreamUser {
  userId: string;
  partition: number;
  events: ReplayedEvent[];
}

/** Every user's events, read back from the partition streams (what the actors were given). */
export async function streamUsers(redis: Redis, keys: StreamKeys, partitionCount: number): Promise<StreamUser[]> {
  const out: StreamUser[] = [];
  for (let partition = 0; partition < partitionCount; partition++) {
    for (const [userId, events] of await replayPartitionByUser(redis, keys, partition)) out.push({ userId, partition, events });
  }
  return out;
}

/** Users whose checkpoint is not (yet) their last stream entry, with both ids. */
export async function checkpointsBehind(knex: Knex, users: readonly StreamUser[]): Promise<string[]> {
  const rows = await knex('actor_checkpoints').select('user_id', 'last_stream_id');
  const stored = new Map(rows.map((r) => [r.user_id as string, r.last_stream_id as string]));
  return users
    .filter((u) => stored.get(u.userId) !== u.events.at(-1)!.id)
    .map((u) => `${u.userId}: checkpoint ${stored.get(u.userId) ?? 'none'}, last entry ${u.events.at(-1)!.id}`);
}

/**
 * Compares the projection in Postgres with the oracle, for every user in the streams: one
 * `webhook_inbox` row per webhook with its stream entry, the accounts' status and as-of, every `account_positions` and `cash_balances` row, every `holdings`
 * row (aggregated by the pure `aggregateHoldings` over the expected accounts, with the stored FX
 * rates), and every checkpoint (the user's last entry). Returns one line per difference.
 */
export async function projectionMismatches(knex: Knex, users: readonly StreamUser[]): Promise<string[]> {
  const problems: string[] = [];
  const fx = createFxTable(FX_RATES);
  const userIds = users.map((u) => u.userId);
  const accountRows = await knex('accounts').whereIn('user_id', userIds).select('id', 'user_id', 'provider', 'external_id', 'status', 'positions_as_of');
  const positionRows = await knex('account_positions as p')
    .join('securities as s', 's.id', 'p.security_id')
    .whereIn('p.user_id', userIds)
    .select('p.*', 's.identity_key');
  const cashRows = await knex('cash_balances').whereIn('user_id', userIds);
  const holdingRows = await knex('holdings as h')
    .join('securities as s', 's.id', 'h.security_id')
    .whereIn('h.user_id', userIds)
    .select('h.*', 's.identity_key');
  const inbox = await knex('webhook_inbox').whereIn('snaptrade_user_id', userIds).select('webhook_id', 'snaptrade_user_id', 'event_type', 'stream_id', 'partition');
  const inboxOf = new Map<string, typeof inbox>();
  for (const row of inbox) inboxOf.set(row.snaptrade_user_id, [...(inboxOf.get(row.snaptrade_user_id) ?? []), row]);
  const checkpoints = new Map(
    (await knex('actor_checkpoints').whereIn('user_id', userIds).select('user_id', 'last_stream_id')).map((r) => [r.user_id as string, r.last_stream_id as string]),
  );
  const group = <T extends { user_id: string }>(rows: T[]) => {
    const map = new Map<string, T[]>();
    for (const row of rows) map.set(row.user_id, [...(map.get(row.user_id) ?? []), row]);
    return map;
  };
  const accountsOf = group(accountRows);
  const positionsOf = group(positionRows);
  const cashOf = group(cashRows);
  const holdingsOf = group(holdingRows);

  for (const user of users) {
    const say = (what: string) => problems.push(`${user.userId}: ${what}`);
    const lastId = user.events.at(-1)!.id;
    if (checkpoints.get(user.userId) !== lastId) say(`checkpoint ${checkpoints.get(user.userId) ?? 'none'}, last entry ${lastId}`);

    // Every webhook applied once, from its own entry: the inbox is the actor's per-event trace
    // (sync answers replace state, so a lost one can leave no other mark).
    const hooks = user.events.filter((e) => e.envelope.type === 'snaptrade.webhook');
    const recorded = new Map((inboxOf.get(user.userId) ?? []).map((r) => [r.webhook_id as string, r]));
    if (recorded.size !== hooks.length) say(`${recorded.size} webhook_inbox rows, expected ${hooks.length}`);
    for (const hook of hooks) {
      const row = recorded.get(hook.envelope.id);
      if (!row) say(`webhook ${hook.envelope.id} (entry ${hook.id}) not in the inbox`);
      else if (row.stream_id !== hook.id || row.partition !== user.partition || row.event_type !== 'ACCOUNT_HOLDINGS_UPDATED') {
        say(`webhook ${hook.envelope.id}: inbox ${JSON.stringify(row)}, expected entry ${hook.id} of partition ${user.partition}`);
      }
    }

    const expected = expectedAccounts(user.events.map((e) => e.envelope));
    const rows = accountsOf.get(user.userId) ?? [];
    const idOf = new Map(rows.map((r) => [`${r.provider}:${r.external_id}`, r.id as string]));
    if (rows.length !== expected.size) say(`${rows.length} account rows, expected ${expected.size}`);
    for (const [key, account] of expected) {
      const row = rows.find((r) => `${r.provider}:${r.external_id}` === key);
      if (!row) {
        say(`account ${key} missing`);
        continue;
      }
      if (row.status !== (account.open ? 'open' : 'removed')) say(`account ${key} is ${row.status}, expected ${account.open ? 'open' : 'removed'}`);
      if (!sameTime(row.positions_as_of, account.asOf)) say(`account ${key} positions_as_of ${row.positions_as_of?.toISOString()}, expected ${account.asOf}`);
    }

    // account_positions and cash_balances: one row per position (by security) and per currency.
    const wantPositions = new Map<string, { quantity: string; averageCost?: string; price?: string; previousClose?: string; currency: string; asOf: string }>();
    const wantCash = new Map<string, { amount: string; buyingPower?: string; asOf: string }>();
    const byAccountId = new Map<string, AccountPositions>();
    for (const [key, account] of expected) {
      if (!account.open || !account.data) continue;
      const id = idOf.get(key);
      if (!id) continue;
      const data = account.data;
      for (const p of data.positions) {
        if (dec(p.quantity).eq(0)) continue;
        wantPositions.set(`${id}/${p.security.identityKey}`, { quantity: p.quantity, averageCost: p.averageCost, price: p.price, previousClose: p.previousClose, currency: p.currency, asOf: data.asOf });
      }
      for (const b of data.balances) wantCash.set(`${id}/${b.currency}`, { amount: b.cash, buyingPower: b.buyingPower, asOf: data.asOf });
      byAccountId.set(id, { institution: account.institution, currency: account.currency, asOf: data.asOf, positions: data.positions, balances: data.balances });
    }
    const gotPositions = positionsOf.get(user.userId) ?? [];
    if (gotPositions.length !== wantPositions.size) say(`${gotPositions.length} account_positions rows, expected ${wantPositions.size}`);
    for (const row of gotPositions) {
      const key = `${row.account_id}/${row.identity_key}`;
      const want = wantPositions.get(key);
      if (!want) {
        say(`unexpected position ${key} (${row.quantity})`);
        continue;
      }
      const ok =
        sameExact(row.quantity, want.quantity) &&
        sameExact(row.average_cost, want.averageCost) &&
        sameExact(row.price, want.price) &&
        sameExact(row.previous_close, want.previousClose) &&
        row.currency.trim() === want.currency &&
        sameTime(row.as_of, want.asOf);
      if (!ok) say(`position ${key}: stored ${JSON.stringify([row.quantity, row.average_cost, row.price, row.previous_close, row.currency, row.as_of])}, expected ${JSON.stringify(want)}`);
    }
    const gotCash = cashOf.get(user.userId) ?? [];
    if (gotCash.length !== wantCash.size) say(`${gotCash.length} cash_balances rows, expected ${wantCash.size}`);
    for (const row of gotCash) {
      const key = `${row.account_id}/${row.currency.trim()}`;
      const want = wantCash.get(key);
      if (!want || !sameExact(row.amount, want.amount) || !sameExact(row.buying_power, want.buyingPower) || !sameTime(row.as_of, want.asOf)) {
        say(`cash ${key}: stored ${JSON.stringify([row.amount, row.buying_power, row.as_of])}, expected ${JSON.stringify(want ?? null)}`);
      }
    }

    // holdings: the pure aggregation of the expected accounts.
    const portfolio = aggregateHoldings(byAccountId, { baseCurrency: 'USD', fx });
    const gotHoldings = holdingsOf.get(user.userId) ?? [];
    if (gotHoldings.length !== portfolio.holdings.size) say(`${gotHoldings.length} holdings rows, expected ${portfolio.holdings.size}`);
    for (const row of gotHoldings) {
      const h = portfolio.holdings.get(row.identity_key);
      if (!h) {
        say(`unexpected holding ${row.identity_key} (${row.quantity})`);
        continue;
      }
      const shares = (row.accounts as { accountId: string; institution: string; quantity: string; averageCost: string | null; marketValue: string | null }[]) ?? [];
      const sharesOk =
        shares.length === h.accounts.length &&
        h.accounts.every((a, i) => {
          const s = shares[i]!;
          return s.accountId === a.accountId && s.institution === a.institution && sameExact(s.quantity, a.quantity) && sameExact(s.averageCost, a.averageCost) && sameExact(s.marketValue, a.marketValue);
        });
      const ok =
        sameStored(row.quantity, h.quantity) &&
        row.currency.trim() === h.currency &&
        sameStored(row.average_cost, h.averageCost) &&
        sameStored(row.cost_basis, h.costBasis) &&
        sameStored(row.price, h.price) &&
        sameTime(row.price_as_of, h.priceAsOf) &&
        sameStored(row.market_value, h.marketValue) &&
        sameStored(row.unrealized_pl, h.unrealizedPnl) &&
        row.base_currency.trim() === 'USD' &&
        sameStored(row.market_value_base, h.base.marketValue) &&
        row.account_count === h.accountCount &&
        sharesOk;
      if (!ok) {
        const stored = [row.quantity, row.average_cost, row.cost_basis, row.price, row.market_value, row.unrealized_pl, row.market_value_base, row.account_count, shares];
        const want = [h.quantity, h.averageCost, h.costBasis, h.price, h.marketValue, h.unrealizedPnl, h.base.marketValue, h.accountCount, h.accounts];
        say(`holding ${row.identity_key}: stored ${JSON.stringify(stored)}, expected ${JSON.stringify(want)}`);
      }
    }
  }
  return problems;
}

/** How many of the oracle's figures the comparison covered (so a test can show it compared something). */
export function expectedSize(users: readonly StreamUser[]): { holdings: number; positions: number; cash: number; removedAccounts: number } {
  const fx = createFxTable(FX_RATES);
  let holdings = 0;
  let positions = 0;
  let cash = 0;
  let removedAccounts = 0;
  for (const user of users) {
    const byId = new Map<string, AccountPositions>();
    for (const [key, a] of expectedAccounts(user.events.map((e) => e.envelope))) {
      if (!a.open) removedAccounts++;
      if (!a.open || !a.data) continue;
      positions += a.data.positions.length;
      cash += a.data.balances.length;
      byId.set(key, { institution: a.institution, currency: a.currency, asOf: a.data.asOf, positions: a.data.positions, balances: a.data.balances });
    }
    holdings += aggregateHoldings(byId, { baseCurrency: 'USD', fx }).holdings.size;
  }
  return { holdings, positions, cash, removedAccounts };
}
