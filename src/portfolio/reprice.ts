import { fxRate, type FxTable } from './currency.ts';
import { str, type DecimalString } from './decimal.ts';
import { choosePrice, dayChangeMissing, type DayChangeMissing, type Holding, type HoldingAccountShare, type PriceQuote, type ValuationContext } from './holding.ts';
import type { PortfolioTotals } from './portfolio-totals.ts';
import { addExact, exact, formatParts, formatScaled, mulExact, mulScaled, parseScaled, SCALED_ZERO, ScaledSum, subScaled, type Scaled } from './scaled-decimal.ts';

/**
 * The price-tick fast path: a holding revalued with a new quote in scaled-integer arithmetic, with
 * everything that does not move with the price (quantities, cost, the base rate, the other price
 * candidates) parsed once per holding and kept beside it.
 *
 * It applies when the tick's quote wins the price choice outright: in the listing currency and
 * strictly newer than every other candidate (the quotes under the holding's other facets and the
 * prices its accounts reported), which is every live tick of a held security. In any other case
 * `priceEntry` returns `null` and the caller runs `computeHolding`.
 *
 * Numbers first, objects when read: `priceEntry` only moves numbers (the holding's live price, its
 * figures and its contribution to the totals) and marks the holding unsettled; `settleHolding`
 * builds the holding object from them, the same object `computeHolding` would build, digit for
 * digit (property-tested). A tick thus allocates little that outlives it: rebuilding each holding
 * on every tick made objects that lived about a second, which the GC then copied and promoted
 * (a fifth of a worker's CPU in bench:ticks).
 */

/** A holding's figures at a live quote, as numbers. */
interface LivePrice {
  quote: PriceQuote;
  price: Scaled;
  previousClose: Scaled | null;
  marketValue: Scaled;
  unrealizedPnl: Scaled | null;
  dayChange: Scaled | null;
  baseMarketValue: Scaled | null;
  baseUnrealizedPnl: Scaled | null;
  baseDayChange: Scaled | null;
}

/** What a live price changed in a holding, as canonical text (what a client is sent). */
export interface HoldingPriceText {
  identityKey: string;
  price: string | null;
  priceAsOf: string | null;
  marketValue: string | null;
  baseMarketValue: string | null;
  unrealizedPnl: string | null;
  dayChange: string | null;
  baseUnrealizedPnl: string | null;
  baseDayChange: string | null;
  /** Why the day change in the base currency is missing (`null` when it is not). */
  dayChangeMissing: DayChangeMissing | null;
  /** Each account's market value, in the order of the holding's `accounts`. */
  accountMarketValues: (string | null)[];
  /** The same in the base currency. */
  accountBaseMarketValues: (string | null)[];
}

/**
 * The price text of a holding listed in the base currency and held in one account, the usual
 * holding: its base figures and its one account's value are its own figures, so a tick neither
 * repeats them nor puts them in arrays (`holdingPriceTextOf` spells them out). Its three figures
 * are kept as the scaled integers they were computed as (`n / 10^s`, safe integers) and printed
 * when read.
 *
 * The tick path keeps one per holding (`Entry.soleText`) and moves it to each tick's figures
 * (`moveTo`): it says the holding's latest tick, not the tick that returned it. A tick's text waits
 * in a pending delta for a window and the user's previous send, and one made per tick was most of
 * what the worker's scavenges copied and promoted at 20,000 ticks/s. Every tick of a holding is
 * pushed to the same pending delta, so the figures read when the delta is written are the ones it
 * must carry; a reader that keeps a text past the next tick takes a copy (`holdingPriceTextOf`).
 */
export class SoleAccountPriceText {
  /** The realtime layer's wrapper of this text, made once with it (`preparedRepricing`). */
  wire: object | undefined = undefined;

  constructor(
    public identityKey: string,
    public price: string,
    public priceAsOf: string,
    public marketValueN: number,
    public marketValueS: number,
    /** `null` when the holding has no cost basis. */
    public unrealizedPnlN: number | null,
    public unrealizedPnlS: number,
    /** `null` when there is no previous close (`dayChangeMissing` says so). */
    public dayChangeN: number | null,
    public dayChangeS: number,
    public dayChangeMissing: DayChangeMissing | null,
  ) {}

  /** The same fields as the constructor's, in place. */
  moveTo(
    identityKey: string,
    price: string,
    priceAsOf: string,
    marketValueN: number,
    marketValueS: number,
    unrealizedPnlN: number | null,
    unrealizedPnlS: number,
    dayChangeN: number | null,
    dayChangeS: number,
    dayChangeMissing: DayChangeMissing | null,
  ): void {
    this.identityKey = identityKey;
    this.price = price;
    this.priceAsOf = priceAsOf;
    this.marketValueN = marketValueN;
    this.marketValueS = marketValueS;
    this.unrealizedPnlN = unrealizedPnlN;
    this.unrealizedPnlS = unrealizedPnlS;
    this.dayChangeN = dayChangeN;
    this.dayChangeS = dayChangeS;
    this.dayChangeMissing = dayChangeMissing;
  }

  get marketValue(): string {
    return formatParts(this.marketValueN, this.marketValueS);
  }

  get unrealizedPnl(): string | null {
    return this.unrealizedPnlN === null ? null : formatParts(this.unrealizedPnlN, this.unrealizedPnlS);
  }

  get dayChange(): string | null {
    return this.dayChangeN === null ? null : formatParts(this.dayChangeN, this.dayChangeS);
  }
}

/** What a live price changed in a holding: every figure, or the usual holding's own (`SoleAccountPriceText`). */
export type PriceText = HoldingPriceText | SoleAccountPriceText;

/** Every figure of a price text. */
export function holdingPriceTextOf(t: PriceText): HoldingPriceText {
  if (!(t instanceof SoleAccountPriceText)) return t;
  const { marketValue, unrealizedPnl, dayChange } = t;
  return {
    identityKey: t.identityKey,
    price: t.price,
    priceAsOf: t.priceAsOf,
    marketValue,
    baseMarketValue: marketValue,
    unrealizedPnl,
    dayChange,
    baseUnrealizedPnl: unrealizedPnl,
    baseDayChange: dayChange,
    dayChangeMissing: t.dayChangeMissing,
    accountMarketValues: [marketValue],
    accountBaseMarketValues: [marketValue],
  };
}

/** What the other price candidates say, for ticks on one facet. */
interface OtherCandidates {
  /** The facet whose ticks these are for. */
  facet: string;
  /** The quote under each facet when this was read (`undefined` at the ticked facet and where none). */
  quotes: readonly (PriceQuote | undefined)[];
  /** Newest time among the other candidates (-Infinity when there are none). */
  newestMs: number;
  /** The previous close a tick without one takes (the first other candidate with one, newest first). */
  previousClose: Scaled | null;
}

/** What does not move with the price, per holding (shared by the holdings a tick derives from it). */
interface Fixed {
  fx: FxTable;
  baseCurrency: string;
  quantity: Scaled;
  quantityWithCost: Scaled;
  costBasis: Scaled | null;
  /**
   * Each account's quantity, in the order of the holding's `accounts`; `null` when one account
   * holds the whole quantity (its figures are the holding's, and `quantity` is its quantity).
   */
  shareQuantities: readonly Scaled[] | null;
  /** Listing -> base currency: `identity`, a rate, or `null` when there is none. */
  baseRate: Scaled | 'identity' | null;
  /**
   * The other candidates as of the last tick, for the facet it came under. One slot, not a map by
   * facet: a holding's ticks come under the one facet its ticker maps to, and a map per holding
   * cost about 280 bytes of heap each (10,000 portfolios hold 250,000 of them).
   */
  others: OtherCandidates | undefined;
}

/**
 * A holding's numbers. What a tick leaves here is only references to objects it shares with
 * other portfolios (the quote, its parsed price) or with this entry's other ticks (the previous
 * close): the figures are recomputed from them when needed. Per-tick figures kept here lived until
 * the security's next tick (about a second), long enough to be promoted and collected by major GCs.
 */
export interface Entry {
  /** The holding object these numbers are of (an entry is only used for this very object). */
  holding: Holding;
  fixed: Fixed;
  // What `holding` itself adds to the totals is read from its text when a tick first needs it
  // (`contributionOf`), not kept: three numbers and an object per holding of every portfolio in
  // memory, for a figure read once per load or settle.
  /** A live quote newer than `holding`, not built into a holding object yet. */
  liveQuote: PriceQuote | undefined;
  /** Its time (`quoteTime`), kept here: the quote itself is cold by the security's next tick. */
  liveAsOfMs: number;
  /** Its price, and the previous close it is valued against (meaningful with `liveQuote`). */
  livePrice: Scaled;
  livePreviousClose: Scaled | null;
  /**
   * Whether the fields below are known: what the holding adds to the totals' sums (base currency,
   * 0 when unknown) at its live price, or as its object says when it has none. Read from the
   * object's text when a tick first needs them; numbers in the entry rather than an object, so a
   * tick neither recomputes the figures at the previous quote nor leaves an object here.
   */
  contributes: boolean;
  marketValueN: number | bigint;
  marketValueS: number;
  unrealizedPnlN: number | bigint;
  unrealizedPnlS: number;
  dayChangeN: number | bigint;
  dayChangeS: number;
  /** 1 when the holding has no day change in the base currency (counted, never silently left out). */
  withoutDayChange: 0 | 1;
  /** The usual holding's tick text, moved to each tick's figures (see `SoleAccountPriceText`). */
  soleText: SoleAccountPriceText | undefined;
}

/**
 * The numbers behind one portfolio's holdings (by holding key) and totals, kept beside its state
 * (plain maps rather than WeakMaps keyed by every new holding object, which cost the GC dearly).
 */
export class RepriceCache {
  /**
   * By holding key. The entries with a `liveQuote` are the holdings whose live price is not built
   * into their object yet (no set of their keys beside it: a set per portfolio in memory cost
   * about 700 bytes, for a walk of a few dozen entries when the actor next applies events).
   */
  readonly holdings = new Map<string, Entry>();
  /** The totals as the live prices moved them, from the totals object `of`. */
  totals: LiveTotals | undefined;
}

/**
 * A portfolio's totals as live prices move them: its price-dependent sums, changed in place per
 * tick, and the counts that move with prices, from the settled totals object `of`.
 */
export class LiveTotals {
  of: PortfolioTotals;
  readonly investedValue: ScaledSum;
  readonly cashEquivalentValue: ScaledSum;
  readonly unrealizedPnl: ScaledSum;
  readonly dayChange: ScaledSum;
  readonly cash: Scaled;
  unpricedHoldings: number;
  holdingsWithoutDayChange: number;
  /** Whether a tick moved them since `of`. */
  moved = false;
  /** Their text (`liveTotals`), made once per move when first read. */
  view: PortfolioTotals | undefined = undefined;

  constructor(of: PortfolioTotals) {
    this.of = of;
    this.investedValue = new ScaledSum(parseScaled(of.investedValue));
    this.cashEquivalentValue = new ScaledSum(parseScaled(of.cashEquivalentValue));
    this.unrealizedPnl = new ScaledSum(parseScaled(of.unrealizedPnl));
    this.dayChange = new ScaledSum(parseScaled(of.dayChange));
    this.cash = parseScaled(of.cash);
    this.unpricedHoldings = of.unpricedHoldings;
    this.holdingsWithoutDayChange = of.holdingsWithoutDayChange;
  }
}

const scaledOrNull = (text: string | null): Scaled | null => (text === null ? null : parseScaled(text));
const orZero = (value: Scaled | null): Scaled => value ?? SCALED_ZERO;
const textOrNull = (value: Scaled | null): string | null => (value === null ? null : formatScaled(value));

/** The entry's contribution as its holding object says (the figures its text was printed from). */
function contributeAsHolding(entry: Entry): void {
  const { base } = entry.holding;
  const marketValue = orZero(scaledOrNull(base.marketValue));
  const unrealizedPnl = orZero(scaledOrNull(base.unrealizedPnl));
  const dayChange = orZero(scaledOrNull(base.dayChange));
  setContribution(entry, marketValue.n, marketValue.s, unrealizedPnl.n, unrealizedPnl.s, dayChange.n, dayChange.s, base.dayChange === null ? 1 : 0);
  entry.contributes = true;
}

/** Keeps a contribution in the entry's own number fields (see `Entry.contributes`). */
function setContribution(entry: Entry, marketValueN: number | bigint, marketValueS: number, unrealizedPnlN: number | bigint, unrealizedPnlS: number, dayChangeN: number | bigint, dayChangeS: number, withoutDayChange: 0 | 1): void {
  entry.marketValueN = marketValueN;
  entry.marketValueS = marketValueS;
  entry.unrealizedPnlN = unrealizedPnlN;
  entry.unrealizedPnlS = unrealizedPnlS;
  entry.dayChangeN = dayChangeN;
  entry.dayChangeS = dayChangeS;
  entry.withoutDayChange = withoutDayChange;
}

/**
 * The entry of the holding under `key`, describing `holding` in `context`. One entry object per key
 * for the cache's life, rebound in place when the holding object or the valuation changes: a live
 * slot (valuation.ts) holds it and reaches it without a lookup.
 */
export function entryFor(cache: RepriceCache, key: string, holding: Holding, context: ValuationContext): Entry {
  const known = cache.holdings.get(key);
  // An entry with a live price stays bound to its object until settled (a new FX table or base
  // currency makes a new portfolio state, and with it a new cache).
  if (known && known.holding === holding && (known.liveQuote !== undefined || (known.fixed.fx === context.fx && known.fixed.baseCurrency === context.baseCurrency))) {
    return known;
  }
  const fixed = fixedOf(holding, context);
  if (known) {
    known.holding = holding;
    known.fixed = fixed;
    known.liveQuote = undefined;
    known.livePrice = SCALED_ZERO;
    known.livePreviousClose = null;
    known.contributes = false;
    return known;
  }
  const entry: Entry = {
    holding,
    fixed,
    liveQuote: undefined,
    liveAsOfMs: 0,
    livePrice: SCALED_ZERO,
    livePreviousClose: null,
    contributes: false,
    marketValueN: 0,
    marketValueS: 0,
    unrealizedPnlN: 0,
    unrealizedPnlS: 0,
    dayChangeN: 0,
    dayChangeS: 0,
    withoutDayChange: 0,
    soleText: undefined,
  };
  cache.holdings.set(key, entry);
  return entry;
}

function fixedOf(holding: Holding, context: ValuationContext): Fixed {
  const rate = fxRate(context.fx, holding.currency, context.baseCurrency);
  const quantity = parseScaled(holding.quantity);
  // The same text (one string when every position has a cost) is the same number: one object.
  // Canonical text parses to the same scaled value: a sole share of the same text is `quantity`.
  const soleShare = holding.accounts.length === 1 && holding.accounts[0]!.quantity === holding.quantity;
  return {
    fx: context.fx,
    baseCurrency: context.baseCurrency,
    quantity,
    quantityWithCost: holding.quantityWithCost === holding.quantity ? quantity : parseScaled(holding.quantityWithCost),
    costBasis: scaledOrNull(holding.costBasis),
    shareQuantities: soleShare ? null : holding.accounts.map((a) => parseScaled(a.quantity)),
    baseRate: rate.rate === null ? null : rate.path === 'identity' ? 'identity' : parseScaled(str(rate.rate)),
    others: undefined,
  };
}

function sameOtherQuotes(facets: readonly string[], facet: string, prices: ReadonlyMap<string, PriceQuote>, quotes: readonly (PriceQuote | undefined)[]): boolean {
  for (let i = 0; i < facets.length; i++) {
    const f = facets[i]!;
    if (f !== facet && prices.get(f) !== quotes[i]) return false;
  }
  return true;
}

/** The quotes of a one-facet holding ticked under that facet: nothing else (shared, never written). */
const ONLY_THE_TICKED_FACET: readonly undefined[] = Object.freeze([undefined]);

function othersFor(holding: Holding, fixed: Fixed, facet: string, prices: ReadonlyMap<string, PriceQuote>): OtherCandidates {
  const known = fixed.others;
  if (known && known.facet === facet && sameOtherQuotes(holding.facets, facet, prices, known.quotes)) return known;
  const quotes = holding.facets.length === 1 && holding.facets[0] === facet ? ONLY_THE_TICKED_FACET : holding.facets.map((f) => (f === facet ? undefined : prices.get(f)));
  const present = quotes.filter((q): q is PriceQuote => q !== undefined);
  let newestMs = -Infinity;
  for (const quote of present) newestMs = Math.max(newestMs, quoteTime(quote));
  for (const share of holding.accounts) if (share.reportedPrice !== null) newestMs = Math.max(newestMs, Date.parse(share.positionsAsOf));
  const { previousClose } = choosePrice(holding.accounts, present, holding.currency, fixed.fx);
  const others: OtherCandidates = { facet, quotes, newestMs, previousClose: previousClose === null ? null : parseScaled(str(previousClose)) };
  fixed.others = others;
  return others;
}

/** A quote's time, price and previous close as numbers (`undefined` until first needed). */
interface ParsedQuote {
  asOfMs: number;
  price: Scaled | undefined;
  previousClose: Scaled | undefined;
}

/**
 * A quote made from a price tick (`quoteAt`), with its parse made with it and kept on it. A tick's
 * quote reaches every portfolio holding the security: kept in `parsedQuotes`, each tick cost a
 * hash lookup per portfolio it reached and an entry the GC had to walk at every scavenge
 * (bench:ticks' worker profile: 6 % of its CPU in the lookups alone). The parse is a private field,
 * so a tick quote is still only its fields to JSON and to equality.
 */
export class TickQuote implements PriceQuote {
  price: DecimalString;
  asOf: string;
  declare previousClose?: DecimalString;
  readonly #parsed: ParsedQuote;

  /** `atMs` as a `Date` keeps it (whole milliseconds): the time `Date.parse(asOf)` gives back. */
  constructor(price: DecimalString, at: Date, previousClose?: DecimalString) {
    this.price = price;
    this.asOf = at.toISOString();
    if (previousClose !== undefined) this.previousClose = previousClose;
    this.#parsed = { asOfMs: at.getTime(), price: undefined, previousClose: undefined };
  }

  static parsedOf(quote: PriceQuote): ParsedQuote | undefined {
    return #parsed in quote ? (quote as TickQuote).#parsed : undefined;
  }
}

/** Per quote object not made from a tick (stored, reported): its time and prices, parsed once. */
const parsedQuotes = new WeakMap<PriceQuote, ParsedQuote>();

/** `Date.parse(quote.asOf)`, remembered per quote object. */
export function quoteTime(quote: PriceQuote): number {
  return parsedQuote(quote).asOfMs;
}

function parsedQuote(quote: PriceQuote): ParsedQuote {
  const own = TickQuote.parsedOf(quote);
  if (own !== undefined) return own;
  let parsed = parsedQuotes.get(quote);
  if (!parsed) parsedQuotes.set(quote, (parsed = { asOfMs: Date.parse(quote.asOf), price: undefined, previousClose: undefined }));
  return parsed;
}

function toBase(amount: Scaled | null, rate: Fixed['baseRate']): Scaled | null {
  if (amount === null || rate === null) return null;
  return rate === 'identity' ? amount : mulScaled(amount, rate);
}

/**
 * Prices the holding an entry describes (its `holding`, in the valuation it was made for) with
 * `quote`, stored under `facet` (one of its facets), in numbers, and moves `totals` by what its
 * contribution to them changed: the holding is marked unsettled until `settleHolding`. Returns what
 * moved, as text; `null` when the quote does not win the price choice outright and
 * `computeHolding` must decide (nothing is changed then). `prices` is the price book the quote was
 * stored in; `totals` the portfolio's (`LiveTotals` of its settled totals). The quote must be
 * canonical (as `priceQuote` and `quoteAt` make it).
 */
export function priceEntry(entry: Entry, facet: string, quote: PriceQuote, prices: ReadonlyMap<string, PriceQuote>, totals: LiveTotals): PriceText | null {
  const { fixed, holding } = entry;
  if (quote.currency !== undefined && quote.currency !== holding.currency) return null;
  const others = othersFor(holding, fixed, facet, prices);
  const parsed = parsedQuote(quote);
  if (!(parsed.asOfMs > others.newestMs)) return null;
  const price = (parsed.price ??= parseScaled(quote.price));

  const previousClose = quote.previousClose === undefined ? others.previousClose : (parsed.previousClose ??= parseScaled(quote.previousClose));
  // A holding priced for the first time is no longer unpriced.
  if (entry.liveQuote === undefined && holding.price === null) totals.unpricedHoldings -= 1;
  if (!entry.contributes) contributeAsHolding(entry);
  let text: PriceText | null = fixed.baseRate === 'identity' && fixed.shareQuantities === null ? priceSoleAccount(entry, holding, fixed, quote, price, previousClose, totals) : null;
  if (text === null) {
    const live = figuresAt(fixed, quote, price, previousClose);
    moveTotals(totals, entry, live, holding.cashEquivalent);
    text = liveText(holding, fixed, live);
  }
  entry.liveQuote = quote;
  entry.liveAsOfMs = parsed.asOfMs;
  entry.livePrice = price;
  entry.livePreviousClose = previousClose;
  return text;
}

/**
 * `figuresAt`, `moveTotals` and `liveText` for the usual holding (listed in the base currency, one
 * account), in numbers held in locals: no figure objects, no arrays. `null`, having changed
 * nothing, when a step leaves the safe integers (the general path then does it in BigInt).
 */
function priceSoleAccount(entry: Entry, holding: Holding, fixed: Fixed, quote: PriceQuote, price: Scaled, previousClose: Scaled | null, totals: LiveTotals): SoleAccountPriceText | null {
  const { quantity, quantityWithCost, costBasis } = fixed;
  const qn = quantity.n;
  const pn = price.n;
  if (typeof qn !== 'number' || typeof pn !== 'number' || !mulExact(qn, quantity.s, pn, price.s)) return null;
  const valueN = exact.n;
  const valueS = exact.s;
  let pnlN = 0;
  let pnlS = 0;
  if (costBasis !== null) {
    const wn = quantityWithCost.n;
    const cn = costBasis.n;
    if (typeof wn !== 'number' || typeof cn !== 'number' || !mulExact(wn, quantityWithCost.s, pn, price.s) || !addExact(exact.n, exact.s, cn, costBasis.s, -1)) return null;
    pnlN = exact.n;
    pnlS = exact.s;
  }
  let dayN = 0;
  let dayS = 0;
  if (previousClose !== null) {
    const cn = previousClose.n;
    if (typeof cn !== 'number' || !addExact(pn, price.s, cn, previousClose.s, -1) || !mulExact(qn, quantity.s, exact.n, exact.s)) return null;
    dayN = exact.n;
    dayS = exact.s;
  }
  moveTotalsBy(totals, entry, valueN, valueS, pnlN, pnlS, dayN, dayS, previousClose === null ? 1 : 0, holding.cashEquivalent);
  const pnl = costBasis === null ? null : pnlN;
  const day = previousClose === null ? null : dayN;
  const missing = previousClose === null ? 'no-previous-close' : null;
  const text = entry.soleText;
  if (text === undefined) return (entry.soleText = new SoleAccountPriceText(holding.identityKey, quote.price, quote.asOf, valueN, valueS, pnl, pnlS, day, dayS, missing));
  text.moveTo(holding.identityKey, quote.price, quote.asOf, valueN, valueS, pnl, pnlS, day, dayS, missing);
  return text;
}

/** Moves `totals` from the entry's contribution to the one at `live`, which the entry then keeps. */
function moveTotals(totals: LiveTotals, entry: Entry, live: LivePrice, cashEquivalent: boolean): void {
  const marketValue = orZero(live.baseMarketValue);
  const unrealizedPnl = orZero(live.baseUnrealizedPnl);
  const dayChange = orZero(live.baseDayChange);
  moveTotalsBy(totals, entry, marketValue.n, marketValue.s, unrealizedPnl.n, unrealizedPnl.s, dayChange.n, dayChange.s, live.baseDayChange === null ? 1 : 0, cashEquivalent);
}

/** `moveTotals` with the new contribution (base currency, 0 when unknown) as numbers. */
function moveTotalsBy(totals: LiveTotals, entry: Entry, valueN: number | bigint, valueS: number, pnlN: number | bigint, pnlS: number, dayN: number | bigint, dayS: number, withoutDayChange: 0 | 1, cashEquivalent: boolean): void {
  totals.investedValue.move(valueN, valueS, entry.marketValueN, entry.marketValueS);
  if (cashEquivalent) totals.cashEquivalentValue.move(valueN, valueS, entry.marketValueN, entry.marketValueS);
  totals.unrealizedPnl.move(pnlN, pnlS, entry.unrealizedPnlN, entry.unrealizedPnlS);
  totals.dayChange.move(dayN, dayS, entry.dayChangeN, entry.dayChangeS);
  totals.holdingsWithoutDayChange += withoutDayChange - entry.withoutDayChange;
  totals.moved = true;
  totals.view = undefined;
  setContribution(entry, valueN, valueS, pnlN, pnlS, dayN, dayS, withoutDayChange);
}

/** A holding's figures at a price (and previous close). */
function figuresAt(fixed: Fixed, quote: PriceQuote, price: Scaled, previousClose: Scaled | null): LivePrice {
  const marketValue = mulScaled(fixed.quantity, price);
  const unrealizedPnl = fixed.costBasis === null ? null : subScaled(mulScaled(fixed.quantityWithCost, price), fixed.costBasis);
  const dayChange = previousClose === null ? null : mulScaled(fixed.quantity, subScaled(price, previousClose));
  return {
    quote,
    price,
    previousClose,
    marketValue,
    unrealizedPnl,
    dayChange,
    baseMarketValue: toBase(marketValue, fixed.baseRate),
    baseUnrealizedPnl: toBase(unrealizedPnl, fixed.baseRate),
    baseDayChange: toBase(dayChange, fixed.baseRate),
  };
}

function liveText(holding: Holding, fixed: Fixed, live: LivePrice): HoldingPriceText {
  const sameInBase = fixed.baseRate === 'identity';
  const marketValue = formatScaled(live.marketValue);
  const baseMarketValue = sameInBase ? marketValue : textOrNull(live.baseMarketValue);
  let accountMarketValues: string[];
  let accountBaseMarketValues: (string | null)[];
  if (fixed.shareQuantities === null) {
    // One account holding all of it: its values are the holding's.
    accountMarketValues = [marketValue];
    accountBaseMarketValues = [baseMarketValue];
  } else {
    accountMarketValues = [];
    accountBaseMarketValues = [];
    for (const quantity of fixed.shareQuantities) {
      const value = mulScaled(quantity, live.price);
      const text = formatScaled(value);
      accountMarketValues.push(text);
      accountBaseMarketValues.push(sameInBase ? text : textOrNull(toBase(value, fixed.baseRate)));
    }
  }
  const unrealizedPnl = textOrNull(live.unrealizedPnl);
  const dayChange = textOrNull(live.dayChange);
  return {
    identityKey: holding.identityKey,
    // The quote's price is canonical text already (what formatting its number would print).
    price: live.quote.price,
    priceAsOf: live.quote.asOf,
    marketValue,
    // In the listing currency the base figures are the same numbers: print them once.
    baseMarketValue,
    unrealizedPnl,
    dayChange,
    baseUnrealizedPnl: sameInBase ? unrealizedPnl : textOrNull(live.baseUnrealizedPnl),
    baseDayChange: sameInBase ? dayChange : textOrNull(live.baseDayChange),
    dayChangeMissing: live.dayChange === null ? 'no-previous-close' : live.baseDayChange === null ? 'no-fx-rate' : null,
    accountMarketValues,
    accountBaseMarketValues,
  };
}

/** The text of what moves with the price, read from a holding object (for the slow path). */
export function holdingPriceText(holding: Holding): HoldingPriceText {
  return {
    identityKey: holding.identityKey,
    price: holding.price,
    priceAsOf: holding.priceAsOf,
    marketValue: holding.marketValue,
    baseMarketValue: holding.base.marketValue,
    unrealizedPnl: holding.unrealizedPnl,
    dayChange: holding.dayChange,
    baseUnrealizedPnl: holding.base.unrealizedPnl,
    baseDayChange: holding.base.dayChange,
    dayChangeMissing: dayChangeMissing(holding),
    accountMarketValues: holding.accounts.map((a) => a.marketValue),
    accountBaseMarketValues: holding.accounts.map((a) => a.baseMarketValue),
  };
}

/**
 * The holding under `key` with its live price built in (the object `computeHolding` would make),
 * or `undefined` when it has none; the entry then describes the new object.
 */
export function settleHolding(cache: RepriceCache, key: string): Holding | undefined {
  const entry = cache.holdings.get(key);
  const quote = entry?.liveQuote;
  if (!entry || !quote) return undefined;
  const { holding: previous, fixed } = entry;
  const live = figuresAt(fixed, quote, entry.livePrice, entry.livePreviousClose);
  const priceText = quote.price;
  const sameInBase = fixed.baseRate === 'identity';
  // Literals with every field in a fixed order, not spreads: one hidden class for every object
  // made here, so the path stays monomorphic (spreads of holdings of varied origin were not).
  const marketValueText = formatScaled(live.marketValue);
  const baseMarketValueText = sameInBase ? marketValueText : textOrNull(live.baseMarketValue);
  // Sized up front (an array grown by push keeps room for 17), as the holding keeps it.
  const accounts: HoldingAccountShare[] = new Array<HoldingAccountShare>(previous.accounts.length);
  for (let i = 0; i < previous.accounts.length; i++) {
    const share = previous.accounts[i]!;
    const quantity = fixed.shareQuantities?.[i];
    // A sole share's values are the holding's: the same strings, not equal copies.
    const shareValue = quantity === undefined ? live.marketValue : mulScaled(quantity, live.price);
    const shareValueText = quantity === undefined ? marketValueText : formatScaled(shareValue);
    accounts[i] = {
      accountId: share.accountId,
      institution: share.institution,
      quantity: share.quantity,
      averageCost: share.averageCost,
      costBasis: share.costBasis,
      quantityWithCost: share.quantityWithCost,
      price: priceText,
      marketValue: shareValueText,
      baseMarketValue: quantity === undefined ? baseMarketValueText : sameInBase ? shareValueText : textOrNull(toBase(shareValue, fixed.baseRate)),
      reportedPrice: share.reportedPrice,
      reportedPreviousClose: share.reportedPreviousClose,
      positionsAsOf: share.positionsAsOf,
      missingFxRate: share.missingFxRate,
    };
  }
  const unrealizedPnlText = textOrNull(live.unrealizedPnl);
  const dayChangeText = textOrNull(live.dayChange);
  const holding: Holding = {
    identityKey: previous.identityKey,
    security: previous.security,
    facets: previous.facets,
    currency: previous.currency,
    cashEquivalent: previous.cashEquivalent,
    quantity: previous.quantity,
    price: priceText,
    priceAsOf: live.quote.asOf,
    priceSource: 'quote',
    previousClose: textOrNull(live.previousClose),
    marketValue: marketValueText,
    costBasis: previous.costBasis,
    averageCost: previous.averageCost,
    quantityWithCost: previous.quantityWithCost,
    unrealizedPnl: unrealizedPnlText,
    dayChange: dayChangeText,
    accounts,
    accountCount: previous.accountCount,
    positionsAsOf: previous.positionsAsOf,
    base: {
      currency: previous.base.currency,
      marketValue: baseMarketValueText,
      costBasis: previous.base.costBasis,
      unrealizedPnl: sameInBase ? unrealizedPnlText : textOrNull(live.baseUnrealizedPnl),
      dayChange: sameInBase ? dayChangeText : textOrNull(live.baseDayChange),
      missingFxRate: previous.base.missingFxRate,
    },
    missingFxRate: previous.missingFxRate,
  };
  entry.holding = holding;
  entry.liveQuote = undefined;
  return holding;
}
