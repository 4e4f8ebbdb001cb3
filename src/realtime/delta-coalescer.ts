import type { Logger } from '../logging/logger.ts';
import type { DeltaSender, OutgoingDelta } from './delta-sender.ts';
import { mergeChange, mergePending, type PendingDelta, type PortfolioChange } from './pending-delta.ts';
import type { RealtimeMetrics } from './realtime-metrics.ts';
import { asError } from '../runtime/as-error.ts';

export const DEFAULT_DELTA_WINDOW_MS = 100;

export interface DeltaCoalescerOptions {
  /** Numbers the deltas (with the sequence the gateways' snapshots share) and publishes them. */
  sender: DeltaSender;
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
  /** The user's delta being sent, if one is: the next one waits for it, so deltas leave in the order of their seq. */
  sending: Promise<void> | undefined;
  /** No delta of the user may start before this (its last one's start + the window). */
  quietUntil: number;
}

const idle = (state: UserState): boolean => !state.pending && state.closesAt === undefined && state.sending === undefined;

/**
 * Per-user delta coalescing: a throttle, leading on the clock's next step, then at most one delta
 * per window. The users due on one step of the clock are sent together: the sender numbers each
 * delta with the user's next seq in Redis and publishes it (on a single Redis, one script call for
 * them all). A user's delta that fails is merged back under newer changes and retried a window
 * later (a seq taken but never delivered shows up as a gap, and the client asks for a snapshot).
 * Memory is bounded by the active users times the holdings each changed.
 */
export function createDeltaCoalescer(options: DeltaCoalescerOptions): DeltaCoalescer {
  const windowMs = options.windowMs ?? DEFAULT_DELTA_WINDOW_MS;
  // Windows close on a shared clock of `step` ms, so the users whose windows close together are
  // sent in one timer callback and one sender call instead of a timer and a send per user. A read
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
      const sendNow: string[] = [];
      for (const id of closingNow) {
        const user = users.get(id);
        if (user?.closesAt === at) sendNow.push(id);
        else if (user && idle(user) && user.quietUntil <= at) users.delete(id);
      }
      if (sendNow.length > 0) void sendUsers(sendNow);
    }, at - Date.now());
    return at;
  }

  /**
   * Sends the pending changes of `ids` as one sender call; a user whose previous delta is still
   * being sent goes right after it. Resolves when all of them have been sent or put back.
   */
  function sendUsers(ids: Iterable<string>): Promise<void> {
    const batch: OutgoingDelta[] = [];
    const states: UserState[] = [];
    const waits: Promise<void>[] = [];
    const now = Date.now();
    for (const id of ids) {
      const state = users.get(id);
      if (!state) continue;
      // A window closed early (flush) is forgotten; its clock entry finds closesAt changed and skips it.
      state.closesAt = undefined;
      if (state.sending) {
        waits.push(state.sending.then(() => sendUsers([id])));
        continue;
      }
      if (!state.pending) continue;
      batch.push({ userId: id, pending: state.pending });
      states.push(state);
      state.pending = undefined;
      state.quietUntil = now + windowMs;
    }
    if (batch.length > 0) {
      const sending = sendBatch(batch, states);
      for (const state of states) state.sending = sending;
      waits.push(sending);
    }
    return Promise.all(waits).then(() => undefined);
  }

  async function sendBatch(batch: readonly OutgoingDelta[], states: readonly UserState[]): Promise<void> {
    let outcomes: ReadonlyArray<number | Error>;
    try {
      outcomes = await options.sender.send(batch);
    } catch (err) {
      outcomes = batch.map(() => asError(err));
    }
    let sent = 0;
    let firstFailure: Error | undefined;
    const failedUsers: string[] = [];
    for (let i = 0; i < batch.length; i++) {
      const { userId, pending } = batch[i]!;
      const state = states[i]!;
      state.sending = undefined;
      const outcome = outcomes[i] ?? new Error('the sender reported nothing for this delta');
      if (typeof outcome === 'number') sent++;
      else {
        firstFailure ??= outcome;
        failedUsers.push(userId);
        state.pending = mergePending(pending, state.pending);
        if (!closed) schedule(userId, state);
      }
      if (idle(state)) {
        // Kept until its window has passed, so that its next change waits for it.
        if (closed || state.quietUntil <= Date.now()) users.delete(userId);
        else onClock(userId, state.quietUntil);
      }
    }
    if (sent > 0) options.metrics?.deltas.inc(sent);
    if (firstFailure) {
      options.metrics?.deltaFailures.inc(failedUsers.length);
      if (closed) options.log?.error({ err: firstFailure, users: failedUsers }, 'portfolio deltas dropped at shutdown');
      else options.log?.warn({ err: firstFailure, users: failedUsers.length, firstUser: failedUsers[0] }, 'portfolio deltas not sent; retrying with the next window');
    }
  }

  return {
    push(userId, change) {
      if (closed) throw new Error('delta coalescer is closed');
      let state = users.get(userId);
      if (!state) {
        state = { pending: undefined, closesAt: undefined, sending: undefined, quietUntil: 0 };
        users.set(userId, state);
      }
      state.pending = mergeChange(state.pending, change, nowIso());
      options.metrics?.changesCoalesced.inc();
      schedule(userId, state);
    },
    flush(userId) {
      return sendUsers(userId === undefined ? [...users.keys()] : [userId]);
    },
    activeUsers: () => users.size,
    async close() {
      closed = true;
      await this.flush();
      for (const [id, state] of users) if (idle(state)) users.delete(id);
    },
  };
}
