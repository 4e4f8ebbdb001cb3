import { randomUUID } from 'node:crypto';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import type { CredentialsStore } from '../providers/credentials-store.ts';
import { ProviderError } from '../providers/provider-error.ts';
import type { SnapTradeClient } from '../providers/snaptrade/client.ts';
import { ENVELOPE_SCHEMA_VERSION } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';
import type { StreamProducer } from '../../streams/producer.ts';
import { waitForCheckpoint } from '../api/checkpoint-wait.ts';

export interface DeleteUserDeps {
  db: Knex;
  snaptrade: SnapTradeClient;
  credentials: CredentialsStore;
  producer: StreamProducer;
  partitionCount: number;
  /** Longest the request waits for the user's actor to apply the deletion. */
  waitMs: number;
}

export interface DeleteUserResult {
  userId: string;
  /** SnapTrade's copy of the user was deleted by this call (false: there was none). */
  snaptradeDeleted: boolean;
  /** The deletion was applied here within the wait (false: it will be, shortly). */
  applied: boolean;
}

/**
 * Deletes a user everywhere, in the order that loses nothing if a step fails: SnapTrade's copy
 * first (a failure there answers an error and deletes nothing here, so the request can be
 * retried), then a `user.deleted` event through the user's stream, so their actor removes every
 * row they own in one transaction, in order with the events before it, leaves a tombstone, closes
 * their sockets and purges their events. Alpaca accounts are the product's own broker accounts:
 * their keys are forgotten, the accounts themselves are not closed.
 */
export async function deleteUser(deps: DeleteUserDeps, userId: string): Promise<DeleteUserResult> {
  const [user, creds] = await Promise.all([
    deps.db('users').where({ id: userId }).first('id'),
    deps.credentials.snaptrade(userId).catch(() => undefined),
  ]);
  if (!user && !creds) throw new ApiError('FS_NOT_FOUND', 'no such user');
  let snaptradeDeleted = false;
  if (creds) {
    try {
      await deps.snaptrade.deleteUser(creds.snaptradeUserId);
      snaptradeDeleted = true;
    } catch (err) {
      // Already gone at SnapTrade: nothing left to delete there.
      if (!(err instanceof ProviderError) || err.status !== 404) {
        const retryable = err instanceof ProviderError ? err.retryable : true;
        throw new ApiError(
          retryable ? 'FS_STORAGE_UNAVAILABLE' : 'FS_UPSTREAM',
          `SnapTrade did not delete the user, so nothing was deleted: ${(err as Error).message}`,
        );
      }
    }
  }
  const partition = partitionOf(userId, deps.partitionCount);
  const streamId = await deps.producer.append({
    id: randomUUID(),
    type: 'user.deleted',
    user: userId,
    partition,
    time: new Date().toISOString(),
    schema: ENVELOPE_SCHEMA_VERSION,
    payload: { snaptradeDeleted },
  });
  deps.credentials.forget(userId);
  const applied = await waitForCheckpoint(deps.db, userId, streamId, deps.waitMs);
  return { userId, snaptradeDeleted, applied };
}
