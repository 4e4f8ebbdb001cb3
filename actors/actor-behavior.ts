import type { Knex } from '../src/db/knex.ts';
import type { Envelope } from '../streams/envelope.ts';

/** What a behavior learns about the batch it applies, besides the events themselves. */
export interface ApplyContext {
  /** The actor's key: the events' `user`. */
  userId: string;
  partition: number;
  /** Stream entry ids of the events, parallel to `events`. */
  streamIds: readonly string[];
  /** Worker applying the batch, and the fencing token of its partition lease. */
  workerId: string;
  fencingToken: number;
}

/**
 * What a user actor does with its events; the runtime does everything else. The runtime owns
 * the transaction: it begins it, checks the partition fence, locks the user's checkpoint, drops
 * events at or below it, calls `apply`, moves the checkpoint to the last event, commits, acks the
 * entries (XACK), then calls `afterCommit`.
 *
 * Contract for implementers:
 * - `apply` must do every write through `tx` and must not keep side effects outside it: it may
 *   run again for the same events after a rollback (a crash, a lost lease, a failing batch being
 *   retried one event at a time). Return a new state (or the same object, mutated): after a throw
 *   the runtime discards the in-memory state and loads it again, so a half-mutated state never
 *   survives a rollback.
 * - `apply` is never re-entered for one user: the next batch starts after this one committed, so
 *   awaiting I/O inside it is safe. Different users run concurrently.
 * - A throw from `apply` counts as a failed delivery of the batch. The runtime then retries the
 *   events one at a time; an event that fails `MAX_DELIVERIES` times is moved to the dead-letter
 *   stream with the error message, and the user's checkpoint moves past it.
 * - `afterCommit` runs at most once per committed batch, after the commit and the ack (pushes,
 *   job scheduling). It is not retried; a crash between commit and it loses it.
 */
export interface ActorBehavior<State> {
  /** Name for logs and metrics. */
  readonly name: string;
  /**
   * Loads the user's state on activation, and again inside the commit transaction when the
   * stored checkpoint shows another worker committed since (then `db` is the transaction).
   */
  load(db: Knex, userId: string): Promise<State>;
  /**
   * Before the commit transaction opens, on a connection of its own, with the events the actor is
   * about to apply (a batch may still grow by events that arrive while the transaction waits for
   * its connection). For writes that would otherwise hold locks other users' commits wait on until
   * this commit ends, such as registering shared reference rows. Must be idempotent and harmless
   * if the commit then fails; `apply` must not rely on it. A failure is logged and ignored.
   */
  prepare?(db: Knex, events: readonly Envelope[]): Promise<void>;
  /** Applies a batch of the user's events, in stream order, inside the commit transaction. */
  apply(tx: Knex.Transaction, state: State, events: readonly Envelope[], context: ApplyContext): Promise<State>;
  /** After commit and ack: side effects that must not be in the transaction. */
  afterCommit?(state: State, events: readonly Envelope[], context: ApplyContext): Promise<void> | void;
  /** The user's actor left memory (idle, evicted, or its partition moved): drop what names it. */
  passivated?(userId: string): void;
}
