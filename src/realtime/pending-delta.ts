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
  /** Holdings whose price (and what moves with it) changed and nothing else: price ticks. */
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
  /** Per holding id not in `holdings`, its last repricing. */
  repriced: Map<string, ChangedPrice>;
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
  const target: PendingDelta = pending ?? { asOf, totals: change.totals, holdings: undefined, repriced: new Map(), changes: 0 };
  for (const holding of change.upserted ?? []) setWhole(target, holding.id, holding);
  for (const repricing of change.repriced ?? []) setRepricing(target, repricing);
  for (const id of change.removed ?? []) setWhole(target, id, null);
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
    repriced: new Map(older.repriced),
    changes: older.changes + newer.changes,
  };
  const baseCurrency = newer.baseCurrency ?? older.baseCurrency;
  if (baseCurrency !== undefined) merged.baseCurrency = baseCurrency;
  // Within one pending delta an id is either whole or repriced, so the order of the two loops is free.
  for (const [id, value] of newer.holdings ?? []) setWhole(merged, id, value);
  for (const repricing of newer.repriced.values()) setRepricing(merged, repricing);
  return merged;
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
    repriced: Array.from(pending.repriced.values(), (r) => (r instanceof PreparedRepricing ? (JSON.parse(r.json) as RepricingTuple) : repricingTuple(r))),
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
  let first = true;
  for (const r of pending.repriced.values()) {
    if (!first) writeJsonByte(out, COMMA);
    first = false;
    if (r instanceof PreparedRepricing) r.writeJson(out);
    else out.text(JSON.stringify(repricingTuple(r)));
  }
  out.text(whole === undefined ? '],"removed":[]}' : `],"removed":${JSON.stringify(whole.removed)}}`);
}

const COMMA = 44;

function setWhole(target: PendingDelta, id: string, value: HoldingView | null): void {
  target.repriced.delete(id);
  setLast((target.holdings ??= new Map()), id, value);
}

function setRepricing(target: PendingDelta, repricing: ChangedPrice): void {
  const holdings = target.holdings;
  const whole = holdings?.get(repricing.id);
  if (holdings === undefined || whole === undefined) {
    setLast(target.repriced, repricing.id, repricing);
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
