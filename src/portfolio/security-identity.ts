/**
 * Identity of a security: which positions, at which providers, are the same thing.
 *
 * Rules
 *
 * 1. A provider position is described by a `SecurityRef`. Its own `identityKey` is the best
 *    identifier the provider gave, in this order:
 *      - `figi:<FIGI>`            (SnapTrade `figi_code` / `figi_instrument.figi_code`; FIGI is
 *                                  unique per security per trading venue),
 *      - `snaptrade:<uuid>`       (SnapTrade universal symbol / instrument id; one security +
 *                                  exchange across all brokerages),
 *      - `listing:<TICKER>@<MIC>:<CCY>` (everything else, e.g. Alpaca positions, which carry
 *                                  no FIGI). A ticker alone is never an identity: the same
 *                                  ticker trades on several exchanges and in several
 *                                  currencies. When the exchange is unknown or has no MIC the
 *                                  venue part is `~<CODE>` (or `~` with no code at all).
 * 2. Tickers are compared upper-case, without SnapTrade's exchange suffix (`raw_symbol`:
 *    "VAB.TO" -> "VAB"), with share-class separators written as a dot ("BRK-B", "BRK/B",
 *    "BRK.B" -> "BRK.B"). Exchange names and codes are mapped to ISO 10383 MICs
 *    (NASDAQ -> XNAS, NYSE -> XNYS, ARCA/NYSEARCA -> ARCX, ...); four-character codes are taken
 *    as MICs already.
 * 3. Two refs are the same security when they agree on the FIGI, on the SnapTrade id, or on the
 *    listing (ticker + MIC + currency, only when the MIC is known). Agreement is transitive:
 *    `SecurityIndex` keeps the groups (union-find over these "facets").
 * 4. The merged (canonical) identity of a group prefers FIGI, then the SnapTrade id, then the
 *    listing; among several of a kind, the smallest string. It is a function of the set of
 *    refs only, never of the order they were added in, so a full rebuild and an incremental
 *    update agree. The other fields of the merged ref come from the member with the best own
 *    key (FIGI first), ties broken by a stable ordering; `cashEquivalent` is true when any
 *    member says so.
 *
 * Consequence: an Alpaca AAPL (NASDAQ, USD) and a SnapTrade AAPL (FIGI BBG000B9XRY4, XNAS,
 * USD) are one holding keyed `figi:BBG000B9XRY4`; SHOP on XNYS in USD and SHOP.TO on XTSE in
 * CAD stay two holdings.
 */

export interface SecurityRef {
  /** Own key (from `securityRef`) or canonical key (from `SecurityIndex.resolve`). */
  identityKey: string;
  figi?: string;
  snaptradeSymbolId?: string;
  /** Normalised ticker without exchange suffix ("VAB", "BRK.B"). */
  ticker: string;
  /** ISO 10383 MIC of the listing exchange, when known. */
  exchangeMic?: string;
  /** Listing (trading) currency: prices of this security are in it. */
  currency: string;
  description?: string;
  /** Security type code: SnapTrade's (`cs`, `et`, `oef`, ...) or the instrument kind (`option`, `crypto`). */
  type?: string;
  /** A money-market fund or similar that the brokerage also counts as cash. */
  cashEquivalent: boolean;
}

/** The fields a resolver fills in; `securityRef` derives the key. */
export interface SecurityRefInput {
  figi?: string | null | undefined;
  snaptradeSymbolId?: string | null | undefined;
  ticker: string;
  /** A MIC or an exchange name/code; mapped with `exchangeToMic`. */
  exchange?: string | null | undefined;
  currency: string;
  description?: string | null | undefined;
  type?: string | null | undefined;
  cashEquivalent?: boolean | null | undefined;
}

/** Exchange names and codes (Alpaca, SnapTrade `code`, common aliases) -> MIC. */
const EXCHANGE_ALIASES: Readonly<Record<string, string>> = {
  NASDAQ: 'XNAS',
  NASDAQGS: 'XNAS',
  NASDAQGM: 'XNAS',
  NASDAQCM: 'XNAS',
  NMS: 'XNAS',
  NYSE: 'XNYS',
  ARCA: 'ARCX',
  NYSEARCA: 'ARCX',
  'NYSE ARCA': 'ARCX',
  AMEX: 'XASE',
  NYSEAMERICAN: 'XASE',
  'NYSE AMERICAN': 'XASE',
  NYSEMKT: 'XASE',
  BATS: 'BATS',
  CBOE: 'BATS',
  IEX: 'IEXG',
  OTC: 'OTCM',
  OTCM: 'OTCM',
  TSX: 'XTSE',
  TSE: 'XTSE',
  TOR: 'XTSE',
  TSXV: 'XTSX',
  CVE: 'XTSX',
  NEO: 'NEOE',
  CBOECA: 'NEOE',
  CSE: 'XCNQ',
  CNSX: 'XCNQ',
  LSE: 'XLON',
};

/** The MIC for an exchange name, code or MIC; `undefined` when unknown. */
export function exchangeToMic(exchange: string | null | undefined): string | undefined {
  if (exchange === null || exchange === undefined) return undefined;
  const code = exchange.trim().toUpperCase();
  if (code === '') return undefined;
  const alias = EXCHANGE_ALIASES[code];
  if (alias !== undefined) return alias;
  return /^[A-Z0-9]{4}$/.test(code) ? code : undefined;
}

/** Normalised ticker: trimmed, upper-case, share-class separator as ".". */
export function normalizeTicker(ticker: string): string {
  return ticker.trim().toUpperCase().replace(/[-/ ](?=[A-Z]{1,2}$)/, '.');
}

/** `listing:<TICKER>@<MIC>:<CCY>`; the venue is `~<CODE>` when there is no MIC. */
export function listingKey(ticker: string, exchangeMic: string | undefined, currency: string, rawExchange?: string): string {
  const venue = exchangeMic ?? `~${(rawExchange ?? '').trim().toUpperCase()}`;
  return `listing:${normalizeTicker(ticker)}@${venue}:${currency.toUpperCase()}`;
}

function clean(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Build a provider's `SecurityRef` with its own identity key (rule 1). */
export function securityRef(input: SecurityRefInput): SecurityRef {
  const figi = clean(input.figi)?.toUpperCase();
  const snaptradeSymbolId = clean(input.snaptradeSymbolId)?.toLowerCase();
  const ticker = normalizeTicker(input.ticker);
  if (ticker === '') throw new RangeError('a security needs a ticker');
  const exchangeMic = exchangeToMic(input.exchange);
  const currency = input.currency.trim().toUpperCase();
  const identityKey =
    figi !== undefined
      ? `figi:${figi}`
      : snaptradeSymbolId !== undefined
        ? `snaptrade:${snaptradeSymbolId}`
        : listingKey(ticker, exchangeMic, currency, clean(input.exchange));
  const ref: SecurityRef = { identityKey, ticker, currency, cashEquivalent: input.cashEquivalent === true };
  if (figi !== undefined) ref.figi = figi;
  if (snaptradeSymbolId !== undefined) ref.snaptradeSymbolId = snaptradeSymbolId;
  if (exchangeMic !== undefined) ref.exchangeMic = exchangeMic;
  const description = clean(input.description);
  if (description !== undefined) ref.description = description;
  const type = clean(input.type);
  if (type !== undefined) ref.type = type;
  return ref;
}

/** Every key under which `ref` can be matched with another ref (rule 3). Its own key is always one. */
export function facetsOf(ref: SecurityRef): string[] {
  const facets = new Set<string>([ref.identityKey]);
  if (ref.figi !== undefined) facets.add(`figi:${ref.figi}`);
  if (ref.snaptradeSymbolId !== undefined) facets.add(`snaptrade:${ref.snaptradeSymbolId}`);
  if (ref.exchangeMic !== undefined) facets.add(listingKey(ref.ticker, ref.exchangeMic, ref.currency));
  return [...facets];
}

const KEY_RANK: Readonly<Record<string, number>> = { figi: 0, snaptrade: 1, listing: 2 };

function keyRank(key: string): number {
  return KEY_RANK[key.slice(0, key.indexOf(':'))] ?? 3;
}

/** Ordering of keys for rule 4: kind first (figi, snaptrade, listing), then the string. */
export function compareIdentityKeys(a: string, b: string): number {
  return keyRank(a) - keyRank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** A total order on refs, used to pick a group's representative deterministically. */
function refSortKey(ref: SecurityRef): string {
  return JSON.stringify([
    ref.identityKey,
    ref.figi ?? '',
    ref.snaptradeSymbolId ?? '',
    ref.ticker,
    ref.exchangeMic ?? '',
    ref.currency,
    ref.description ?? '',
    ref.type ?? '',
    ref.cashEquivalent,
  ]);
}

function compareRefs(a: SecurityRef, b: SecurityRef): number {
  const byKey = compareIdentityKeys(a.identityKey, b.identityKey);
  if (byKey !== 0) return byKey;
  const ka = refSortKey(a);
  const kb = refSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

interface Group {
  canonical: SecurityRef;
  facets: readonly string[];
}

/**
 * Groups refs that denote the same security (rules 3 and 4). A plain data structure: `add`
 * refs, then `resolve` any added ref (or look up a key) to the merged canonical ref. The
 * result depends only on the set of refs added.
 */
export class SecurityIndex {
  private readonly parent = new Map<string, string>();
  private readonly refs = new Map<string, SecurityRef>(); // refSortKey -> ref
  private groups: Map<string, Group> | null = null; // root -> group, built lazily
  private canonicalByFacet: Map<string, string> | null = null;

  static from(refs: Iterable<SecurityRef>): SecurityIndex {
    const index = new SecurityIndex();
    for (const ref of refs) index.add(ref);
    return index;
  }

  add(ref: SecurityRef): void {
    const sortKey = refSortKey(ref);
    if (this.refs.has(sortKey)) return;
    this.refs.set(sortKey, ref);
    const facets = facetsOf(ref);
    for (const facet of facets) if (!this.parent.has(facet)) this.parent.set(facet, facet);
    const first = facets[0]!;
    for (const facet of facets.slice(1)) this.union(first, facet);
    this.groups = null;
    this.canonicalByFacet = null;
  }

  /** The canonical key for a ref's own key or any facet; `undefined` for a key never added. */
  canonicalKey(key: string): string | undefined {
    this.build();
    return this.canonicalByFacet!.get(key);
  }

  /** The merged ref of the group `ref` belongs to (adds it first if needed). */
  resolve(ref: SecurityRef): SecurityRef {
    this.add(ref);
    return this.groupOf(ref.identityKey)!.canonical;
  }

  /** The merged ref for a key (own key, facet or canonical key). */
  lookup(key: string): SecurityRef | undefined {
    return this.groupOf(key)?.canonical;
  }

  /** Every facet key of the group a key belongs to, sorted. */
  facets(key: string): readonly string[] {
    return this.groupOf(key)?.facets ?? [];
  }

  /** All canonical refs, sorted by identity key. */
  securities(): SecurityRef[] {
    this.build();
    return [...this.groups!.values()].map((g) => g.canonical).sort((a, b) => compareIdentityKeys(a.identityKey, b.identityKey));
  }

  /** Groups whose members disagree on the FIGI (merged through a listing or SnapTrade id): worth a log line. */
  conflicts(): Array<{ identityKey: string; figis: string[] }> {
    this.build();
    const out: Array<{ identityKey: string; figis: string[] }> = [];
    for (const group of this.groups!.values()) {
      const figis = group.facets.filter((f) => f.startsWith('figi:')).map((f) => f.slice(5));
      if (figis.length > 1) out.push({ identityKey: group.canonical.identityKey, figis });
    }
    return out;
  }

  private groupOf(key: string): Group | undefined {
    this.build();
    if (!this.parent.has(key)) return undefined;
    return this.groups!.get(this.find(key));
  }

  private find(key: string): string {
    let root = key;
    while (this.parent.get(root) !== root) root = this.parent.get(root)!;
    let node = key;
    while (node !== root) {
      const next = this.parent.get(node)!;
      this.parent.set(node, root);
      node = next;
    }
    return root;
  }

  private union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    // Keep the smaller key as root: cosmetic only, canonical keys are computed from members.
    if (ra < rb) this.parent.set(rb, ra);
    else this.parent.set(ra, rb);
  }

  private build(): void {
    if (this.groups !== null) return;
    const members = new Map<string, SecurityRef[]>();
    for (const ref of this.refs.values()) {
      const root = this.find(ref.identityKey);
      const list = members.get(root);
      if (list) list.push(ref);
      else members.set(root, [ref]);
    }
    const facetsByRoot = new Map<string, string[]>();
    for (const facet of this.parent.keys()) {
      const root = this.find(facet);
      const list = facetsByRoot.get(root);
      if (list) list.push(facet);
      else facetsByRoot.set(root, [facet]);
    }
    const groups = new Map<string, Group>();
    const canonicalByFacet = new Map<string, string>();
    for (const [root, refs] of members) {
      const facets = (facetsByRoot.get(root) ?? []).sort(compareIdentityKeys);
      const canonical = mergeRefs(refs, facets);
      groups.set(root, { canonical, facets });
      for (const facet of facets) canonicalByFacet.set(facet, canonical.identityKey);
    }
    this.groups = groups;
    this.canonicalByFacet = canonicalByFacet;
  }
}

/** Two refs with the same fields (the one a holding keeps can then be either). */
export function sameSecurityRef(a: SecurityRef, b: SecurityRef): boolean {
  return (
    a.identityKey === b.identityKey &&
    a.ticker === b.ticker &&
    a.currency === b.currency &&
    a.cashEquivalent === b.cashEquivalent &&
    a.figi === b.figi &&
    a.snaptradeSymbolId === b.snaptradeSymbolId &&
    a.exchangeMic === b.exchangeMic &&
    a.description === b.description &&
    a.type === b.type
  );
}

/** Rule 4: the merged ref of one group. `facets` is sorted with `compareIdentityKeys`. */
function mergeRefs(refs: SecurityRef[], facets: readonly string[]): SecurityRef {
  const ordered = [...refs].sort(compareRefs);
  const best = ordered[0]!;
  const figi = facets.find((f) => f.startsWith('figi:'))?.slice(5);
  const snaptradeSymbolId = facets.find((f) => f.startsWith('snaptrade:'))?.slice(10);
  const merged: SecurityRef = {
    identityKey: facets[0]!,
    ticker: best.ticker,
    currency: best.currency,
    cashEquivalent: ordered.some((r) => r.cashEquivalent),
  };
  if (figi !== undefined) merged.figi = figi;
  if (snaptradeSymbolId !== undefined) merged.snaptradeSymbolId = snaptradeSymbolId;
  const mic = ordered.find((r) => r.exchangeMic !== undefined)?.exchangeMic;
  if (mic !== undefined) merged.exchangeMic = mic;
  const description = ordered.find((r) => r.description !== undefined)?.description;
  if (description !== undefined) merged.description = description;
  const type = ordered.find((r) => r.type !== undefined)?.type;
  if (type !== undefined) merged.type = type;
  // A member with the same fields (one ref alone, mostly) stands for the group: no second copy.
  return ordered.find((r) => sameSecurityRef(r, merged)) ?? merged;
}
