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
   * At most one delta per user per window. A change to a user who was sent nothing in the last
   * window leaves at the next step of the clock (min(10 ms, window / 10)), with whatever else is
   * pushed until then; later changes wait until a window has passed since that send, and go out
   * together. So a lone change is not held for a window, and a steady stream of changes still
   * costs one delta per window.
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
  /** Users with a pending or in-flight delta, or one sent within the last window. */
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
  /** No delta of the user may start before this (its last one's start + the window). */
  quietUntil: number;
}

const idle = (state: UserState): boolean => !state.pending && state.closesAt === undefined && state.inFlight === 0;

/**
 * Per-user delta coalescing: a throttle, leading on the clock's next step, then at most one delta
 * per window. A send takes the next seq from Redis, then publishes; if either fails, the changes
 * are merged back under newer ones and retried a window later (a seq taken but never delivered
 * shows up as a gap, and the client asks for a snapshot).
 * Memory is bounded by the active users times the holdings each changed.
 */
export function createDeltaCoalescer(options: DeltaCoalescerOptions): DeltaCoalescer {
  const windowMs = options.windowMs ?? DEFAULT_DELTA_WINDOW_MS;
  // Windows close on a shared clock of `step` ms, so the users whose windows close together are
  // sent in one timer callback: their INCRs and PUBLISHes leave in one pipelined write each
  // (the publisher connection auto-pipelines) instead of one timer and two writes per user. A read
  // batch of ticks pushes to every user it repriced in one run, so they all leave on one step.
  // The clock also forgets a user once a window has passed since their last send.
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
    state.closesAt = onClock(userId, Math.max(Date.now() + 1, state.quietUntil));
  }

  /** Puts the user on the clock's first step at or after `time`; returns that step. */
  function onClock(userId: string, time: number): number {
    const at = Math.ceil(time / step) * step;
    const due = closing.get(at);
    if (due) {
      due.push(userId);
      return at;
    }
    closing.set(at, [userId]);
    setTimeout(() => {
      const closingNow = closing.get(at) ?? [];
      closing.delete(at);
      for (const id of closingNow) {
        const user = users.get(id);
        if (user?.closesAt === at) void send(id, user);
        else if (user && idle(user) && user.quietUntil <= at) users.delete(id);
      }
    }, at - Date.now());
    return at;
  }

  function send(userId: string, state: UserState): Promise<void> {
    // A window closed early (flush) is forgotten; its clock entry finds closesAt changed and skips it.
    state.closesAt = undefined;
    const taken = state.pending;
    state.pending = undefined;
    if (!taken) return state.chain;
    state.quietUntil = Date.now() + windowMs;
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
        if (idle(state)) {
          // Kept until its window has passed, so that its next change waits for it.
          if (closed || state.quietUntil <= Date.now()) users.delete(userId);
          else onClock(userId, state.quietUntil);
        }
      }
    });
    return state.chain;
  }

  return {
    push(userId, change) {
      if (closed) throw new Error('delta coalescer is closed');
      let state = users.get(userId);
      if (!state) {
        state = { pending: undefined, closesAt: undefined, chain: Promise.resolve(), inFlight: 0, quietUntil: 0 };
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
      for (const [id, state] of users) if (idle(state)) users.delete(id);
    },
  };
}
