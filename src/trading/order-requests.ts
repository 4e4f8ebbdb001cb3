import { createHash } from 'node:crypto';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import { canonicalJson } from '../snaptrade/canonical-json.ts';
import type { OrderProvider, OrderRecord, OrderRouting } from './order-state.ts';

/**
 * The idempotency records of order placement (`order_requests`), one per (user, Idempotency-Key),
 * shared by every web node through Postgres. A request first *claims* its key: the first claim
 * inserts the row and owns it under a lease; later ones with another body are refused (409), ones
 * that find the order placed answer it, and ones that find a live owner wait for it. A row whose
 * lease ran out belongs to a placer that died (or lost its answer): the next claim takes it over
 * as a *recovery*, which looks the order up at the brokerage before ever placing again.
 */

export interface OrderRequestRow {
  user_id: string;
  idempotency_key: string;
  body_hash: string;
  order_id: string;
  state: 'placing' | 'placed';
  owner: string | null;
  lease_expires_at: Date | null;
  attempts: number;
  account_id: string | null;
  provider: OrderProvider | null;
  routing: OrderRouting | null;
  placing_started_at: Date | null;
  brokerage_order_id: string | null;
  order: OrderRecord | null;
  stream_id: string | null;
}

export type Claim =
  /** This request places the order; `recovering`: an earlier attempt may have reached the brokerage. */
  | { kind: 'owner'; row: OrderRequestRow; recovering: boolean }
  | { kind: 'placed'; row: OrderRequestRow }
  /** Another request holds the key right now. */
  | { kind: 'busy'; row: OrderRequestRow };

/** SHA-256 of the normalized form (sorted keys): two bodies that mean the same order hash alike. */
export function bodyHash(form: unknown): string {
  return createHash('sha256').update(canonicalJson(form)).digest('hex');
}

export class OrderRequests {
  constructor(
    private readonly db: Knex,
    private readonly leaseMs: number,
  ) {}

  async claim(userId: string, key: string, hash: string, orderId: string, owner: string): Promise<Claim> {
    const lease = this.db.raw(`now() + make_interval(secs => ?)`, [this.leaseMs / 1000]);
    const [inserted] = (await this.db('order_requests')
      .insert({ user_id: userId, idempotency_key: key, body_hash: hash, order_id: orderId, owner, lease_expires_at: lease })
      .onConflict(['user_id', 'idempotency_key'])
      .ignore()
      .returning('*')) as OrderRequestRow[];
    if (inserted) return { kind: 'owner', row: inserted, recovering: false };
    const row = await this.read(userId, key);
    if (!row) return this.claim(userId, key, hash, orderId, owner);
    if (row.body_hash !== hash) {
      throw new ApiError(
        'FS_IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used for a different order; nothing was placed. Use a new key for a new order.',
      );
    }
    if (row.state === 'placed') return { kind: 'placed', row };
    const [taken] = (await this.db('order_requests')
      .where({ user_id: userId, idempotency_key: key, state: 'placing' })
      .where('lease_expires_at', '<', this.db.fn.now())
      .update({ owner, lease_expires_at: lease, attempts: this.db.raw('attempts + 1'), updated_at: this.db.fn.now() })
      .returning('*')) as OrderRequestRow[];
    if (taken) return { kind: 'owner', row: taken, recovering: taken.placing_started_at !== null };
    return { kind: 'busy', row };
  }

  read(userId: string, key: string): Promise<OrderRequestRow | undefined> {
    return this.db('order_requests').where({ user_id: userId, idempotency_key: key }).first();
  }

  /**
   * Records the account chosen and that the brokerage is about to be called (a recovery then
   * looks there), and renews the lease. False when another request took the key over.
   */
  async placing(userId: string, key: string, owner: string, routing: OrderRouting): Promise<boolean> {
    const updated = await this.db('order_requests')
      .where({ user_id: userId, idempotency_key: key, owner, state: 'placing' })
      .update({
        account_id: routing.accountId,
        provider: routing.provider,
        routing: JSON.stringify(routing),
        placing_started_at: this.db.raw('COALESCE(placing_started_at, now())'),
        lease_expires_at: this.db.raw(`now() + make_interval(secs => ?)`, [this.leaseMs / 1000]),
        updated_at: this.db.fn.now(),
      });
    return updated === 1;
  }

  /**
   * Stores the placed order. Whoever stores first wins (a request that took over an expired
   * lease may have found the same order); the row as stored is returned either way.
   */
  async placed(userId: string, key: string, order: OrderRecord): Promise<OrderRequestRow> {
    await this.db('order_requests')
      .where({ user_id: userId, idempotency_key: key, state: 'placing' })
      .update({
        state: 'placed',
        order: JSON.stringify(order),
        brokerage_order_id: order.brokerageOrderId,
        owner: null,
        lease_expires_at: null,
        updated_at: this.db.fn.now(),
      });
    const row = await this.read(userId, key);
    if (!row || row.state !== 'placed') throw new Error(`order request ${key} was not stored as placed`);
    return row;
  }

  /** Nothing was placed (a refusal): the key is free again, for this body or another. */
  async release(userId: string, key: string, owner: string): Promise<void> {
    await this.db('order_requests').where({ user_id: userId, idempotency_key: key, owner, state: 'placing' }).delete();
  }

  /**
   * The brokerage may or may not have the order (its answer was lost): the lease ends now, so
   * the next request with the key recovers it at once (looks it up before placing again).
   */
  async abandon(userId: string, key: string, owner: string): Promise<void> {
    await this.db('order_requests')
      .where({ user_id: userId, idempotency_key: key, owner, state: 'placing' })
      .update({ owner: null, lease_expires_at: this.db.fn.now(), updated_at: this.db.fn.now() });
  }

  async appended(userId: string, key: string, streamId: string): Promise<void> {
    await this.db('order_requests').where({ user_id: userId, idempotency_key: key }).update({ stream_id: streamId, updated_at: this.db.fn.now() });
  }

  /**
   * Brokerage order ids of the account that are already someone's order (recovery skips them).
   * A row a brokerage's report made alone (its client order id is `reportedClientOrderId`'s) is
   * no one's yet: it may be the very order being recovered, reported before its placement.
   */
  async knownBrokerageIds(accountId: string): Promise<Set<string>> {
    const rows = await this.db
      .select('brokerage_order_id')
      .from('orders')
      .where({ account_id: accountId })
      .whereNotNull('brokerage_order_id')
      .whereRaw(`client_order_id <> provider || ' order ' || brokerage_order_id`)
      .union((q) => q.select('brokerage_order_id').from('order_requests').where({ account_id: accountId }).whereNotNull('brokerage_order_id'));
    return new Set(rows.map((r: { brokerage_order_id: string }) => r.brokerage_order_id));
  }
}
