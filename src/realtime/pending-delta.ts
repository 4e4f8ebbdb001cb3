import type { HoldingView, PortfolioDelta, PortfolioTotals } from './events.ts';

/**
 * The pure half of delta coalescing: folding a user's portfolio changes into one pending delta.
 * No timers, no I/O; `delta-coalescer.ts` decides when a pending delta is sent.
 */

/** One change an actor reports after it committed it (absolute values, like a delta). */
export interface PortfolioChange {
  /** When the change was computed. @default the time of `push` */
  asOf?: string;
  /** The user's totals after the change. */
  totals: PortfolioTotals;
  /** Holdings whose values changed, with their new absolute values. */
  upserted?: readonly HoldingView[];
  /** Holding ids no longer held. Within one change, a removal wins over an upsert of the same id. */
  removed?: readonly string[];
}

/** Changes merged so far: per holding id, its last value (`null` = removed). */
export interface PendingDelta {
  asOf: string;
  totals: PortfolioTotals;
  holdings: Map<string, HoldingView | null>;
  /** How many changes were merged (for metrics). */
  changes: number;
}

/**
 * Folds `change` into `pending` (a new one when undefined) and returns it. The last value wins per
 * holding id, whichever of upsert and removal it is; the totals and `asOf` are the latest change's.
 */
export function mergeChange(pending: PendingDelta | undefined, change: PortfolioChange, asOf: string): PendingDelta {
  const target: PendingDelta = pending ?? { asOf, totals: change.totals, holdings: new Map(), changes: 0 };
  for (const holding of change.upserted ?? []) setLast(target.holdings, holding.id, holding);
  for (const id of change.removed ?? []) setLast(target.holdings, id, null);
  target.totals = change.totals;
  target.asOf = change.asOf ?? asOf;
  target.changes += 1;
  return target;
}

/**
 * Merges two pending deltas, `newer` winning per holding and for the totals: used to put back a
 * delta that could not be sent under the changes that arrived meanwhile.
 */
export function mergePending(older: PendingDelta, newer: PendingDelta | undefined): PendingDelta {
  if (!newer) return older;
  const holdings = new Map(older.holdings);
  for (const [id, value] of newer.holdings) setLast(holdings, id, value);
  return { asOf: newer.asOf, totals: newer.totals, holdings, changes: older.changes + newer.changes };
}

/** The wire delta of a pending one, numbered `seq`. */
export function toDelta(pending: PendingDelta, seq: number): PortfolioDelta {
  const upserted: HoldingView[] = [];
  const removed: string[] = [];
  for (const [id, value] of pending.holdings) {
    if (value === null) removed.push(id);
    else upserted.push(value);
  }
  return { seq, asOf: pending.asOf, totals: pending.totals, upserted, removed };
}

/** Sets a key so that it also moves to the end of the iteration order (the latest change last). */
function setLast<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
}
