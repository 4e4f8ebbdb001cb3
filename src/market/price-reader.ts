import type { Redis } from 'ioredis';
import type { StreamKeys } from '../../streams/keys.ts';
import { decodePreviousClose } from './previous-closes.ts';
import { decodeLastPrice, decodeTickFields, type LastPrice, type StoredPriceTick } from './price-tick.ts';

/**
 * Reading prices, for the market role's consumers (the actors' workers revalue from it):
 * last prices by symbol, and a tail over every price stream.
 */

/** A last price with the security's previous close, when the market role has stored one. */
export interface LastPriceWithClose extends LastPrice {
  previousClose?: number;
}

/** The last price (and previous close) of each given security that has a last price. */
export async function readLastPrices(redis: Redis, keys: StreamKeys, symbols: readonly string[]): Promise<Map<string, LastPriceWithClose>> {
  const prices = new Map<string, LastPriceWithClose>();
  if (symbols.length === 0) return prices;
  const replies = (await redis.pipeline().hmget(keys.lastPrices(), ...symbols).hmget(keys.previousCloses(), ...symbols).exec()) ?? [];
  const [lastError, values] = replies[0] ?? [new Error('no reply')];
  if (lastError) throw lastError;
  const [closeError, closes] = replies[1] ?? [new Error('no reply')];
  if (closeError) throw closeError;
  symbols.forEach((symbol, i) => {
    const json = (values as Array<string | null>)[i];
    const price: LastPriceWithClose | undefined = json ? decodeLastPrice(json) : undefined;
    if (!price) return;
    const close = (closes as Array<string | null>)[i];
    const previous = close ? decodePreviousClose(close) : undefined;
    if (previous) price.previousClose = previous.close;
    prices.set(symbol, price);
  });
  return prices;
}

export interface TailPricesOptions {
  /** Number of price streams (`PRICE_SHARDS`). */
  shards: number;
  /**
   * Where to start in each shard (index = shard): the last entry id already handled. A shard
   * without one (or `$`) starts with the ticks appended after the call.
   */
  fromIds?: ReadonlyArray<string | undefined>;
  /** XREAD BLOCK timeout; the loop simply reads again after it. @default 5000 */
  blockMs?: number;
  /** Most entries per shard per read. @default 1000 */
  count?: number;
  /** Ends the iteration, also while it waits. */
  signal?: AbortSignal;
}

type XReadReply = Array<[key: string, entries: Array<[id: string, fields: string[]]>]> | null;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves `$` (and missing ids) to each stream's current last id, so nothing appended later is missed. */
async function startIds(redis: Redis, streams: readonly string[], fromIds: ReadonlyArray<string | undefined>): Promise<string[]> {
  const ids = streams.map((_, shard) => fromIds[shard]);
  const open = ids.flatMap((id, shard) => (id === undefined || id === '$' ? [shard] : []));
  if (open.length > 0) {
    const pipeline = redis.pipeline();
    for (const shard of open) pipeline.xrevrange(streams[shard]!, '+', '-', 'COUNT', 1);
    const results = (await pipeline.exec()) ?? [];
    open.forEach((shard, i) => {
      const [error, entries] = results[i] ?? [new Error('no reply')];
      if (error) throw error;
      ids[shard] = (entries as Array<[string, string[]]>)[0]?.[0] ?? '0-0';
    });
  }
  return ids as string[];
}

/**
 * Every tick appended to the price streams, in batches (one XREAD BLOCK over all shards each).
 * Ticks of one security arrive in order (a security lives in one shard); each carries its shard
 * and entry id, so a consumer can store its position and resume with `fromIds`. Reads on its own
 * connection (a duplicate of `redis`, closed when the iteration ends); a Redis failure is retried
 * with backoff from the same position.
 */
export async function* tailPrices(redis: Redis, keys: StreamKeys, options: TailPricesOptions): AsyncGenerator<StoredPriceTick[]> {
  const { shards, signal } = options;
  const blockMs = options.blockMs ?? 5000;
  const count = options.count ?? 1000;
  const streams = Array.from({ length: shards }, (_, shard) => keys.priceStream(shard));
  const shardOf = new Map(streams.map((key, shard) => [key, shard]));
  const blocking = redis.duplicate({ connectionName: 'foliostream-price-tail' });
  blocking.on('error', () => {});
  const interrupt = () => blocking.disconnect();
  signal?.addEventListener('abort', interrupt, { once: true });
  try {
    const ids = await startIds(redis, streams, options.fromIds ?? []);
    let failures = 0;
    while (!signal?.aborted) {
      let reply: XReadReply;
      try {
        reply = (await blocking.call('XREAD', 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', ...streams, ...ids)) as XReadReply;
        failures = 0;
      } catch {
        if (signal?.aborted) return;
        failures++;
        await sleep(Math.min(100 * 2 ** Math.min(failures, 6), 5000));
        if (blocking.status === 'end') blocking.connect().catch(() => {});
        continue;
      }
      if (!reply) continue;
      const batch: StoredPriceTick[] = [];
      for (const [key, entries] of reply) {
        const shard = shardOf.get(key);
        if (shard === undefined) continue;
        for (const [id, fields] of entries) {
          ids[shard] = id;
          const tick = decodeTickFields(fields);
          if (tick) batch.push({ ...tick, shard, id });
        }
      }
      if (batch.length > 0) yield batch;
    }
  } finally {
    signal?.removeEventListener('abort', interrupt);
    blocking.disconnect();
  }
}

/** Callback form of `tailPrices`: runs until `stop()`. */
export function followPrices(
  redis: Redis,
  keys: StreamKeys,
  options: Omit<TailPricesOptions, 'signal'>,
  onBatch: (ticks: StoredPriceTick[]) => void | Promise<void>,
): { done: Promise<void>; stop(): Promise<void> } {
  const controller = new AbortController();
  const done = (async () => {
    for await (const batch of tailPrices(redis, keys, { ...options, signal: controller.signal })) await onBatch(batch);
  })();
  return {
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}
