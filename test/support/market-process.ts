import { expect } from 'vitest';
import { readLastPrices } from '../../src/market/price-reader.ts';
import type { RedisClient } from '../../src/runtime/redis-client.ts';
import { streamKeys } from '../../streams/keys.ts';
import { eventually } from './engine.ts';
import type { RoleProcess } from './role-process.ts';

/**
 * What tests read of a `market` process started with `startRoleProcess` (`ROLES` including
 * `market`, `METRICS_PORT=0`): its log lines, whether it is the active one, and the prices it wrote.
 */

/** The process's log lines that say `msg`, oldest first. */
export function logged(process: RoleProcess, msg: string): { time: number; url?: string }[] {
  return process
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; time: string; url?: string })
    .filter((entry) => entry.msg === msg)
    .map((entry) => ({ ...entry, time: Date.parse(entry.time) }));
}

/** The line a market process logs each time it takes the lease. */
export const LEASE_ACQUIRED = 'market lease acquired; this process is the active market process';

/**
 * Waits until `standby` says it is the active one and has logged taking the lease once more than
 * the `takenBefore` times it had; resolves with that line, whose `time` is when it took over.
 */
export function tookOver(standby: RoleProcess, timeoutMs: number, takenBefore = 0): Promise<{ time: number }> {
  // Its log line can reach the pipe after /readyz says so: both are waited for.
  return eventually(
    async () => ((await readyz(standby)).market === 'active' ? logged(standby, LEASE_ACQUIRED)[takenBefore] : undefined),
    timeoutMs,
    `${standby.name} to take over`,
  );
}

/** The process's metrics server (`METRICS_PORT=0`): where its /readyz and /metrics are. */
export function metricsUrl(process: RoleProcess): string {
  const url = logged(process, 'metrics served apart from the public port')[0]?.url;
  if (!url) throw new Error(`${process.name} logged no metrics url`);
  return url;
}

export interface Readiness {
  status: string;
  market?: string;
}

export async function readyz(process: RoleProcess): Promise<Readiness> {
  const response = await fetch(`${metricsUrl(process)}/readyz`, { signal: AbortSignal.timeout(2_000) });
  expect(response.status).toBe(200);
  return (await response.json()) as Readiness;
}

/** `foliostream_market_lease_held` of the process: 1 on the active one. */
export async function leaseHeld(process: RoleProcess): Promise<number> {
  const text = await (await fetch(`${metricsUrl(process)}/metrics`)).text();
  // `foliostream_market_lease_held{service="foliostream"} 1`
  const line = text.split('\n').find((l) => l.startsWith('foliostream_market_lease_held{') || l.startsWith('foliostream_market_lease_held '));
  return Number(line?.split(' ').at(-1));
}

/** The newest price of `symbol` the market processes wrote (default namespace). */
export async function lastPrice(redis: RedisClient, symbol: string) {
  return (await readLastPrices(redis, streamKeys('fs'), [symbol])).get(symbol);
}

/** Waits until the newest price of `symbol` the market processes wrote is `price`. */
export async function waitForPrice(redis: RedisClient, symbol: string, price: number, timeoutMs: number, what: string): Promise<void> {
  await eventually(async () => ((await lastPrice(redis, symbol))?.price === price ? true : undefined), timeoutMs, what);
}
