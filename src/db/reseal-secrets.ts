import { setTimeout as sleep } from 'node:timers/promises';
import { DecryptionError, type SecretBox } from '../crypto/secret-box.ts';
import { alpacaCredentialsContext, snaptradeSecretContext } from '../providers/credentials-store.ts';
import type { Knex } from './knex.ts';

/**
 * Re-seals every stored brokerage secret with the newest encryption key (`npm run secrets:reseal`,
 * `src/db/reseal-cli.ts`), the step of a key rotation that lets the old key be removed.
 *
 * - Batches of `batchSize` rows in key order, each in its own transaction that reads its rows
 *   `FOR UPDATE`: a row the engine writes meanwhile is either written before the batch reads it
 *   (and the batch sees the new value) or waits for the batch to commit (and its write wins). The
 *   update also compares the sealed value it read, so nothing written elsewhere is overwritten.
 * - Every value is opened, including those already under the newest key, so a run also proves
 *   that every secret can be opened. One that cannot is reported (table, row id, reason) and left
 *   as it is; the plaintext never leaves this function.
 * - Idempotent: a second run finds everything current and re-seals nothing.
 */
export interface SealedTable {
  table: 'snaptrade_users' | 'brokerage_connections';
  idColumn: string;
  sealedColumn: string;
  context(id: string): string;
}

export const SEALED_TABLES: readonly SealedTable[] = [
  { table: 'snaptrade_users', idColumn: 'user_id', sealedColumn: 'user_secret_sealed', context: snaptradeSecretContext },
  { table: 'brokerage_connections', idColumn: 'id', sealedColumn: 'credentials_sealed', context: alpacaCredentialsContext },
];

export interface ResealFailure {
  table: string;
  /** The row's key: `user_id` of `snaptrade_users`, `id` of `brokerage_connections`. */
  id: string;
  reason: string;
}

export interface TableCounts {
  resealed: number;
  current: number;
  failed: number;
}

export interface ResealReport extends TableCounts {
  currentVersion: number;
  tables: Record<string, TableCounts>;
  failures: ResealFailure[];
}

export interface ResealOptions {
  batchSize?: number;
  /** Longest wait for a row lock the engine holds before the batch is retried. */
  lockTimeoutMs?: number;
  /** Attempts of a batch that hit a deadlock or lock timeout. */
  attempts?: number;
  /** Called after each committed batch. */
  onBatch?: (table: string, counts: TableCounts) => void;
}

type Outcome = { kind: 'resealed' | 'current' } | { kind: 'failed'; id: string; reason: string };

const RETRYABLE = new Set(['40P01', '40001', '55P03']);

export async function resealSecrets(db: Knex, box: SecretBox, options: ResealOptions = {}): Promise<ResealReport> {
  const batchSize = options.batchSize ?? 200;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
  const report: ResealReport = { currentVersion: box.currentVersion, resealed: 0, current: 0, failed: 0, tables: {}, failures: [] };

  for (const spec of SEALED_TABLES) {
    const counts: TableCounts = { resealed: 0, current: 0, failed: 0 };
    report.tables[spec.table] = counts;
    let after: string | undefined;
    for (;;) {
      const batch = await withRetry(options.attempts ?? 5, () =>
        db.transaction((trx) => resealBatch(trx, box, spec, after, batchSize, options.lockTimeoutMs ?? 10_000)),
      );
      // Counted once the batch committed: a retried batch is not counted twice.
      for (const outcome of batch.outcomes) {
        if (outcome.kind === 'failed') {
          counts.failed += 1;
          report.failures.push({ table: spec.table, id: outcome.id, reason: outcome.reason });
        } else {
          counts[outcome.kind] += 1;
        }
      }
      options.onBatch?.(spec.table, { ...counts });
      if (batch.lastId === undefined || batch.size < batchSize) break;
      after = batch.lastId;
    }
    report.resealed += counts.resealed;
    report.current += counts.current;
    report.failed += counts.failed;
  }
  return report;
}

async function resealBatch(
  trx: Knex.Transaction,
  box: SecretBox,
  spec: SealedTable,
  after: string | undefined,
  batchSize: number,
  lockTimeoutMs: number,
): Promise<{ outcomes: Outcome[]; lastId: string | undefined; size: number }> {
  await trx.raw(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
  const query = trx(spec.table)
    .select({ id: spec.idColumn, sealed: spec.sealedColumn })
    .whereNotNull(spec.sealedColumn)
    .orderBy(spec.idColumn)
    .limit(batchSize)
    .forUpdate();
  if (after !== undefined) query.where(spec.idColumn, '>', after);
  const rows = (await query) as { id: string; sealed: string }[];

  const outcomes: Outcome[] = [];
  for (const { id, sealed } of rows) {
    let plaintext: string;
    try {
      plaintext = box.decrypt(sealed, spec.context(id));
    } catch (err) {
      outcomes.push({ kind: 'failed', id, reason: err instanceof DecryptionError ? err.message : 'could not be opened' });
      continue;
    }
    if (box.versionOf(sealed) === box.currentVersion) {
      outcomes.push({ kind: 'current' });
      continue;
    }
    const resealed = box.encrypt(plaintext, spec.context(id));
    try {
      // A savepoint per row: a refused update leaves the rest of the batch going.
      const updated = await trx.transaction((savepoint) =>
        savepoint(spec.table)
          .where(spec.idColumn, id)
          .where(spec.sealedColumn, sealed)
          .update({ [spec.sealedColumn]: resealed }),
      );
      // Locked FOR UPDATE, so it cannot have changed; if it did anyway, its new value stands.
      outcomes.push(
        updated === 1
          ? { kind: 'resealed' }
          : { kind: 'failed', id, reason: 'changed by another writer while being re-sealed (left as written): run the command again' },
      );
    } catch (err) {
      if (RETRYABLE.has(pgCode(err) ?? '')) throw err;
      outcomes.push({ kind: 'failed', id, reason: databaseReason(err) });
    }
  }
  return { outcomes, lastId: rows.at(-1)?.id, size: rows.length };
}

async function withRetry<T>(attempts: number, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= attempts || !RETRYABLE.has(pgCode(err) ?? '')) throw err;
      await sleep(100 * 2 ** (attempt - 1) * (0.5 + Math.random()));
    }
  }
}

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * What a refused update reports. Never the driver's message: knex puts the query with its
 * bindings, the sealed values, in it.
 */
function databaseReason(err: unknown): string {
  const code = pgCode(err);
  const constraint = (err as { constraint?: unknown } | null)?.constraint;
  if (!code) return 'the update failed';
  return `the database refused the update (SQLSTATE ${code}${typeof constraint === 'string' ? `, constraint ${constraint}` : ''})`;
}
