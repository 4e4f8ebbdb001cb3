import { duplicateClient, type RedisClient as Redis } from '../runtime/redis-client.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { decodePreviousClose } from './previous-closes.ts';
import { decodeLastPrice, decodeStoredTick, type LastPrice, type StoredPriceTick } from './price-tick.ts';

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
  /**
   * Catching up: when a read fills `count` on some shard (more is waiting), read on at once,
   * without blocking, and keep only the newest tick of each security, until the streams are read
   * to their end or this many entries were read; the batch is then those newest ticks. So a reader
   * that fell behind skips the superseded ticks instead of working through them, and its next
   * batch is as fresh as the streams. 0 turns it off (every tick, batches of at most `count` per
   * shard). @default 100000
   */
  catchUpEntries?: number;
  /** Told the entries of each read (ticks skipped as superseded included). */
  onRead?: (entries: number) => void;
  /**
   * Reads start at most this often (ms): a read right after a batch waits out the rest of the
   * interval, so one batch carries the ticks of the whole interval. A batch costs per user it
   * reaches (a task on the actor, the totals, a push to the coalescer), so reading as fast as
   * entries arrive would pay that per tick; the interval adds at most its length to a tick's
   * latency. 0 reads as soon as the consumer is done. @default 0
   */
  readIntervalMs?: number;
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
  const catchUpEntries = options.catchUpEntries ?? 100_000;
  const blocking = duplicateClient(redis, 'foliostream-price-tail');
  blocking.on('error', () => {});
  const interrupt = () => blocking.disconnect();
  signal?.addEventListener('abort', interrupt, { once: true });
  try {
    const ids = await startIds(redis, streams, options.fromIds ?? []);
    /** Decodes a reply into `into`, moving the shards' positions on; true when a shard gave `count` entries. */
    const take = (reply: NonNullable<XReadReply>, into: StoredPriceTick[]): boolean => {
      let full = false;
      let entriesRead = 0;
      for (const [key, entries] of reply) {
        const shard = shardOf.get(key);
        if (shard === undefined) continue;
        if (entries.length >= count) full = true;
        entriesRead += entries.length;
        for (const [id, fields] of entries) {
          ids[shard] = id;
          const tick = decodeStoredTick(fields, shard, id);
          if (tick) into.push(tick);
        }
      }
      options.onRead?.(entriesRead);
      return full;
    };
    let failures = 0;
    const readIntervalMs = options.readIntervalMs ?? 0;
    let readAt = 0;
    while (!signal?.aborted) {
      if (readIntervalMs > 0) {
        const wait = readAt + readIntervalMs - Date.now();
        if (wait > 0) await sleep(wait);
        if (signal?.aborted) return;
        readAt = Date.now();
      }
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
      let batch: StoredPriceTick[] = [];
      let full = take(reply, batch);
      if (full && catchUpEntries > 0) {
        // Behind: read on to the end of the streams, keeping the newest tick of each security
        // (ticks of one security are in one shard, in order, so the last one read is the newest).
        const newest = new Map<string, StoredPriceTick>();
        for (const tick of batch) newest.set(tick.symbol, tick);
        let read = batch.length;
        while (full && read < catchUpEntries && !signal?.aborted) {
          const more = (await blocking.call('XREAD', 'COUNT', count, 'STREAMS', ...streams, ...ids)) as XReadReply;
          if (!more) break;
          const next: StoredPriceTick[] = [];
          full = take(more, next);
          read += next.length;
          for (const tick of next) newest.set(tick.symbol, tick);
        }
        batch = [...newest.values()];
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
