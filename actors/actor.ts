import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from '../src/db/knex.ts';
import type { Logger } from '../src/logging/logger.ts';
import type { Envelope } from '../streams/envelope.ts';
import { compareStreamIds, type StreamId } from '../streams/stream-id.ts';
import type { ActorBehavior, ApplyContext } from './actor-behavior.ts';
import { beginFencedCommit, FencedError, readCheckpoint } from './checkpoint-store.ts';
import { Mailbox } from './mailbox.ts';
import type { PoolGate } from './pool-gate.ts';
import type { ActorMetrics } from './runtime-metrics.ts';

/** One event read from a partition stream, on its way through a user's actor. */
export interface ActorMessage {
  /** Stream entry id, and the same parsed. */
  id: string;
  sid: StreamId;
  envelope: Envelope;
  /** The envelope JSON as read (what a dead letter keeps). */
  raw: string;
  /** The entry's delivery count in the consumer group when it was read (1 for a first delivery). */
  deliveries: number;
  /** Times the handler failed on it in this worker. */
  failures: number;
}

/**
 * The partition tenure an actor works for: one lease with one fencing token. When the lease is
 * lost the tenure turns inactive and its actors stop without committing or acking anything more.
 */
export interface PartitionTenure {
  readonly partition: number;
  readonly token: number;
  readonly active: boolean;
  /** The entries are done (committed, skipped or parked): ack them and free their in-flight slots. */
  settle(ids: readonly string[]): void;
  /** A commit found a newer token in the fence: the tenure is over. */
  fenced(err: FencedError): void;
  /** Parks an entry in the partition's dead-letter stream. */
  deadLetter(message: ActorMessage, reason: string, deliveries: number): Promise<void>;
}

/** What all actors of a runtime share (one object, referenced by each actor). */
export interface ActorHost<S> {
  db: Knex;
  behavior: ActorBehavior<S>;
  workerId: string;
  maxBatch: number;
  maxDeliveries: number;
  /** Postgres closes a session idle inside a transaction for this long (a paused worker). */
  txIdleTimeoutMs: number;
  metrics: ActorMetrics;
  log: Logger;
  /** Delay before the n-th retry (n >= 1). */
  retryDelayMs(attempt: number): number;
  /** The actor ran out of work (the registry may passivate it, or let a waiting activation in). */
  onIdle(actor: Actor<S>): void;
  /** Limits concurrent activations (state loads) to spare the database pool. */
  activationGate?: PoolGate;
  /** Commit transactions at once (the pool's size). */
  commitGate?: PoolGate;
}

/** An error thrown by the behavior's `apply` (as opposed to the runtime's own statements). */
class HandlerError extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original));
    this.name = 'HandlerError';
  }
}

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * Errors that say nothing about the event: the database is unreachable, the session was closed,
 * a serialization or deadlock conflict. These are retried without counting a delivery, so a
 * Postgres outage does not send every event to the dead-letter stream.
 */
export function isTransientError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code === 'string') {
    if (TRANSIENT_NODE_CODES.has(e.code)) return true;
    // SQLSTATE classes: 08 connection, 40 rollback (serialization, deadlock), 53 resources,
    // 57 operator intervention (shutdown, cancel), 58 system; 25P03 idle-in-transaction timeout.
    if (/^(08|40|53|57|58)/.test(e.code) || e.code === '25P03') return true;
  }
  return typeof e.message === 'string' && /Connection terminated|connection is closed|Client has encountered a connection error/i.test(e.message);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const byStreamId = (a: ActorMessage, b: ActorMessage) => compareStreamIds(a.sid, b.sid);

/**
 * One user's actor: a mailbox drained by a single loop, so its events are applied strictly in
 * stream order and `apply` is never re-entered, however long it awaits. Each round takes up to
 * `maxBatch` queued events and commits them in one fenced transaction with the checkpoint.
 */
export class Actor<S> {
  private state: S | undefined;
  private checkpoint: StreamId | null = null;
  private readonly mailbox = new Mailbox<ActorMessage>();
  private running = false;
  /** Events taken by the batch being committed (pinned at the mailbox head). */
  private inProgress = 0;
  /** After a failed batch: one event at a time up to this id, to find the failing one. */
  private singleUntil: StreamId | null = null;
  private transientFailures = 0;
  /** Date.now() of the last event received or finished. */
  lastActive = Date.now();
  /** Local tasks (price ticks) waiting for the running batch to finish. */
  private readonly local: ((state: S) => void)[] = [];

  constructor(
    readonly userId: string,
    readonly tenure: PartitionTenure,
    private readonly host: ActorHost<S>,
  ) {}

  /** Processing, or with events waiting. */
  get busy(): boolean {
    return this.running || this.mailbox.size > 0;
  }

  get queued(): number {
    return this.mailbox.size;
  }

  enqueue(message: ActorMessage): boolean {
    if (!this.mailbox.insertOrdered(message, byStreamId, this.inProgress)) return false;
    this.lastActive = Date.now();
    if (!this.running) {
      this.running = true;
      void this.drain();
    }
    return true;
  }

  /**
   * Runs `task` on the actor's state in memory, between batches and never during one, so it
   * sees only committed state and a batch never sees it half-done. For effects that are not
   * events (a price tick revaluing holdings): nothing is persisted or acked, and a task is
   * dropped when the state is (a failed batch reloads it). Returns false when the actor has no
   * state to run it on. It does not count as activity: a user who only receives ticks is still
   * passivated when idle.
   */
  tell(task: (state: S) => void): boolean {
    if (this.state === undefined) return false;
    if (this.running) this.local.push(task);
    else task(this.state);
    return true;
  }

  /**
   * Loads the state without an event, so local tasks reach it (a user whose portfolio someone
   * watches gets live prices before their next event). Resolves true once the state is in
   * memory: at once when it already is, or when the actor is running (its events load it).
   * Failure is not retried here: the caller asks again.
   */
  wake(): Promise<boolean> {
    if (this.state !== undefined || this.running) return Promise.resolve(true);
    this.running = true;
    return new Promise<boolean>((resolve) => void this.drain(resolve));
  }

  private runLocal(): void {
    if (this.local.length === 0) return;
    const tasks = this.local.splice(0);
    if (this.state === undefined) return;
    for (const task of tasks) {
      try {
        task(this.state);
      } catch (err) {
        this.host.log.warn({ err, userId: this.userId }, 'local task failed');
      }
    }
  }

  /** Drops the queued events (the tenure ended: the next owner reads them from the pending list). */
  drop(): number {
    return this.mailbox.clear().length;
  }

  private async drain(woken?: (loaded: boolean) => void): Promise<void> {
    try {
      if (woken) {
        if (this.state === undefined && this.tenure.active) {
          try {
            await this.activate();
          } catch (err) {
            this.host.log.warn({ err, userId: this.userId }, 'actor activation failed');
          }
        }
        woken(this.state !== undefined);
      }
      while (this.mailbox.size > 0) {
        if (!this.tenure.active) {
          this.mailbox.clear();
          break;
        }
        await this.step();
        this.runLocal();
      }
    } catch (err) {
      // step() handles its own failures; reaching here is a bug worth seeing.
      this.host.log.error({ err, userId: this.userId }, 'actor loop failed');
      this.mailbox.clear();
    } finally {
      this.running = false;
      this.runLocal();
      this.lastActive = Date.now();
      this.host.onIdle(this);
    }
  }

  private async step(): Promise<void> {
    if (this.state === undefined) {
      try {
        await this.activate();
      } catch (err) {
        await this.transientFailure(err, 'actor activation failed');
        return;
      }
    }

    // Redeliveries at or below the checkpoint are a prefix of the (ordered) mailbox.
    const head = this.mailbox.peek(this.host.maxBatch);
    let skip = 0;
    while (skip < head.length && this.checkpoint && compareStreamIds(head[skip]!.sid, this.checkpoint) <= 0) skip++;
    if (skip > 0) {
      this.mailbox.shift(skip);
      this.host.metrics.skipped(skip);
      this.tenure.settle(head.slice(0, skip).map((m) => m.id));
      return;
    }

    const limit = this.singleUntil ? 1 : this.host.maxBatch;
    let batch: readonly ActorMessage[] = head.slice(0, limit);
    try {
      await this.commit(limit, (taken) => {
        batch = taken;
        this.inProgress = taken.length;
      });
      this.transientFailures = 0;
    } catch (err) {
      await this.failed(batch, err);
    } finally {
      this.inProgress = 0;
    }
  }

  private async activate(): Promise<void> {
    // Checkpoint first, then state: a state newer than the checkpoint is caught at commit time
    // (the stored checkpoint differs from ours, and the state is loaded again in the transaction).
    const release = await this.host.activationGate?.acquire();
    try {
      const checkpoint = await readCheckpoint(this.host.db, this.userId);
      const state = await this.host.behavior.load(this.host.db, this.userId);
      this.checkpoint = checkpoint;
      this.state = state;
    } finally {
      release?.();
    }
  }

  private context(batch: readonly ActorMessage[]): ApplyContext {
    return {
      userId: this.userId,
      partition: this.tenure.partition,
      streamIds: batch.map((m) => m.id),
      workerId: this.host.workerId,
      fencingToken: this.tenure.token,
    };
  }

  /**
   * One transaction. The batch is taken once the transaction has its connection: events that
   * arrived while the actor waited for the pool join it, so batches grow with the load.
   */
  private async commit(limit: number, took: (batch: readonly ActorMessage[]) => void): Promise<void> {
    const { db, behavior } = this.host;
    let batch: ActorMessage[] = [];
    let fresh: ActorMessage[] = [];
    let nextState = this.state as S;
    let stored: StreamId | null = null;
    // The commit waits for its turn here, not in the pool's queue with its acquire timeout
    // (pool-gate.ts); the turn ends with the transaction, before the pushes after it.
    const release = await this.host.commitGate?.acquire();
    try {
      if (behavior.prepare) {
        await behavior.prepare(db, this.mailbox.peek(limit).map((m) => m.envelope)).catch((err: unknown) => {
          this.host.log.warn({ err, userId: this.userId }, 'preparing a commit failed; the commit does the work itself');
        });
      }
      await db.transaction(async (tx) => {
        batch = this.mailbox.peek(limit);
        took(batch);
        stored = await beginFencedCommit(tx, {
          partition: this.tenure.partition,
          token: this.tenure.token,
          userId: this.userId,
          idleTimeoutMs: this.host.txIdleTimeoutMs,
          advanceTo: batch[batch.length - 1]!.sid,
        });
        let state = this.state as S;
        if (!sameId(stored, this.checkpoint)) {
          // Someone committed for this user since we loaded (a hand-over race): reload under lock.
          this.host.log.info({ userId: this.userId, stored, known: this.checkpoint }, 'checkpoint moved: reloading state');
          state = await behavior.load(tx, this.userId);
        }
        fresh = stored ? batch.filter((m) => compareStreamIds(m.sid, stored!) > 0) : [...batch];
        nextState = state;
        if (fresh.length > 0) {
          try {
            nextState = await behavior.apply(
              tx,
              state,
              fresh.map((m) => m.envelope),
              this.context(fresh),
            );
          } catch (err) {
            throw new HandlerError(err);
          }
        }
      });
    } finally {
      release?.();
    }
    const last = batch[batch.length - 1]!;
    const storedId = stored as StreamId | null;
    this.state = nextState;
    this.checkpoint = fresh.length > 0 ? last.sid : storedId;
    this.mailbox.shift(batch.length);
    const { metrics } = this.host;
    if (fresh.length > 0) {
      metrics.applied(fresh.length);
      metrics.batchSize(fresh.length);
    }
    if (fresh.length < batch.length) metrics.skipped(batch.length - fresh.length);
    this.tenure.settle(batch.map((m) => m.id));
    if (this.singleUntil && compareStreamIds(last.sid, this.singleUntil) >= 0) this.singleUntil = null;
    if (behavior.afterCommit && fresh.length > 0) {
      try {
        await behavior.afterCommit(
          nextState,
          fresh.map((m) => m.envelope),
          this.context(fresh),
        );
      } catch (err) {
        this.host.log.error({ err, userId: this.userId }, 'afterCommit failed (not retried)');
      }
    }
  }

  private async failed(batch: readonly ActorMessage[], err: unknown): Promise<void> {
    // Whatever apply did to the state in memory is void after a rollback.
    this.state = undefined;
    this.local.length = 0;
    if (err instanceof FencedError) {
      this.host.metrics.fenced();
      this.mailbox.clear();
      this.tenure.fenced(err);
      return;
    }
    if (!(err instanceof HandlerError) || isTransientError(err.original)) {
      await this.transientFailure(err instanceof HandlerError ? err.original : err, 'commit failed; retrying');
      return;
    }
    if (batch.length > 1) {
      this.singleUntil = batch[batch.length - 1]!.sid;
      this.host.log.warn(
        { err: err.original, userId: this.userId, events: batch.length },
        'batch failed: retrying its events one at a time',
      );
      return;
    }
    const message = batch[0]!;
    message.failures++;
    const attempts = message.deliveries - 1 + message.failures;
    if (attempts >= this.host.maxDeliveries) {
      await this.park(message, messageOf(err.original), attempts);
      return;
    }
    this.host.log.warn(
      { err: err.original, userId: this.userId, entry: message.id, attempts },
      'handler failed; retrying',
    );
    await sleep(this.host.retryDelayMs(message.failures));
  }

  /** Moves a poison event to the dead-letter stream and the checkpoint past it. */
  private async park(message: ActorMessage, reason: string, attempts: number): Promise<void> {
    try {
      // Parked first: a crash before the checkpoint parks it again (readers dedupe on entryId)
      // rather than losing it.
      await this.tenure.deadLetter(message, reason, attempts);
      await this.host.db.transaction(async (tx) => {
        await beginFencedCommit(tx, {
          partition: this.tenure.partition,
          token: this.tenure.token,
          userId: this.userId,
          idleTimeoutMs: this.host.txIdleTimeoutMs,
          advanceTo: message.sid,
        });
      });
    } catch (err) {
      if (err instanceof FencedError) {
        this.host.metrics.fenced();
        this.mailbox.clear();
        this.tenure.fenced(err);
        return;
      }
      await this.transientFailure(err, 'parking a dead letter failed; retrying');
      return;
    }
    this.host.log.error(
      { userId: this.userId, entry: message.id, type: message.envelope.type, attempts, reason },
      'event moved to the dead-letter stream',
    );
    this.mailbox.shift(1);
    this.host.metrics.deadLettered(1);
    this.tenure.settle([message.id]);
    if (this.singleUntil && compareStreamIds(message.sid, this.singleUntil) >= 0) this.singleUntil = null;
  }

  private async transientFailure(err: unknown, what: string): Promise<void> {
    this.transientFailures++;
    this.host.metrics.transientFailure();
    this.state = undefined;
    this.local.length = 0;
    if (!this.tenure.active) return;
    this.host.log.warn({ err, userId: this.userId, failures: this.transientFailures }, what);
    await sleep(this.host.retryDelayMs(Math.min(this.transientFailures, 8)));
  }
}

function sameId(a: StreamId | null, b: StreamId | null): boolean {
  if (a === null || b === null) return a === b;
  return a.ms === b.ms && a.seq === b.seq;
}
