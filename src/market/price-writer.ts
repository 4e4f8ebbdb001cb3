import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import type { Logger } from '../logging/logger.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import type { MarketMetrics } from './market-metrics.ts';
import { priceShardOf } from './price-shards.ts';
import { encodeLastPrice, type TickSource } from './price-tick.ts';

/**
 * Writes ticks to the sharded price streams and the last-price hash, batched: ticks queued in one
 * turn of the event loop go out as one pipeline (one XADD per tick, `MAXLEN ~` trimmed, plus one
 * HSET of the newest price of each security in the batch). One pipeline is in flight at a time;
 * ticks that arrive meanwhile wait and go in the next, so batches grow with load instead of
 * round trips. The queue is columnar (parallel arrays), so queueing a tick allocates nothing.
 *
 * Failures: when a pipeline fails (Redis down), the newest tick of each security in it is put
 * back at the head of the queue and retried with backoff, so last prices converge once Redis is
 * back (the stream then holds that tick once more if its XADD had gone through). When the queue
 * passes `maxPending`, it is compacted to the newest tick per security; the ticks dropped that
 * way are counted.
 *
 * Fencing: every write goes through a script that checks the writer's market-lease token against
 * the fence of the key it writes (`scripts/write-prices-fenced.lua`).
 * Once a higher token has written (or claimed the keys: `claim()`), this writer's batches are
 * refused whole; it then drops what it holds, takes nothing more and calls `onFenced`.
 */

/** The script's source, read once; see its header for the contract. */
const WRITE_PRICES_FENCED_LUA = readFileSync(new URL('./scripts/write-prices-fenced.lua', import.meta.url), 'utf8');
const WRITE_FENCED = 'fsWritePricesFenced';
type FencedWrite = (fence: string, key: string, token: number, kind: 'ticks' | 'last', ...args: (string | number)[]) => unknown;

export interface PriceWriterOptions {
  /** Number of price streams (`PRICE_SHARDS`). */
  shards: number;
  /** Approximate length each stream is trimmed to (`PRICE_STREAM_MAXLEN`). */
  maxLen: number;
  /** Most ticks per pipeline. @default 5000 */
  maxBatch?: number;
  /** Queued ticks beyond which the queue is compacted to the newest per security. @default 200000 */
  maxPending?: number;
  /** First retry delay after a failed pipeline; doubles up to 5 s. @default 200 */
  retryDelayMs?: number;
  /**
   * The market-lease token this writer writes under. @default 0: no lease, accepted only while no
   * holder ever wrote in this namespace (tests and benchmarks that write prices without a lease).
   */
  token?: number;
  /** Called once when a write is refused because a higher token owns the keys. */
  onFenced?: () => void;
  metrics?: MarketMetrics;
  log?: Logger;
}

export interface PriceWriter {
  /** Queue one tick (`at`: trade time, epoch ms). */
  write(symbol: string, price: number, at: number, size: number, source: TickSource): void;
  /** Resolves once everything queued so far has been written (retrying through failures), or was fenced off. */
  flush(): Promise<void>;
  /**
   * Raises the fence of every price stream and of the last-price hash to this writer's token, so
   * no lower token writes from now on. False when a higher token already owns them (fenced).
   */
  claim(): Promise<boolean>;
  /** True once a write or claim was refused by the fence. */
  fenced(): boolean;
  /** Ticks queued or in flight. */
  pending(): number;
  /** Stop taking ticks and write what is queued; gives up after `timeoutMs`. Returns the ticks left unwritten. */
  close(timeoutMs?: number): Promise<number>;
}

class TickQueue {
  symbols: string[] = [];
  prices: number[] = [];
  ats: number[] = [];
  sizes: number[] = [];
  rest: boolean[] = [];

  get length(): number {
    return this.symbols.length;
  }

  push(symbol: string, price: number, at: number, size: number, rest: boolean): void {
    this.symbols.push(symbol);
    this.prices.push(price);
    this.ats.push(at);
    this.sizes.push(size);
    this.rest.push(rest);
  }

  /** Removes and returns the first `count` ticks. */
  take(count: number): TickQueue {
    const taken = new TickQueue();
    if (count >= this.length) {
      Object.assign(taken, this);
      this.symbols = [];
      this.prices = [];
      this.ats = [];
      this.sizes = [];
      this.rest = [];
      return taken;
    }
    taken.symbols = this.symbols.splice(0, count);
    taken.prices = this.prices.splice(0, count);
    taken.ats = this.ats.splice(0, count);
    taken.sizes = this.sizes.splice(0, count);
    taken.rest = this.rest.splice(0, count);
    return taken;
  }

  /** Index of the newest (last queued) tick of each security. */
  newestIndexes(): Map<string, number> {
    const newest = new Map<string, number>();
    for (let i = 0; i < this.symbols.length; i++) newest.set(this.symbols[i]!, i);
    return newest;
  }

  /** A queue of only the newest tick per security, in queue order. */
  compacted(): TickQueue {
    const out = new TickQueue();
    const indexes = [...this.newestIndexes().values()].sort((a, b) => a - b);
    for (const i of indexes) out.push(this.symbols[i]!, this.prices[i]!, this.ats[i]!, this.sizes[i]!, this.rest[i]!);
    return out;
  }

  /** `head` followed by this queue's ticks. */
  prepend(head: TickQueue): void {
    this.symbols = head.symbols.concat(this.symbols);
    this.prices = head.prices.concat(this.prices);
    this.ats = head.ats.concat(this.ats);
    this.sizes = head.sizes.concat(this.sizes);
    this.rest = head.rest.concat(this.rest);
  }
}

export function createPriceWriter(redis: Redis, keys: StreamKeys, options: PriceWriterOptions): PriceWriter {
  const { shards, maxLen, metrics, log } = options;
  if (!Number.isInteger(maxLen) || maxLen < 1) throw new RangeError(`bad MAXLEN ${maxLen}`);
  const maxBatch = options.maxBatch ?? 5000;
  const maxPending = options.maxPending ?? 200_000;
  const firstRetryMs = options.retryDelayMs ?? 200;
  const token = options.token ?? 0;
  const streamKeys = Array.from({ length: shards }, (_, shard) => keys.priceStream(shard));
  const fenceOf = new Map(streamKeys.map((key, shard) => [key, keys.priceStreamFence(shard)]));
  const lastPricesKey = keys.lastPrices();
  const lastPricesFence = keys.lastPricesFence();
  const shardCache = new Map<string, string>();
  if (typeof (redis as unknown as Record<string, unknown>)[WRITE_FENCED] !== 'function') {
    redis.defineCommand(WRITE_FENCED, { numberOfKeys: 2, lua: WRITE_PRICES_FENCED_LUA });
  }
  const fencedWrite = (pipeline: ChainableCommander) => (pipeline as unknown as Record<string, FencedWrite>)[WRITE_FENCED]!.bind(pipeline);

  let queue = new TickQueue();
  let inFlight = 0;
  let scheduled = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let closed = false;
  let fencedOff = false;
  let idleWaiters: Array<() => void> = [];

  const streamOf = (symbol: string): string => {
    let key = shardCache.get(symbol);
    if (key === undefined) {
      key = streamKeys[priceShardOf(symbol, shards)]!;
      shardCache.set(symbol, key);
    }
    return key;
  };

  const settleIdle = () => {
    if (queue.length > 0 || inFlight > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const schedule = () => {
    if (scheduled || inFlight > 0 || retryTimer || queue.length === 0) return;
    scheduled = true;
    setImmediate(() => void run());
  };

  async function run(): Promise<void> {
    scheduled = false;
    if (queue.length === 0) {
      settleIdle();
      return;
    }
    const batch = queue.take(maxBatch);
    inFlight = batch.length;
    const started = performance.now();
    // One script call per stream the batch touches, in queue order within each stream.
    const perStream = new Map<string, string[]>();
    for (let i = 0; i < batch.length; i++) {
      const symbol = batch.symbols[i]!;
      const key = streamOf(symbol);
      let args = perStream.get(key);
      if (args === undefined) perStream.set(key, (args = []));
      args.push(symbol, String(batch.prices[i]), String(batch.ats[i]), String(batch.sizes[i]), batch.rest[i] ? 'rest' : '');
    }
    const pipeline = redis.pipeline();
    const write = fencedWrite(pipeline);
    for (const [key, args] of perStream) write(fenceOf.get(key)!, key, token, 'ticks', maxLen, ...args);
    const newest = batch.newestIndexes();
    const lastArgs: string[] = [];
    for (const [symbol, i] of newest) lastArgs.push(symbol, encodeLastPrice(batch.prices[i]!, batch.ats[i]!, batch.rest[i] ? 'rest' : 'stream'));
    write(lastPricesFence, lastPricesKey, token, 'last', ...lastArgs);

    let written = 0;
    let failure: unknown;
    let refused = false;
    try {
      const results = (await pipeline.exec()) ?? [];
      for (let i = 0; i <= perStream.size; i++) {
        const [error, reply] = results[i] ?? [new Error('no reply'), null];
        if (error) failure ??= error;
        else if (reply === -1) refused = true;
        else if (i < perStream.size) written += Number(reply);
      }
    } catch (err) {
      failure = err;
    }
    metrics?.ticksWritten(written);
    metrics?.writeBatch(batch.length, (performance.now() - started) / 1000);
    inFlight = 0;

    if (refused) {
      fenceOff(batch.length - written);
      return;
    }
    if (failure !== undefined) {
      failures++;
      metrics?.writeFailed();
      const retry = batch.compacted();
      queue.prepend(retry);
      const delay = Math.min(firstRetryMs * 2 ** (failures - 1), 5000);
      if (failures === 1 || failures % 20 === 0) {
        log?.warn({ err: failure, failures, retrying: retry.length, retryInMs: delay }, 'price write failed; retrying the newest tick per security');
      }
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        schedule();
      }, delay);
      retryTimer.unref();
    } else {
      if (failures > 0) log?.info({ failures }, 'price writes recovered');
      failures = 0;
    }
    if (queue.length > 0) schedule();
    else settleIdle();
  }

  /** A higher token owns the keys: drop everything, take nothing more, tell the owner once. */
  const fenceOff = (unwritten: number) => {
    const first = !fencedOff;
    fencedOff = true;
    closed = true;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    metrics?.ticksDropped(unwritten + queue.length);
    queue = new TickQueue();
    settleIdle();
    if (first) {
      log?.warn({ fencingToken: token }, 'price writes fenced: a newer market-lease holder owns the price streams');
      options.onFenced?.();
    }
  };

  const claim = async (): Promise<boolean> => {
    if (fencedOff) return false;
    const pipeline = redis.pipeline();
    const write = fencedWrite(pipeline);
    for (const key of streamKeys) write(fenceOf.get(key)!, key, token, 'ticks', maxLen);
    write(lastPricesFence, lastPricesKey, token, 'last');
    const results = (await pipeline.exec()) ?? [];
    let refused = false;
    for (const [error, reply] of results) {
      if (error) throw error;
      if (reply === -1) refused = true;
    }
    if (refused) fenceOff(0);
    return !refused;
  };

  const flush = (): Promise<void> => {
    if (queue.length === 0 && inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      idleWaiters.push(resolve);
      schedule();
    });
  };

  return {
    write(symbol, price, at, size, source) {
      if (closed) {
        metrics?.ticksDropped(1);
        return;
      }
      queue.push(symbol, price, at, size, source === 'rest');
      if (queue.length > maxPending) {
        const before = queue.length;
        queue = queue.compacted();
        metrics?.ticksDropped(before - queue.length);
        log?.warn({ before, after: queue.length }, 'price write queue over its limit; kept the newest tick per security');
      }
      schedule();
    },
    flush,
    claim,
    fenced: () => fencedOff,
    pending: () => queue.length + inFlight,
    async close(timeoutMs = 5000) {
      closed = true;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        flush(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      const left = queue.length + inFlight;
      if (left > 0) {
        metrics?.ticksDropped(queue.length);
        log?.warn({ left }, 'price writer closed with ticks unwritten');
        queue = new TickQueue();
      }
      settleIdle();
      return left;
    },
  };
}
