import type { RespWriter } from '../runtime/resp-command.ts';
import { writeJsonByte, writeJsonString } from './json-bytes.ts';
import { applyRepricing, PreparedRepricing, repricingTuple, type ChangedPrice, type HoldingView, type PortfolioDelta, type PortfolioTotals, type RepricingTuple } from './events.ts';

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
  /** The portfolio's new base currency, when the change moved it to one (the totals are in it). */
  baseCurrency?: string;
  /** Holdings whose values changed, with their new absolute values. */
  upserted?: readonly HoldingView[];
  /**
   * Holdings whose price (and what moves with it) changed and nothing else: price ticks. The list
   * is kept, not copied, until the delta is sent: the caller must not change it after the push.
   */
  repriced?: readonly ChangedPrice[];
  /** Holding ids no longer held. Within one change, a removal wins over an upsert of the same id. */
  removed?: readonly string[];
}

/** Changes merged so far. */
export interface PendingDelta {
  asOf: string;
  totals: PortfolioTotals;
  /** The latest new base currency merged in (its change upserted every holding in it). */
  baseCurrency?: string;
  /**
   * Per holding id, its last whole value (`null` = removed); none until a change upserts or
   * removes one (price ticks never do, and a pending delta lives up to a window).
   */
  holdings: Map<string, HoldingView | null> | undefined;
  /**
   * Per holding id not in `holdings`, its last repricing (`repricedOf` reads them): made on the
   * second change merged, or the first upsert or removal, from `onlyRepriced`.
   */
  repriced: Map<string, ChangedPrice> | undefined;
  /**
   * The repricings of the one change merged so far, as it listed them (each id once), while that is
   * all the pending delta holds. The tick path pushes one change per user per window, so most of
   * its deltas make no Map: its table lived a window, often past a scavenge, which copied it (a
   * third of what the worker's scavenges copied at 20,000 ticks/s).
   */
  onlyRepriced: readonly ChangedPrice[] | undefined;
  /** How many changes were merged (for metrics). */
  changes: number;
}

/**
 * Folds `change` into `pending` (a new one when undefined) and returns it. The last value wins per
 * holding id: an upsert or a removal replaces whatever came before; a repricing replaces an earlier
 * repricing, is applied to an upserted value, and is dropped after a removal (a holding no longer
 * held has no price to move). The totals and `asOf` are the latest change's.
 */
export function mergeChange(pending: PendingDelta | undefined, change: PortfolioChange, asOf: string): PendingDelta {
  const target: PendingDelta = pending ?? { asOf, totals: change.totals, holdings: undefined, repriced: undefined, onlyRepriced: undefined, changes: 0 };
  const repriced = change.repriced;
  if (pending === undefined && !change.upserted?.length && !change.removed?.length && repriced !== undefined && eachIdOnce(repriced)) {
    target.onlyRepriced = repriced;
  } else {
    for (const holding of change.upserted ?? []) setWhole(target, holding.id, holding);
    for (const repricing of repriced ?? []) setRepricing(target, repricing);
    for (const id of change.removed ?? []) setWhole(target, id, null);
  }
  target.totals = change.totals;
  if (change.baseCurrency !== undefined) target.baseCurrency = change.baseCurrency;
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
  const merged: PendingDelta = {
    asOf: newer.asOf,
    totals: newer.totals,
    holdings: older.holdings && new Map(older.holdings),
    repriced: new Map(Array.from(repricedOf(older), (r) => [r.id, r])),
    onlyRepriced: undefined,
    changes: older.changes + newer.changes,
  };
  const baseCurrency = newer.baseCurrency ?? older.baseCurrency;
  if (baseCurrency !== undefined) merged.baseCurrency = baseCurrency;
  // Within one pending delta an id is either whole or repriced, so the order of the two loops is free.
  for (const [id, value] of newer.holdings ?? []) setWhole(merged, id, value);
  for (const repricing of repricedOf(newer)) setRepricing(merged, repricing);
  return merged;
}

/** The pending repricings, each holding id once, the latest change last. */
export function repricedOf(pending: PendingDelta): Iterable<ChangedPrice> {
  return pending.onlyRepriced ?? pending.repriced?.values() ?? [];
}

/** Whether no two repricings share an id (a change's list is short: pairs are cheaper than a Set). */
function eachIdOnce(repriced: readonly ChangedPrice[]): boolean {
  const n = repriced.length;
  if (n > 32) return false;
  for (let i = 1; i < n; i++) {
    const id = repriced[i]!.id;
    for (let j = 0; j < i; j++) if (repriced[j]!.id === id) return false;
  }
  return true;
}

/** The pending repricings as a Map, made from `onlyRepriced` when the delta still holds just that. */
function repricedMap(target: PendingDelta): Map<string, ChangedPrice> {
  if (target.repriced !== undefined) return target.repriced;
  const map = new Map<string, ChangedPrice>();
  for (const r of target.onlyRepriced ?? []) map.set(r.id, r);
  target.onlyRepriced = undefined;
  return (target.repriced = map);
}

/** The wire delta of a pending one, numbered `seq`. */
export function toDelta(pending: PendingDelta, seq: number): PortfolioDelta {
  const { upserted, removed } = wholeChanges(pending);
  return {
    seq,
    asOf: pending.asOf,
    ...(pending.baseCurrency !== undefined ? { baseCurrency: pending.baseCurrency } : {}),
    totals: pending.totals,
    upserted,
    repriced: Array.from(repricedOf(pending), (r) => (r instanceof PreparedRepricing ? (JSON.parse(r.json) as RepricingTuple) : repricingTuple(r))),
    removed,
  };
}

/** The pending holdings as a delta lists them: the upserted values, and the ids removed. */
function wholeChanges(pending: PendingDelta): { upserted: HoldingView[]; removed: string[] } {
  const upserted: HoldingView[] = [];
  const removed: string[] = [];
  for (const [id, value] of pending.holdings ?? []) {
    if (value === null) removed.push(id);
    else upserted.push(value);
  }
  return { upserted, removed };
}

/**
 * `JSON.stringify(toDelta(pending, seq))` without the leading `{"seq":<seq>`, written as bytes into
 * the bulk string a sender has open (the sender writes the seq itself): each repricing writes its
 * own (`PreparedRepricing.writeJson`), so the tick path's figures go from numbers to bytes with no
 * string per figure, per repricing or per delta.
 */
export function writeDeltaAfterSeq(pending: PendingDelta, out: RespWriter): void {
  out.text(',"asOf":');
  writeJsonString(out, pending.asOf);
  if (pending.baseCurrency !== undefined) {
    out.text(',"baseCurrency":');
    writeJsonString(out, pending.baseCurrency);
  }
  // A delta of price ticks alone (the tick path's) upserts and removes nothing: no lists to make.
  const whole = pending.holdings === undefined ? undefined : wholeChanges(pending);
  out.text(',"totals":');
  out.text(JSON.stringify(pending.totals));
  out.text(whole === undefined ? ',"upserted":[],"repriced":[' : `,"upserted":${JSON.stringify(whole.upserted)},"repriced":[`);
  const only = pending.onlyRepriced;
  if (only !== undefined) {
    for (let i = 0; i < only.length; i++) {
      if (i > 0) writeJsonByte(out, COMMA);
      writeRepricing(out, only[i]!);
    }
  } else {
    let first = true;
    for (const r of pending.repriced?.values() ?? []) {
      if (!first) writeJsonByte(out, COMMA);
      first = false;
      writeRepricing(out, r);
    }
  }
  out.text(whole === undefined ? '],"removed":[]}' : `],"removed":${JSON.stringify(whole.removed)}}`);
}

function writeRepricing(out: RespWriter, r: ChangedPrice): void {
  if (r instanceof PreparedRepricing) r.writeJson(out);
  else out.text(JSON.stringify(repricingTuple(r)));
}

const COMMA = 44;

function setWhole(target: PendingDelta, id: string, value: HoldingView | null): void {
  repricedMap(target).delete(id);
  setLast((target.holdings ??= new Map()), id, value);
}

function setRepricing(target: PendingDelta, repricing: ChangedPrice): void {
  const holdings = target.holdings;
  const whole = holdings?.get(repricing.id);
  if (holdings === undefined || whole === undefined) {
    setLast(repricedMap(target), repricing.id, repricing);
    return;
  }
  if (whole === null) return;
  // The repricing was computed over the holding as upserted, so it fits it.
  setLast(holdings, repricing.id, applyRepricing(whole, repricing instanceof PreparedRepricing ? repricing.repricing() : repricing) ?? whole);
}

/** Sets a key so that it also moves to the end of the iteration order (the latest change last). */
function setLast<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
}
