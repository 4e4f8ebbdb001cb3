import { setTimeout as sleep } from 'node:timers/promises';
import { duplicateClient, type RedisClient as Redis } from '../src/runtime/redis-client.ts';
import { ZodError } from 'zod';
import type { Knex } from '../src/db/knex.ts';
import type { Logger } from '../src/logging/logger.ts';
import { REPEATABLE } from '../src/logging/repeat-limiter.ts';
import {
  ensureConsumerGroup,
  groupBacklog,
  groupReader,
  LeaseLostError,
  waitForNew,
  type GroupReader,
  type StreamEntry,
} from '../streams/consumer-group.ts';
import { appendDeadLetter } from '../streams/dead-letter.ts';
import { decodeEnvelope, type Envelope } from '../streams/envelope.ts';
import type { StreamKeys } from '../streams/keys.ts';
import { parseStreamId } from '../streams/stream-id.ts';
import type { ActorMessage, PartitionTenure } from './actor.ts';
import type { ActorRegistry } from './actor-registry.ts';
import { claimFence, type FencedError } from './checkpoint-store.ts';
import { leaseHolder, type Lease } from './partition-lease.ts';
import type { ActorMetrics } from './runtime-metrics.ts';

const READ_COUNT = 500;
const BLOCK_MS = 5_000;

export type PartitionEnd =
  | { reason: 'lease-lost' }
  | { reason: 'fenced'; current: number | null }
  | { reason: 'handed-over' };

export interface PartitionWorkerOptions<S> {
  redis: Redis;
  keys: StreamKeys;
  db: Knex;
  registry: ActorRegistry<S>;
  lease: Lease;
  maxInFlight: number;
  leaseTtlMs: number;
  /** Entries pending this long with any consumer are reclaimed by the periodic sweep. */
  staleClaimIdleMs: number;
  metrics: ActorMetrics;
  log: Logger;
  /** The tenure ended on its own (lease lost, fenced): the runtime forgets the partition. */
  onEnded(worker: PartitionWorker<S>, end: PartitionEnd): void;
}

/**
 * One partition, for one lease tenure: claims the fence in Postgres, takes over every pending
 * entry of the group, reads them (`0`) and then new entries (`>`), and hands each event to its
 * user's actor. At most `maxInFlight` entries are read and not yet settled; reading waits for
 * room, so a slow user holds up its partition by at most that much and never another partition.
 * Entries are acked only when their actor settles them (committed, skipped or parked).
 */
export class PartitionWorker<S> implements PartitionTenure {
  readonly partition: number;
  readonly token: number;
  readonly lease: Lease;
  private tenureActive = true;
  private reading = true;
  private historyDone = false;
  private fenceClaimed = false;
  private readonly inFlight = new Set<string>();
  private ackBuffer: string[] = [];
  private ackFlush: Promise<void> | undefined;
  private roomWaiter: (() => void) | undefined;
  private blocking: Redis | undefined;
  private loop: Promise<void> = Promise.resolve();
  private readonly reader: GroupReader;
  private readonly log: Logger;

  constructor(private readonly options: PartitionWorkerOptions<S>) {
    this.lease = options.lease;
    this.partition = options.lease.partition;
    this.token = options.lease.token;
    this.log = options.log.child({ partition: this.partition, fencingToken: this.token });
    this.reader = groupReader(options.redis, {
      stream: options.keys.partitionStream(this.partition),
      leaseKey: options.keys.partitionLease(this.partition),
      leaseValue: options.lease.value,
      consumer: options.lease.workerId,
      // A stall of this process past the TTL costs the tenure only when someone else acquired.
      takeBack: { fenceKey: options.keys.partitionFence(this.partition), token: this.token, ttlMs: options.leaseTtlMs },
    });
  }

  get active(): boolean {
    return this.tenureActive;
  }

  /** The tenure claimed the fence: what the previous holder committed is visible to loads now. */
  get ready(): boolean {
    return this.tenureActive && this.fenceClaimed;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  start(): void {
    this.loop = this.run();
  }

  // --- PartitionTenure (called by actors) -------------------------------------------------

  settle(ids: readonly string[]): void {
    for (const id of ids) this.inFlight.delete(id);
    this.ackBuffer.push(...ids);
    this.scheduleAck();
    this.wakeReader();
  }

  fenced(err: FencedError): void {
    if (!this.tenureActive) return;
    this.abort(`fenced: ${err.message}`);
    this.options.onEnded(this, { reason: 'fenced', current: err.current });
  }

  async deadLetter(message: ActorMessage, reason: string, deliveries: number): Promise<void> {
    await appendDeadLetter(this.options.redis, this.options.keys, this.partition, {
      entryId: message.id,
      envelope: message.raw,
      reason,
      deliveries,
      parkedBy: this.lease.workerId,
    });
  }

  // --- lifecycle ----------------------------------------------------------------------------

  /**
   * Graceful hand-over: stops reading, lets the actors finish what was read (up to `drainMs`),
   * acks it, and ends the tenure. The caller releases the lease afterwards.
   */
  async handOver(drainMs: number): Promise<void> {
    this.stopReading();
    await this.loop;
    const deadline = Date.now() + drainMs;
    while (
      this.tenureActive &&
      (this.inFlight.size > 0 || this.options.registry.busyIn(this) > 0) &&
      Date.now() < deadline
    ) {
      await sleep(10);
    }
    if (this.inFlight.size > 0) {
      this.log.warn({ inFlight: this.inFlight.size }, 'hand-over: drain timed out; the rest stays pending');
    }
    this.endTenure();
    await this.flushAcks();
    this.log.info('partition handed over');
  }

  /** The lease is gone: stop at once; nothing more is committed or acked for unfinished work. */
  abort(reason: string): void {
    if (!this.tenureActive) return;
    this.stopReading();
    const pending = this.inFlight.size;
    this.endTenure();
    this.log.warn({ reason, abandoned: pending }, 'partition lost: stopped without committing');
  }

  /** Periodic: reclaims entries stuck with any consumer, and reports the partition's lag. */
  async maintain(): Promise<void> {
    if (!this.reading || !this.historyDone) return;
    try {
      const stale = await this.reader.claimStale(this.options.staleClaimIdleMs, 100);
      const lost = stale.filter((e) => !this.inFlight.has(e.id));
      if (lost.length > 0) {
        this.log.warn({ entries: lost.length, first: lost[0]!.id }, 'reclaimed stale pending entries');
        for (const entry of lost) await this.dispatch(entry, 1);
      }
      const backlog = await groupBacklog(this.options.redis, this.reader.stream);
      this.options.metrics.partitionLag(this.partition, backlog.lag);
    } catch (err) {
      if (err instanceof LeaseLostError) this.leaseLost();
      else this.log.warn({ err }, 'partition maintenance failed');
    }
  }

  // --- reading --------------------------------------------------------------------------------

  private async run(): Promise<void> {
    try {
      await ensureConsumerGroup(this.options.redis, this.reader.stream);
      if (!(await this.claimFence())) return;
      const claimed = await this.reader.claimAllPending();
      this.log.info({ claimed }, 'partition acquired');
      await this.readHistory();
      this.historyDone = true;
      await this.readLive();
    } catch (err) {
      if (!this.reading) return;
      if (err instanceof LeaseLostError) {
        this.leaseLost();
        return;
      }
      this.log.error({ err }, 'partition reader failed');
      this.abort('reader failed');
      this.options.onEnded(this, { reason: 'lease-lost' });
    }
  }

  /** Writes our token to the Postgres fence before anything is loaded or applied. */
  private async claimFence(): Promise<boolean> {
    for (let attempt = 1; this.reading; attempt++) {
      try {
        const claim = await claimFence(this.options.db, {
          partition: this.partition,
          token: this.token,
          owner: leaseHolder(this.lease.workerId, this.lease.incarnation),
          lockTimeoutMs: this.options.leaseTtlMs,
        });
        if (claim.claimed) {
          this.fenceClaimed = true;
          return true;
        }
        this.abort(`token ${claim.token} of another tenure already fenced the partition`);
        this.options.onEnded(this, { reason: 'fenced', current: claim.token });
        return false;
      } catch (err) {
        // A retry loop: bounded like an outage's lines whatever the error (a lock timeout behind a
        // dying tenure repeats as often as a lost connection).
        this.log.warn({ [REPEATABLE]: true, err, attempt }, 'claiming the partition fence failed; retrying');
        await sleep(Math.min(100 * attempt, 1_000));
      }
    }
    return false;
  }

  private async readHistory(): Promise<void> {
    let after = '0';
    while (this.reading) {
      const room = await this.room();
      if (!this.reading) return;
      const entries = await this.withRetry(() => this.reader.readPending(after, Math.min(room, READ_COUNT)));
      if (!entries || entries.length === 0) return;
      const counts = await this.withRetry(() =>
        this.reader.deliveryCounts(entries[0]!.id, entries[entries.length - 1]!.id, entries.length),
      );
      for (const entry of entries) await this.dispatch(entry, counts?.get(entry.id) ?? 1);
      after = entries[entries.length - 1]!.id;
    }
  }

  private async readLive(): Promise<void> {
    while (this.reading) {
      const room = await this.room();
      if (!this.reading) return;
      const read = await this.withRetry(() => this.reader.readNew(Math.min(room, READ_COUNT)));
      if (!read) continue;
      // Entries this read delivered are in our pending list even if a stop came meanwhile:
      // apply and ack them (the drain waits for them) rather than leave them to a successor.
      if (read.entries.length > 0) {
        for (const entry of read.entries) await this.dispatch(entry, 1);
        continue;
      }
      if (!this.reading) return;
      try {
        await waitForNew(this.blockingConnection(), this.reader.stream, read.lastId, BLOCK_MS);
      } catch (err) {
        if (this.reading) {
          this.log.warn({ err }, 'waiting for new entries failed');
          await sleep(200);
        }
      }
    }
  }

  /** Runs a Redis step, retrying transport errors while reading; a lost lease propagates. */
  private async withRetry<T>(step: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; this.reading; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (err instanceof LeaseLostError || !this.reading) throw err;
        this.log.warn({ [REPEATABLE]: true, err, attempt }, 'partition read failed; retrying');
        await sleep(Math.min(100 * attempt, 2_000));
      }
    }
    return undefined;
  }

  private async dispatch(entry: StreamEntry, deliveries: number): Promise<void> {
    if (this.inFlight.has(entry.id) || !this.tenureActive) return;
    if (entry.raw === null) {
      // Trimmed while pending: nothing left to apply.
      this.settle([entry.id]);
      return;
    }
    let envelope: Envelope;
    try {
      if (entry.raw === undefined) throw new Error('entry has no envelope field');
      envelope = decodeEnvelope(entry.raw);
    } catch (err) {
      await this.parkMalformed(entry, err);
      return;
    }
    this.inFlight.add(entry.id);
    this.options.metrics.inFlight(this.partition, this.inFlight.size);
    const actor = await this.options.registry.obtain(envelope.user, this);
    if (!this.tenureActive) return;
    const queued = actor.enqueue({
      id: entry.id,
      sid: parseStreamId(entry.id),
      envelope,
      raw: entry.raw,
      deliveries,
      failures: 0,
    });
    if (!queued) this.inFlight.delete(entry.id);
  }

  private async parkMalformed(entry: StreamEntry, err: unknown): Promise<void> {
    const detail =
      err instanceof ZodError
        ? err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
        : err instanceof Error
          ? err.message
          : String(err);
    const reason = `malformed envelope: ${detail}`;
    await appendDeadLetter(this.options.redis, this.options.keys, this.partition, {
      entryId: entry.id,
      envelope: entry.raw ?? '',
      reason,
      deliveries: 0,
      parkedBy: this.lease.workerId,
    });
    this.options.metrics.deadLettered(1);
    this.log.error({ entry: entry.id, reason }, 'malformed entry moved to the dead-letter stream');
    this.settle([entry.id]);
  }

  /**
   * Waits until fewer than `maxInFlight` entries are read and not yet acked (in an actor, or
   * settled with the XACK still buffered); returns the free room. The XACK of a flush is queued
   * on the connection before the next read, so Redis' pending list never exceeds the bound.
   */
  private async room(): Promise<number> {
    const used = () => this.inFlight.size + this.ackBuffer.length;
    while (this.reading && used() >= this.options.maxInFlight) {
      await new Promise<void>((resolve) => (this.roomWaiter = resolve));
    }
    return this.options.maxInFlight - used();
  }

  private wakeReader(): void {
    const waiter = this.roomWaiter;
    this.roomWaiter = undefined;
    waiter?.();
  }

  private blockingConnection(): Redis {
    if (!this.blocking) {
      this.blocking = duplicateClient(this.options.redis, `foliostream-p${this.partition}-block`);
      this.blocking.on('error', (err) => this.log.debug({ err }, 'blocking connection error'));
    }
    return this.blocking;
  }

  private stopReading(): void {
    this.reading = false;
    this.wakeReader();
    this.blocking?.disconnect();
    this.blocking = undefined;
  }

  private endTenure(): void {
    this.tenureActive = false;
    this.options.registry.dropTenure(this);
    this.inFlight.clear();
    this.options.metrics.partitionLag(this.partition, null);
  }

  private leaseLost(): void {
    if (!this.tenureActive) return;
    this.abort('lease lost');
    this.options.onEnded(this, { reason: 'lease-lost' });
  }

  // --- acks -----------------------------------------------------------------------------------

  private scheduleAck(): void {
    if (this.ackFlush) return;
    this.ackFlush = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flushAcks());
  }

  private async flushAcks(): Promise<void> {
    const ids = this.ackBuffer;
    this.ackBuffer = [];
    this.ackFlush = undefined;
    if (ids.length === 0) return;
    try {
      const acked = this.reader.ack(ids);
      this.wakeReader();
      await acked;
    } catch (err) {
      // Unacked entries stay pending and come back; the checkpoint makes them no-ops.
      this.log.warn({ err, entries: ids.length }, 'XACK failed');
    }
  }
}
