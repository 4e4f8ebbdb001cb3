import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import { singleLease } from '../../actors/partition-lease.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import type { Logger } from '../logging/logger.ts';
import type { MarketMetrics } from './market-metrics.ts';

/**
 * Which `market` process is the active one. Alpaca allows one market-data connection per key, so
 * every market process competes for one lease in Redis (`<ns>:{market}:lease`, SET NX PX through
 * the partition leases' scripts, a new fencing token per tenure from `<ns>:{market}:fence`). The
 * holder runs the activity (the ingester and the fill listener); the others stand by and try again
 * when the lease's remaining time says it can be free, at most `pollMs` apart.
 *
 * - Renewal every third of `leaseMs`. The holder also keeps a deadline of its own (the time it
 *   sent its last successful renewal plus `leaseMs`): when Redis does not answer, the lease may
 *   already be another's, so the activity stops at the deadline without waiting for an answer.
 * - A renewal refused (the key expired or holds another tenure), the deadline passed, or the
 *   activity reporting that its writes were fenced (`tenure.lost`) ends the tenure at once: the
 *   activity stops (the stream is closed first), and the process stands by again.
 * - The lease is advisory; the token protects the data. The activity's price writes carry the
 *   token and the scripts refuse a lower one than any that wrote (price-writer.ts), and a new
 *   holder claims the price keys with its token before it connects, so a stale holder that has not
 *   noticed yet cannot publish after that.
 * - A graceful stop releases the lease, so a standby takes over within `pollMs`; a process that
 *   dies leaves it to expire, and a standby takes over within `leaseMs` (plus a poll).
 */

export type MarketLeaseState = 'active' | 'standby';

/** What the holder gets for one tenure. */
export interface MarketTenure {
  token: number;
  /** The activity found itself fenced off: end the tenure now. */
  lost(reason: string): void;
}

/** What runs while the lease is held. */
export interface MarketActivity {
  /** `lost`: the lease is gone, close the connection at once and drop unwritten work; `shutdown`: a graceful stop. */
  stop(reason: 'lost' | 'shutdown'): Promise<void>;
}

export interface MarketLeaseOptions {
  redis: Redis;
  keys: StreamKeys;
  /** Names this process in the lease value (`<token>:<workerId>:<incarnation>`). */
  workerId: string;
  /** The lease's time to live (`MARKET_LEASE_MS`). */
  leaseMs: number;
  /** Longest wait between a standby's attempts. @default a fifth of `leaseMs` */
  pollMs?: number;
  /** Starts what the holder runs; a rejection ends the tenure (the lease is released). */
  activate(tenure: MarketTenure): Promise<MarketActivity>;
  metrics: MarketMetrics;
  log: Logger;
}

export interface MarketLeaseStatus {
  state: MarketLeaseState;
  /** The token of the tenure in progress (active only). */
  token: number | undefined;
  /** `<workerId>:<incarnation>` of this process. */
  holder: string;
  /** Tenures this process has begun. */
  acquisitions: number;
}

export interface MarketLease {
  status(): MarketLeaseStatus;
  /** Ends any tenure (its activity stopped, the lease released) and stops competing. */
  stop(): Promise<void>;
}

interface Tenure {
  token: number;
  value: string;
  renewTimer: NodeJS.Timeout;
  deadlineTimer: NodeJS.Timeout | undefined;
  renewing: boolean;
  /** The activity, once started (undefined if it failed to start). */
  activity: Promise<MarketActivity | undefined>;
  ended: boolean;
}

export function startMarketLease(options: MarketLeaseOptions): MarketLease {
  const { leaseMs, metrics, log } = options;
  const pollMs = options.pollMs ?? Math.max(20, Math.floor(leaseMs / 5));
  const renewEveryMs = Math.max(10, Math.floor(leaseMs / 3));
  const lease = singleLease(options.redis, options.keys.marketLease(), options.keys.marketFence(), options.workerId, leaseMs);
  let tenure: Tenure | undefined;
  /** The stop of the last tenure, while it runs: no new tenure begins before it is done. */
  let ending: Promise<void> | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let acquisitions = 0;
  let acquireFailures = 0;
  metrics.leaseHeld(false);

  const schedulePoll = (ms: number) => {
    if (stopped) return;
    clearTimeout(pollTimer);
    pollTimer = setTimeout(() => void tryAcquire(), Math.max(0, ms));
  };

  const setDeadline = (current: Tenure, sentAt: number) => {
    clearTimeout(current.deadlineTimer);
    current.deadlineTimer = setTimeout(() => void end(current, 'lost', 'no renewal within the lease time'), sentAt + leaseMs - Date.now());
  };

  async function tryAcquire(): Promise<void> {
    if (stopped || tenure || ending) return;
    const sentAt = Date.now();
    let result: Awaited<ReturnType<typeof lease.acquire>>;
    try {
      result = await lease.acquire();
      acquireFailures = 0;
    } catch (err) {
      acquireFailures++;
      if (acquireFailures === 1 || acquireFailures % 20 === 0) log.warn({ err, failures: acquireFailures }, 'market lease: acquire failed; retrying');
      schedulePoll(pollMs);
      return;
    }
    if (!result.acquired) {
      // Wake up just after the holder's lease would expire, or at the poll interval, whichever is first.
      schedulePoll(Math.min(pollMs, Math.max(0, result.ttlMs) + 5));
      return;
    }
    if (stopped) {
      await lease.release(result.value).catch(() => undefined);
      return;
    }
    acquisitions++;
    metrics.leaseAcquired();
    metrics.leaseHeld(true);
    const current: Tenure = {
      token: result.token,
      value: result.value,
      renewTimer: setInterval(() => void renew(current), renewEveryMs),
      deadlineTimer: undefined,
      renewing: false,
      activity: Promise.resolve(undefined),
      ended: false,
    };
    tenure = current;
    setDeadline(current, sentAt);
    log.info({ fencingToken: current.token, holder: lease.holder }, 'market lease acquired; this process is the active market process');
    current.activity = options
      .activate({ token: current.token, lost: (reason) => void end(current, 'lost', reason) })
      .catch((err: unknown) => {
        log.error({ err, fencingToken: current.token }, 'market activity failed to start; giving the lease up');
        void end(current, 'shutdown', 'the activity failed to start');
        return undefined;
      });
  }

  async function renew(current: Tenure): Promise<void> {
    if (current.ended || current.renewing) return;
    current.renewing = true;
    const sentAt = Date.now();
    try {
      const ok = await lease.renew(current.value);
      if (current.ended) return;
      if (ok) setDeadline(current, sentAt);
      else void end(current, 'lost', 'the lease expired or another process holds it');
    } catch (err) {
      // Not an answer either way: the deadline ends the tenure if no renewal gets through in time.
      log.warn({ err, fencingToken: current.token }, 'market lease: renewal failed; retrying');
    } finally {
      current.renewing = false;
    }
  }

  function end(current: Tenure, how: 'lost' | 'shutdown', reason: string): Promise<void> {
    if (current.ended) return ending ?? Promise.resolve();
    current.ended = true;
    clearInterval(current.renewTimer);
    clearTimeout(current.deadlineTimer);
    if (tenure === current) tenure = undefined;
    metrics.leaseHeld(false);
    if (how === 'lost') log.warn({ fencingToken: current.token, reason }, 'market lease lost; stopping the market-data connection and standing by');
    const done = (async () => {
      const activity = await current.activity;
      await activity?.stop(how).catch((err: unknown) => log.error({ err }, 'error while stopping the market activity'));
      // Given up on purpose: a standby takes over at its next attempt instead of after the TTL.
      if (how === 'shutdown') await lease.release(current.value).catch((err: unknown) => log.warn({ err }, 'market lease: release failed; it expires by itself'));
    })();
    ending = done.finally(() => {
      ending = undefined;
      schedulePoll(pollMs);
    });
    return ending;
  }

  schedulePoll(0);

  return {
    status: () => ({ state: tenure ? 'active' : 'standby', token: tenure?.token, holder: lease.holder, acquisitions }),
    async stop() {
      stopped = true;
      clearTimeout(pollTimer);
      if (tenure) await end(tenure, 'shutdown', 'stopping');
      else await ending;
      metrics.leaseHeld(false);
    },
  };
}
