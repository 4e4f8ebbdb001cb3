import type { Logger } from '../logging/logger.ts';
import type { PortfolioDelta } from './events.ts';
import { mergeChange, mergePending, toDelta, type PendingDelta, type PortfolioChange } from './pending-delta.ts';
import type { PortfolioSequence } from './portfolio-sequence.ts';
import type { RealtimeMetrics } from './realtime-metrics.ts';

export const DEFAULT_DELTA_WINDOW_MS = 100;

export interface DeltaCoalescerOptions {
  /** Numbers the deltas (shared with the gateways' snapshots). */
  sequence: PortfolioSequence;
  /** Sends one delta (the room emitter's `delta`). */
  emit: (userId: string, delta: PortfolioDelta) => Promise<unknown>;
  /**
   * The coalescing window: a user's first change opens it, and everything pushed until it closes
   * goes out as one delta. At most one delta per user per window. Windows close on a clock of
   * min(10 ms, window / 10) steps, so one may last up to a step longer.
   * @default 100
   */
  windowMs?: number;
  log?: Logger;
  metrics?: RealtimeMetrics;
}

export interface DeltaCoalescer {
  /** Records a committed change of the user's portfolio; it is sent with the window's delta. */
  push(userId: string, change: PortfolioChange): void;
  /** Sends the user's pending changes now (every user's without an argument). */
  flush(userId?: string): Promise<void>;
  /** Users with a pending or in-flight delta. */
  activeUsers(): number;
  /** Sends everything pending, then refuses new changes. */
  close(): Promise<void>;
}

interface UserState {
  pending: PendingDelta | undefined;
  /** When the user's open window closes (a key of `closing`), if one is open. */
  closesAt: number | undefined;
  /** The user's sends, one after another, so deltas leave in the order of their seq. */
  chain: Promise<void>;
  inFlight: number;
}

/**
 * Per-user delta coalescing (trailing window). A send takes the next seq from Redis, then
 * publishes; if either fails, the changes are merged back under newer ones and retried at the next
 * window (a seq taken but never delivered shows up as a gap, and the client asks for a snapshot).
 * Memory is bounded by the active users times the holdings each changed.
 */
export function createDeltaCoalescer(options: DeltaCoalescerOptions): DeltaCoalescer {
  const windowMs = options.windowMs ?? DEFAULT_DELTA_WINDOW_MS;
  // Windows close on a shared clock of `step` ms, so the users whose windows close together are
  // sent in one timer callback: their INCRs and PUBLISHes leave in one pipelined write each
  // (the publisher connection auto-pipelines) instead of one timer and two writes per user.
  const step = Math.max(1, Math.min(10, Math.floor(windowMs / 10)));
  const closing = new Map<number, string[]>();
  const users = new Map<string, UserState>();
  let closed = false;
  // A read batch of ticks pushes to every user it repriced in one synchronous run: they share
  // the timestamp text of that millisecond instead of each allocating a Date and a string.
  let isoMs = Number.NaN;
  let iso = '';
  const nowIso = (): string => {
    const now = Date.now();
    if (now !== isoMs) {
      isoMs = now;
      iso = new Date(now).toISOString();
    }
    return iso;
  };

  function schedule(userId: string, state: UserState): void {
    if (state.closesAt !== undefined || closed) return;
    const now = Date.now();
    const at = Math.ceil((now + windowMs) / step) * step;
    state.closesAt = at;
    const due = closing.get(at);
    if (due) {
      due.push(userId);
      return;
    }
    closing.set(at, [userId]);
    setTimeout(() => {
      const closingNow = closing.get(at) ?? [];
      closing.delete(at);
      for (const id of closingNow) {
        const user = users.get(id);
        if (user?.closesAt === at) void send(id, user);
      }
    }, at - now);
  }

  function send(userId: string, state: UserState): Promise<void> {
    // A window closed early (flush) is forgotten; its clock entry finds closesAt changed and skips it.
    state.closesAt = undefined;
    const taken = state.pending;
    state.pending = undefined;
    if (!taken) return state.chain;
    state.inFlight += 1;
    state.chain = state.chain.then(async () => {
      try {
        const seq = await options.sequence.next(userId);
        await options.emit(userId, toDelta(taken, seq));
        options.metrics?.deltas.inc();
      } catch (err) {
        options.metrics?.deltaFailures.inc();
        options.log?.warn({ err, userId }, 'portfolio delta not sent; retrying with the next window');
        state.pending = mergePending(taken, state.pending);
        if (closed) options.log?.error({ userId }, 'portfolio delta dropped at shutdown');
        else schedule(userId, state);
      } finally {
        state.inFlight -= 1;
        if (!state.pending && state.closesAt === undefined && state.inFlight === 0) users.delete(userId);
      }
    });
    return state.chain;
  }

  return {
    push(userId, change) {
      if (closed) throw new Error('delta coalescer is closed');
      let state = users.get(userId);
      if (!state) {
        state = { pending: undefined, closesAt: undefined, chain: Promise.resolve(), inFlight: 0 };
        users.set(userId, state);
      }
      state.pending = mergeChange(state.pending, change, nowIso());
      options.metrics?.changesCoalesced.inc();
      schedule(userId, state);
    },
    async flush(userId) {
      const targets = userId === undefined ? [...users.entries()] : [[userId, users.get(userId)] as const];
      await Promise.all(targets.map(([id, state]) => (state ? send(id, state) : undefined)));
    },
    activeUsers: () => users.size,
    async close() {
      closed = true;
      await this.flush();
    },
  };
}
