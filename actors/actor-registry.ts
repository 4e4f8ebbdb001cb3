import { Actor, type ActorHost, type PartitionTenure } from './actor.ts';

export interface ActorRegistryOptions {
  /** Most actors in memory; the least recently used idle one is passivated to make room. */
  maxActive: number;
  /** Idle time after which the sweep passivates an actor. */
  idleMs: number;
  /** Idle actors of these users are not passivated by the sweep (evicted only as a last resort). */
  keepActive?: (userId: string) => boolean;
  /** Called for every actor that leaves memory (sweep, eviction, tenure end). */
  onPassivate?: (userId: string) => void;
}

/**
 * The worker's user actors: activated on a user's first event, passivated when idle (by a sweep)
 * or to make room (least recently used first), and never more than `maxActive` of them. When
 * every actor is busy, `obtain` waits for one to finish: that wait is the backpressure that stops
 * a partition from reading further.
 *
 * Passivation drops the actor object and with it the state: a passivated user costs nothing here
 * but the entries of other indexes that name it. Its next event loads the state again.
 */
export class ActorRegistry<S> {
  /** In least-recently-used order (a touched actor moves to the end). */
  private readonly actors = new Map<string, Actor<S>>();
  private readonly waiters: (() => void)[] = [];
  /** Shared by every actor (one reference each, not a copy). */
  private readonly host: ActorHost<S>;

  constructor(
    host: Omit<ActorHost<S>, 'onIdle'>,
    private readonly options: ActorRegistryOptions,
    private readonly onSizeChange: (size: number) => void = () => {},
  ) {
    this.host = { ...host, onIdle: (actor) => this.idle(actor) };
  }

  get size(): number {
    return this.actors.size;
  }

  /** The actor for `userId` in this tenure, activating it (waiting for room) when needed. */
  async obtain(userId: string, tenure: PartitionTenure): Promise<Actor<S>> {
    for (;;) {
      const existing = this.actors.get(userId);
      if (existing && existing.tenure === tenure) {
        this.actors.delete(userId);
        this.actors.set(userId, existing);
        return existing;
      }
      if (existing && !existing.busy) {
        // An actor of an earlier tenure of the partition: its state may be stale.
        this.remove(userId);
        continue;
      }
      if (!existing && (this.actors.size < this.options.maxActive || this.evictOne())) {
        const actor = new Actor<S>(userId, tenure, this.host);
        this.actors.set(userId, actor);
        this.onSizeChange(this.actors.size);
        return actor;
      }
      // Full of busy actors, or an old-tenure actor still finishing: wait for an actor to idle.
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /**
   * Loads the actor of `userId` in this tenure without an event (someone watches the user), if
   * there is room: it evicts only an idle actor nobody keeps active, and never waits. Resolves
   * true once the actor's state is in memory (see `Actor.wake`).
   */
  activate(userId: string, tenure: PartitionTenure): Promise<boolean> {
    let actor = this.actors.get(userId);
    if (actor && actor.tenure !== tenure) {
      // An actor of an earlier tenure still finishing: its events will load the new one.
      if (actor.busy) return Promise.resolve(false);
      this.remove(userId);
      actor = undefined;
    }
    if (!actor) {
      if (!tenure.active) return Promise.resolve(false);
      if (this.actors.size >= this.options.maxActive && !this.evictOne(false)) return Promise.resolve(false);
      actor = new Actor<S>(userId, tenure, this.host);
      this.actors.set(userId, actor);
      this.onSizeChange(this.actors.size);
    }
    return actor.wake();
  }

  /** Users whose actors are in memory here now. */
  users(): string[] {
    return [...this.actors.keys()];
  }

  /** Runs a local task on the active actor of `userId` (see `Actor.tell`); false when none is. */
  tell(userId: string, task: (state: S) => void): boolean {
    const actor = this.actors.get(userId);
    if (!actor || !actor.tenure.active) return false;
    return actor.tell(task);
  }

  /** Passivates actors idle for `idleMs` (or more); returns how many. */
  passivateIdle(now = Date.now(), idleMs = this.options.idleMs): number {
    let passivated = 0;
    for (const [userId, actor] of this.actors) {
      if (!actor.busy && now - actor.lastActive >= idleMs && !this.options.keepActive?.(userId)) {
        this.forget(userId);
        passivated++;
      }
    }
    if (passivated > 0) {
      this.onSizeChange(this.actors.size);
      this.wake();
    }
    return passivated;
  }

  /** The tenure ended: drops the queued events of its actors and passivates the idle ones. */
  dropTenure(tenure: PartitionTenure): number {
    let dropped = 0;
    for (const [userId, actor] of this.actors) {
      if (actor.tenure !== tenure) continue;
      dropped += actor.drop();
      if (!actor.busy) this.forget(userId);
    }
    this.onSizeChange(this.actors.size);
    this.wake();
    return dropped;
  }

  /** Actors of a tenure still processing (a hand-over waits for zero). */
  busyIn(tenure: PartitionTenure): number {
    let busy = 0;
    for (const actor of this.actors.values()) if (actor.tenure === tenure && actor.busy) busy++;
    return busy;
  }

  /** Passivates the least recently used idle actor; a kept-active one only as a `lastResort`. */
  private evictOne(lastResort = true): boolean {
    const keep = this.options.keepActive;
    for (const pass of keep ? (lastResort ? [false, true] : [false]) : [true]) {
      for (const [userId, actor] of this.actors) {
        if (!actor.busy && (pass || !keep!(userId))) {
          this.forget(userId);
          return true;
        }
      }
    }
    return false;
  }

  private remove(userId: string): void {
    this.forget(userId);
    this.onSizeChange(this.actors.size);
  }

  private forget(userId: string): void {
    this.actors.delete(userId);
    this.options.onPassivate?.(userId);
  }

  private idle(actor: Actor<S>): void {
    // An actor of an ended tenure has nothing more to do here.
    if (!actor.tenure.active && this.actors.get(actor.userId) === actor) this.remove(actor.userId);
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
