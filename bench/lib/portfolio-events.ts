import { ENVELOPE_SCHEMA_VERSION, type Envelope } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';

/**
 * Portfolio events as the sync jobs append them, for benchmarks that drive the worker role: a
 * user's first event lists a SnapTrade connection with two accounts (`accounts.synced`), every
 * later one is one account's positions and balance in SnapTrade's wire shape
 * (`positions.synced`), over synthetic US listings (`SYN00001`... as the sandbox's price book
 * lists them with `syntheticCount`). Deterministic in (user, n).
 */

export const syntheticSymbol = (i: number) => `SYN${String(i + 1).padStart(5, '0')}`;

/** A small seeded generator (mulberry32): the same seed, the same events. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PortfolioEventOptions {
  /** How user ids are spelled (`<prefix><u>`). */
  userPrefix: string;
  partitionCount: number;
  /** Synthetic listings the positions are drawn from. */
  securities: number;
  /** Positions per account. */
  positions: number;
}

/** A user's SnapTrade connection listing `accounts` (USD, trading allowed): the first is a margin account, the rest TFSAs. */
export function accountsSynced(
  base: Pick<Envelope, 'user' | 'partition' | 'schema'>,
  time: string,
  ids: { id: string; connection: string; accounts: readonly string[] },
): Envelope {
  return {
    ...base,
    id: ids.id,
    type: 'accounts.synced',
    time,
    payload: {
      provider: 'snaptrade',
      connections: [{ externalId: ids.connection, brokerageSlug: 'QUESTRADE', brokerageName: 'Questrade', status: 'active' }],
      accounts: ids.accounts.map((a, i) => ({
        externalId: a,
        connectionExternalId: ids.connection,
        name: i === 0 ? 'Margin' : 'TFSA',
        numberMasked: '****1234',
        institutionName: 'Questrade',
        currency: 'USD',
        tradingAllowed: true,
      })),
    },
  };
}

/** The n-th event of user u. */
export function portfolioEvent(options: PortfolioEventOptions, u: number, n: number): Envelope {
  const user = `${options.userPrefix}${u}`;
  const base = { user, partition: partitionOf(user, options.partitionCount), schema: ENVELOPE_SCHEMA_VERSION };
  const time = new Date(Date.now() - 3_600_000 + n * 1_000).toISOString();
  const accounts = [`${user}-a`, `${user}-b`];
  if (n === 0) return accountsSynced(base, time, { id: `accounts-${user}`, connection: `auth-${user}`, accounts });
  const rand = seededRandom(u * 100_003 + n);
  const account = accounts[n % 2]!;
  // Distinct listings within an account: steps of a prime from a random start.
  const start = Math.floor(rand() * options.securities);
  const instruments = Array.from({ length: options.positions }, (_, i) => {
    const listing = (start + i * 7_919) % options.securities;
    const symbol = syntheticSymbol(listing);
    // One instrument id per listing, as SnapTrade's universal symbol ids are: it is the
    // security's identity, so ids shared across listings would rename one security row on
    // every commit (and every user's commit would wait on that row).
    return { id: `00000000-0000-4000-8000-${String(listing).padStart(12, '0')}`, symbol, description: `Synthetic ${symbol}`, figi: null };
  });
  return positionsSynced(base, time, { id: `sync-${user}-${n}`, account }, instruments, rand);
}

/** A listing held in a sync result. */
export interface SyncedInstrument {
  id: string;
  symbol: string;
  description: string;
  figi: string | null;
}

/** One account's positions in `instruments` (random units, price and cost from `rand`) and a USD cash balance, in SnapTrade's wire shape. */
export function positionsSynced(
  base: Pick<Envelope, 'user' | 'partition' | 'schema'>,
  time: string,
  ids: { id: string; account: string },
  instruments: readonly SyncedInstrument[],
  rand: () => number,
): Envelope {
  const results = instruments.map((instrument) => ({
    instrument: {
      kind: 'stock',
      id: instrument.id,
      symbol: instrument.symbol,
      raw_symbol: instrument.symbol,
      description: instrument.description,
      currency: 'USD',
      exchange: 'XNAS',
      figi_instrument: instrument.figi === null ? null : { figi_code: instrument.figi, figi_share_class: null },
    },
    units: String(1 + Math.floor(rand() * 200)),
    price: (50 + rand() * 400).toFixed(2),
    cost_basis: (40 + rand() * 300).toFixed(2),
    currency: 'USD',
    cash_equivalent: false,
    tax_lots: [],
  }));
  return {
    ...base,
    id: ids.id,
    type: 'positions.synced',
    time,
    payload: {
      provider: 'snaptrade',
      accountId: ids.account,
      positions: { results, data_freshness: { as_of: time } },
      balances: [{ currency: { id: '00000000-0000-4000-8000-000000000001', code: 'USD', name: 'USD' }, cash: Math.round(rand() * 10_000), buying_power: 1_000 }],
      asOf: time,
      fetchedAt: time,
    },
  };
}
