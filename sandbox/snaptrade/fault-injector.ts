import { createRandom, type Random } from '../market/seeded-random.ts';
import { errorBodyForStatus, type SnaptradeErrorBody } from './errors.ts';

/**
 * Faults injected on demand (control API): added latency, a fixed error status (503/3002
 * brokerage error, 425/3012 still populating, any other), or random errors with a probability.
 * A rule can be limited to an operation, a user or an account, to a number of hits, and to a
 * duration. Random draws come from the seed, so a scripted run fails the same requests again.
 */
export interface FaultMatch {
  /** SnapTrade operationId, e.g. `AccountInformation_getAllAccountPositions`. */
  operationId?: string;
  userId?: string;
  accountId?: string;
}

export type FaultRuleInput =
  | { kind: 'latency'; latencyMs: number; match?: FaultMatch; durationMs?: number; times?: number }
  | { kind: 'error'; status: number; match?: FaultMatch; durationMs?: number; times?: number }
  | {
      kind: 'random';
      probability: number;
      /** Statuses drawn from uniformly. @default [429, 503] */
      statuses?: number[];
      match?: FaultMatch;
      durationMs?: number;
      times?: number;
    };

export type FaultRule = FaultRuleInput & {
  id: string;
  createdAt: string;
  /** Epoch ms after which the rule stops applying; null = until removed. */
  expiresAt: number | null;
  /** Hits left; null = unlimited. */
  remaining: number | null;
  hits: number;
};

export interface FaultOutcome {
  latencyMs: number;
  error?: { status: number; body: SnaptradeErrorBody; ruleId: string };
}

export interface FaultContext {
  operationId: string;
  userId?: string;
  accountId?: string;
}

export class FaultInjector {
  private rules: FaultRule[] = [];
  private nextId = 1;
  private readonly random: Random;

  constructor(seed: number) {
    this.random = createRandom(seed, 'faults');
  }

  add(input: FaultRuleInput, now = Date.now()): FaultRule {
    const rule: FaultRule = {
      ...input,
      id: `fault-${this.nextId++}`,
      createdAt: new Date(now).toISOString(),
      expiresAt: input.durationMs === undefined ? null : now + input.durationMs,
      remaining: input.times ?? null,
      hits: 0,
    };
    this.rules.push(rule);
    return rule;
  }

  list(now = Date.now()): FaultRule[] {
    this.prune(now);
    return this.rules.map((r) => ({ ...r }));
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  /** What happens to this request: total added latency, and the first error that fires. */
  evaluate(ctx: FaultContext, now = Date.now()): FaultOutcome {
    this.prune(now);
    const outcome: FaultOutcome = { latencyMs: 0 };
    for (const rule of this.rules) {
      if (!matches(rule.match, ctx)) continue;
      if (rule.kind === 'latency') {
        outcome.latencyMs += rule.latencyMs;
        this.hit(rule);
        continue;
      }
      if (outcome.error) continue;
      let status: number | undefined;
      if (rule.kind === 'error') status = rule.status;
      else if (this.random() < rule.probability) {
        const statuses = rule.statuses && rule.statuses.length > 0 ? rule.statuses : [429, 503];
        status = statuses[Math.floor(this.random() * statuses.length)]!;
      }
      if (status !== undefined) {
        outcome.error = { status, body: errorBodyForStatus(status), ruleId: rule.id };
        this.hit(rule);
      }
    }
    this.prune(now);
    return outcome;
  }

  private hit(rule: FaultRule): void {
    rule.hits += 1;
    if (rule.remaining !== null) rule.remaining -= 1;
  }

  private prune(now: number): void {
    this.rules = this.rules.filter(
      (r) => (r.expiresAt === null || r.expiresAt > now) && (r.remaining === null || r.remaining > 0),
    );
  }
}

function matches(match: FaultMatch | undefined, ctx: FaultContext): boolean {
  if (!match) return true;
  if (match.operationId !== undefined && match.operationId !== ctx.operationId) return false;
  if (match.userId !== undefined && match.userId !== ctx.userId) return false;
  if (match.accountId !== undefined && match.accountId !== ctx.accountId) return false;
  return true;
}
