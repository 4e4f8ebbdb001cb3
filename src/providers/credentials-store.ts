import type { SecretBox } from '../crypto/secret-box.ts';
import type { Knex } from '../db/knex.ts';
import { userHash } from '../users/user-hash.ts';

/**
 * Brokerage credentials at rest: sealed with AES-256-GCM (the newest ENCRYPTION_KEY; older key
 * versions still open), bound to the owning user (SnapTrade) or connection (Alpaca) so a sealed
 * value copied to another row fails. `npm run secrets:reseal` re-seals them with the same contexts.
 */

/** The associated data a user's SnapTrade secret is sealed with. */
export function snaptradeSecretContext(userId: string): string {
  return `snaptrade:${userId}`;
}

/** The associated data an Alpaca connection's credentials are sealed with. */
export function alpacaCredentialsContext(connectionId: string): string {
  return `alpaca:${connectionId}`;
}

export interface SnapTradeCredentials {
  userId: string;
  snaptradeUserId: string;
  userSecret: string;
  /** Which registration of the user this is (1, 2, ...): a re-registration takes the next. */
  generation: number;
  /** Set once SnapTrade answered 401 "Invalid userID or userSecret" for this registration. */
  invalidSince: Date | null;
}

export interface AlpacaCredentials {
  connectionId: string;
  accountId: string;
  keyId: string;
  secretKey: string;
}

export class CredentialsStore {
  /**
   * Recently used SnapTrade credentials: a sync makes several calls per user, and each would
   * otherwise take a database connection from the pool the actors commit with. Short-lived, so
   * a re-registration elsewhere is seen within `cacheTtlMs`.
   */
  private readonly cache = new Map<string, { value: SnapTradeCredentials; expires: number }>();

  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
    private readonly cacheTtlMs = 30_000,
    private readonly cacheMax = 10_000,
  ) {}

  async snaptrade(userId: string): Promise<SnapTradeCredentials | undefined> {
    const cached = this.cache.get(userId);
    if (cached && cached.expires > Date.now()) return cached.value;
    const row = await this.db('snaptrade_users').where({ user_id: userId }).first();
    if (!row) {
      this.cache.delete(userId);
      return undefined;
    }
    const value: SnapTradeCredentials = {
      userId,
      snaptradeUserId: row.snaptrade_user_id,
      userSecret: this.box.decrypt(row.user_secret_sealed, snaptradeSecretContext(userId)),
      generation: row.generation,
      invalidSince: row.invalid_since ?? null,
    };
    if (this.cache.size >= this.cacheMax) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(userId, { value, expires: Date.now() + this.cacheTtlMs });
    return value;
  }

  /**
   * Stores a new SnapTrade registration of the user (the user row is created when missing, and a
   * deletion tombstone cleared: the user came back). Every registration takes a generation never
   * used before (a re-registration's is higher) and clears the invalid mark.
   */
  async saveSnaptrade(userId: string, snaptradeUserId: string, userSecret: string, trx?: Knex.Transaction): Promise<void> {
    const write = async (tx: Knex.Transaction) => {
      await tx('users').insert({ id: userId }).onConflict('id').ignore();
      await tx('deleted_users').where({ user_hash: userHash(userId) }).delete();
      await tx('snaptrade_users')
        .insert({
          user_id: userId,
          snaptrade_user_id: snaptradeUserId,
          user_secret_sealed: this.box.encrypt(userSecret, snaptradeSecretContext(userId)),
          registered_at: tx.raw('clock_timestamp()'),
        })
        .onConflict('user_id')
        .merge({
          snaptrade_user_id: snaptradeUserId,
          user_secret_sealed: this.box.encrypt(userSecret, snaptradeSecretContext(userId)),
          // The insert's default, drawn from the sequence every registration draws from: a user
          // deleted at SnapTrade and registered again never repeats a generation.
          generation: tx.raw('excluded.generation'),
          // The clock now, not the transaction's start: SnapTrade's USER_DELETED of the previous
          // registration (sent while this transaction waited on SnapTrade) must read as older.
          registered_at: tx.raw('clock_timestamp()'),
          invalid_since: null,
          invalid_reason: null,
          updated_at: tx.fn.now(),
        });
    };
    if (trx) await write(trx);
    else await this.db.transaction(write);
    this.cache.delete(userId);
  }

  /**
   * Marks registration `generation` of the user as no longer accepted by SnapTrade. A newer
   * registration is left alone (the failure was for a secret already replaced). True when this
   * call marked it.
   */
  async markSnaptradeInvalid(db: Knex, userId: string, generation: number, reason: string): Promise<boolean> {
    const updated = await db('snaptrade_users')
      .where({ user_id: userId, generation })
      .whereNull('invalid_since')
      .update({ invalid_since: db.fn.now(), invalid_reason: reason, updated_at: db.fn.now() });
    this.cache.delete(userId);
    return updated > 0;
  }

  /** Drops the cached credentials of a user (another process may have re-registered them). */
  forget(userId: string): void {
    this.cache.delete(userId);
  }

  async alpacaConnections(userId: string): Promise<AlpacaCredentials[]> {
    const rows = await this.db('brokerage_connections')
      .where({ user_id: userId, provider: 'alpaca' })
      .whereNot({ status: 'removed' });
    return rows.map((row) => this.openAlpaca(row));
  }

  async alpacaByAccount(userId: string, accountId: string): Promise<AlpacaCredentials | undefined> {
    const row = await this.db('brokerage_connections')
      .where({ user_id: userId, provider: 'alpaca', external_id: accountId })
      .first();
    return row ? this.openAlpaca(row) : undefined;
  }

  sealAlpaca(connectionId: string, keyId: string, secretKey: string): string {
    return this.box.encrypt(JSON.stringify({ keyId, secretKey }), alpacaCredentialsContext(connectionId));
  }

  private openAlpaca(row: { id: string; external_id: string; credentials_sealed: string }): AlpacaCredentials {
    const { keyId, secretKey } = JSON.parse(this.box.decrypt(row.credentials_sealed, alpacaCredentialsContext(row.id))) as {
      keyId: string;
      secretKey: string;
    };
    return { connectionId: row.id, accountId: row.external_id, keyId, secretKey };
  }
}
