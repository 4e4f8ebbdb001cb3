/**
 * A price tick as the market role writes it and its readers (the actors' workers) read it.
 *
 * Price streams (`keys.priceStream(shard)`) hold one entry per tick with the fields
 * `sym` (ticker), `p` (price, decimal as JS prints it), `t` (trade time, epoch ms),
 * `size` (shares) and, only for ticks fetched over REST rather than streamed, `src=rest`.
 *
 * The last-price hash (`keys.lastPrices()`) maps each ticker to JSON `{p, t, s?}`: price, trade
 * time in epoch ms, and `s: "rest"` when that price came from a REST refetch.
 */

export type TickSource = 'stream' | 'rest';

export interface PriceTick {
  symbol: string;
  price: number;
  /** Trade time, epoch ms. */
  at: number;
  size: number;
  source: TickSource;
}

/** A tick read back from a price stream, with where it was read. */
export interface StoredPriceTick extends PriceTick {
  shard: number;
  /** Stream entry id. */
  id: string;
}

export interface LastPrice {
  price: number;
  /** Trade time, epoch ms. */
  at: number;
  source: TickSource;
}

export function encodeLastPrice(price: number, at: number, source: TickSource): string {
  return source === 'rest' ? `{"p":${price},"t":${at},"s":"rest"}` : `{"p":${price},"t":${at}}`;
}

export function decodeLastPrice(json: string): LastPrice | undefined {
  try {
    const value = JSON.parse(json) as { p?: unknown; t?: unknown; s?: unknown };
    if (typeof value.p !== 'number' || typeof value.t !== 'number') return undefined;
    return { price: value.p, at: value.t, source: value.s === 'rest' ? 'rest' : 'stream' };
  } catch {
    return undefined;
  }
}

/** Decodes a price-stream entry's fields; `undefined` when it is not a tick. */
export function decodeTickFields(fields: readonly string[]): PriceTick | undefined {
  const tick = decodeStoredTick(fields, 0, '');
  return tick && { symbol: tick.symbol, price: tick.price, at: tick.at, size: tick.size, source: tick.source };
}

/**
 * Decodes the fields of the entry `id` of price stream `shard`; `undefined` when it is not a tick.
 * The reader's object is made once, with where it was read, rather than copied from the tick's.
 */
export function decodeStoredTick(fields: readonly string[], shard: number, id: string): StoredPriceTick | undefined {
  let symbol: string | undefined;
  let price = Number.NaN;
  let at = Number.NaN;
  let size = 0;
  let source: TickSource = 'stream';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]!;
    switch (fields[i]) {
      case 'sym':
        symbol = value;
        break;
      case 'p':
        price = Number(value);
        break;
      case 't':
        at = Number(value);
        break;
      case 'size':
        size = Number(value);
        break;
      case 'src':
        if (value === 'rest') source = 'rest';
        break;
    }
  }
  if (!symbol || !Number.isFinite(price) || !Number.isFinite(at)) return undefined;
  return { symbol, price, at, size, source, shard, id };
}
