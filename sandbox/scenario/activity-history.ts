import { createRandom } from '../market/seeded-random.ts';
import type { ActivityInput, SandboxOrder, SandboxPosition } from './scenario-store.ts';

/**
 * Transactions ("activities", SnapTrade's UniversalActivity) that the sandbox's brokerages
 * report: the seeded past of a newly connected account, and the record of a fill.
 *
 * The past is built to agree with what the account holds when it is connected:
 * - every position arrives as one BUY of its units at its average cost;
 * - dividend-paying holdings (an approximate yield table below) paid a quarterly DIVIDEND on
 *   the units held since the buy;
 * - one FEE (a yearly account fee) in the account's first currency;
 * - one CONTRIBUTION per currency (a WITHDRAWAL when the numbers call for one) makes the
 *   amounts of each currency add up to that currency's cash balance.
 * Dates are seeded offsets before the connection time (weekdays, US market hours), so the same
 * seed and account give the same history relative to the day it was connected.
 */

const DAY_MS = 86_400_000;

/** The yearly account fee of the seeded history. */
const ACCOUNT_FEE = 25;

/**
 * Approximate annual dividend yields of the default universe's payers (paid quarterly in the
 * sandbox, whatever the real schedule). Symbols not listed pay nothing.
 */
const DIVIDEND_YIELDS: Readonly<Record<string, number>> = {
  AAPL: 0.0045,
  MSFT: 0.0072,
  GOOGL: 0.0048,
  META: 0.004,
  NVDA: 0.0003,
  COST: 0.005,
  PEP: 0.032,
  CSCO: 0.032,
  QQQ: 0.006,
  JPM: 0.022,
  V: 0.0075,
  JNJ: 0.031,
  WMT: 0.011,
  PG: 0.024,
  XOM: 0.033,
  KO: 0.029,
  DIS: 0.009,
  BAC: 0.026,
  HD: 0.024,
  UNH: 0.015,
  IBM: 0.031,
  SPY: 0.013,
  VOO: 0.013,
  VTI: 0.013,
  IWM: 0.012,
  TLT: 0.04,
  'RY.TO': 0.035,
  'TD.TO': 0.05,
  'ENB.TO': 0.068,
  'CNR.TO': 0.02,
  'BNS.TO': 0.065,
  'XIU.TO': 0.03,
  'VFV.TO': 0.011,
};

export function dividendYield(symbol: string): number {
  return DIVIDEND_YIELDS[symbol] ?? 0;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}

/** Midnight UTC of a date. */
function dayStart(date: Date): number {
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
}

/** Move a weekend day to the following Monday. */
function weekday(ms: number): number {
  const day = new Date(ms).getUTCDay();
  return day === 6 ? ms + 2 * DAY_MS : day === 0 ? ms + DAY_MS : ms;
}

/** Settlement of a trade: the next weekday after the trade date (T+1), at midnight UTC. */
export function settlementOf(tradeDate: Date): Date {
  return new Date(weekday(dayStart(tradeDate) + DAY_MS));
}

export function tradeDescription(action: 'BUY' | 'SELL', units: number, symbol: string, price: number): string {
  return `${action === 'BUY' ? 'BOUGHT' : 'SOLD'} ${units} ${symbol} @ ${price}`;
}

/** The BUY or SELL a fill leaves in the account's history (no commission in the sandbox). */
export function tradeActivity(order: SandboxOrder, price: number, currency: string, at: Date): ActivityInput {
  const gross = round2(order.units * price);
  return {
    type: order.action,
    symbol: order.symbol,
    units: order.units,
    price,
    amount: order.action === 'BUY' ? -gross : gross,
    fee: 0,
    currency,
    description: tradeDescription(order.action, order.units, order.symbol, price),
    tradeDate: at,
    settlementDate: settlementOf(at),
    externalReferenceId: order.brokerageOrderId,
  };
}

export interface HistoryInput {
  seed: number;
  accountId: string;
  positions: readonly SandboxPosition[];
  /** Cash by currency when the account is connected. */
  cash: ReadonlyMap<string, number>;
  /** Listing currency of a held symbol. */
  currencyOf: (symbol: string) => string;
  /** The connection time; every activity is dated before it. */
  now: Date;
}

/** The seeded past of a newly connected account, oldest first (see the file comment). */
export function generateHistory(input: HistoryInput): ActivityInput[] {
  const random = createRandom(input.seed, 'activity-history', input.accountId);
  const today = dayStart(input.now);
  const ageDays = 180 + Math.floor(random() * 540);
  /** A weekday `daysAgo` before the connection day, during US market hours (14:30-20:00 UTC). */
  const marketTime = (daysAgo: number): Date => {
    const day = weekday(today - daysAgo * DAY_MS);
    const minutes = 14 * 60 + 30 + Math.floor(random() * 330);
    return new Date(Math.min(day + minutes * 60_000 + Math.floor(random() * 60) * 1000, input.now.getTime() - 1000));
  };
  const openedAt = marketTime(ageDays);

  const activities: ActivityInput[] = [];
  const net = new Map<string, number>();
  const add = (activity: ActivityInput) => {
    activities.push(activity);
    net.set(activity.currency, (net.get(activity.currency) ?? 0) + (activity.amount ?? 0));
  };

  for (const position of input.positions) {
    if (!(position.units > 0)) continue;
    const currency = input.currencyOf(position.symbol);
    // Bought between a few days after opening and about a month before connecting.
    const boughtDaysAgo = Math.max(2, Math.floor(30 + random() * (ageDays - 33)));
    const boughtAt = marketTime(boughtDaysAgo);
    const price = position.averageCost;
    const gross = round2(position.units * price);
    add({
      type: 'BUY',
      symbol: position.symbol,
      units: position.units,
      price,
      amount: -gross,
      fee: 0,
      currency,
      description: tradeDescription('BUY', position.units, position.symbol, price),
      tradeDate: boughtAt,
      settlementDate: settlementOf(boughtAt),
    });

    const yieldPerYear = dividendYield(position.symbol);
    if (yieldPerYear <= 0) continue;
    const perShare = round4((price * yieldPerYear) / 4);
    if (perShare <= 0) continue;
    // Quarterly, the first one 20-90 days after the buy, the last at least a day before connecting.
    for (let daysAgo = boughtDaysAgo - 20 - Math.floor(random() * 70); daysAgo >= 1; daysAgo -= 91) {
      const paidAt = new Date(weekday(today - daysAgo * DAY_MS) + 13 * 3_600_000);
      if (paidAt.getTime() >= input.now.getTime()) break;
      add({
        type: 'DIVIDEND',
        symbol: position.symbol,
        units: position.units,
        price: perShare,
        amount: round2(position.units * perShare),
        fee: 0,
        currency,
        description: `${position.symbol} CASH DIV ON ${position.units} SHS @ ${perShare}`,
        tradeDate: paidAt,
        settlementDate: new Date(dayStart(paidAt)),
      });
    }
  }

  // One account fee (a yearly maintenance fee) in the account's first currency, some time after opening.
  const feeCurrency = [...input.cash.keys()][0] ?? (input.positions[0] ? input.currencyOf(input.positions[0].symbol) : undefined);
  if (feeCurrency) {
    const charged = marketTime(Math.max(1, Math.floor(ageDays / 2 + random() * (ageDays / 2 - 2))));
    add({
      type: 'FEE',
      symbol: null,
      units: 0,
      price: 0,
      amount: -ACCOUNT_FEE,
      fee: ACCOUNT_FEE,
      currency: feeCurrency,
      description: `ANNUAL ACCOUNT FEE ${feeCurrency}`,
      tradeDate: charged,
      settlementDate: new Date(dayStart(charged)),
    });
  }

  // Cash in: whatever makes each currency's amounts add up to its balance.
  const currencies = new Set([...input.cash.keys(), ...net.keys()]);
  let index = 0;
  for (const currency of currencies) {
    const amount = round2((input.cash.get(currency) ?? 0) - (net.get(currency) ?? 0));
    if (amount === 0) continue;
    const at = amount > 0 ? new Date(openedAt.getTime() + index++ * 60_000) : marketTime(1);
    activities.push({
      type: amount > 0 ? 'CONTRIBUTION' : 'WITHDRAWAL',
      symbol: null,
      units: 0,
      price: 0,
      amount,
      fee: 0,
      currency,
      description: amount > 0 ? `CONTRIBUTION ${currency}` : `WITHDRAWAL ${currency}`,
      tradeDate: at,
      settlementDate: new Date(dayStart(at)),
    });
  }
  return activities.sort((a, b) => a.tradeDate!.getTime() - b.tradeDate!.getTime());
}
