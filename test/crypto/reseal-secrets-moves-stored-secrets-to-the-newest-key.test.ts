import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSecretBox, type SecretBox } from '../../src/crypto/secret-box.ts';
import { resealSecrets } from '../../src/db/reseal-secrets.ts';
import { CredentialsStore } from '../../src/providers/credentials-store.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const oldKey = { version: 1, key: randomBytes(32) };
const newKey = { version: 2, key: randomBytes(32) };
/** The engine before the rotation: one key, version 1. */
const before = createSecretBox(oldKey.key);
/** The engine and the command during the rotation: the new key seals, the old one still opens. */
const rotating = createSecretBox(newKey, [oldKey]);
/** After the old key is removed. */
const after = createSecretBox(newKey);

interface Seeded {
  users: string[];
  alpaca: { userId: string; connectionId: string; accountId: string; secretKey: string }[];
}

/** Users with SnapTrade registrations and Alpaca links, sealed by `box` the way the engine seals them. */
async function seed(db: TestDatabase, box: SecretBox, users: number, alpacaLinks: number): Promise<Seeded> {
  const store = new CredentialsStore(db.knex, box);
  const seeded: Seeded = { users: [], alpaca: [] };
  for (let i = 0; i < users; i += 1) {
    const userId = `user-${i}`;
    await store.saveSnaptrade(userId, `st-${userId}`, `secret-of-${userId}`);
    seeded.users.push(userId);
  }
  for (let i = 0; i < alpacaLinks; i += 1) {
    const userId = seeded.users[i % users]!;
    const connectionId = randomUUID();
    const link = { userId, connectionId, accountId: `alpaca-${i}`, secretKey: `alpaca-secret-${i}` };
    await db.knex('brokerage_connections').insert({
      id: connectionId,
      user_id: userId,
      provider: 'alpaca',
      external_id: link.accountId,
      credentials_sealed: store.sealAlpaca(connectionId, `KEY${i}`, link.secretKey),
    });
    seeded.alpaca.push(link);
  }
  return seeded;
}

async function sealedValues(db: TestDatabase): Promise<string[]> {
  const secrets = await db.knex('snaptrade_users').orderBy('user_id').pluck('user_secret_sealed');
  const alpaca = await db.knex('brokerage_connections').whereNotNull('credentials_sealed').orderBy('id').pluck('credentials_sealed');
  return [...secrets, ...alpaca] as string[];
}

/** `npm run secrets:reseal` as an operator runs it, against the test database. */
function runCommand(db: TestDatabase): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/db/reseal-cli.ts', '--batch-size=2'],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'test',
          LOG_LEVEL: 'silent',
          DATABASE_URL: db.url,
          ENCRYPTION_KEY: newKey.key.toString('hex'),
          ENCRYPTION_KEY_VERSION: '2',
          ENCRYPTION_KEYS_PREVIOUS: `1:${oldKey.key.toString('base64')}`,
        },
        timeout: 240_000, // a guard against a hang: tsx compiling the CLI is slow on a loaded machine
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('npm run secrets:reseal', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('re-seals secrets sealed with the old key under the newest one, in batches, and the engine opens them with the new key alone', async () => {
    const seeded = await seed(db, before, 5, 3);
    expect((await sealedValues(db)).every((v) => v.startsWith('v1.'))).toBe(true);

    // An engine already running the rotation settings, with a user's credentials cached.
    const running = new CredentialsStore(db.knex, rotating);
    const cached = await running.snaptrade('user-0');

    const batches: string[] = [];
    const report = await resealSecrets(db.knex, rotating, { batchSize: 2, onBatch: (table) => batches.push(table) });
    expect(report).toMatchObject({ currentVersion: 2, resealed: 8, current: 0, failed: 0, failures: [] });
    expect(report.tables).toEqual({
      snaptrade_users: { resealed: 5, current: 0, failed: 0 },
      brokerage_connections: { resealed: 3, current: 0, failed: 0 },
    });
    expect(batches.filter((t) => t === 'snaptrade_users').length).toBe(3);
    expect((await sealedValues(db)).every((v) => v.startsWith('v2.'))).toBe(true);

    // The running engine's cache keeps answering, and reads the re-sealed rows once it expires.
    expect(await running.snaptrade('user-0')).toBe(cached);
    running.forget('user-0');
    expect((await running.snaptrade('user-0'))!.userSecret).toBe('secret-of-user-0');

    // With the old key removed, every secret still opens: they are really under the new key.
    const engine = new CredentialsStore(db.knex, after);
    for (const userId of seeded.users) {
      const credentials = await engine.snaptrade(userId);
      // Resealing is not a registration: the generation is the one the seed gave.
      expect(credentials).toMatchObject({ snaptradeUserId: `st-${userId}`, userSecret: `secret-of-${userId}`, generation: seeded.users.indexOf(userId) + 1 });
    }
    for (const link of seeded.alpaca) {
      expect(await engine.alpacaByAccount(link.userId, link.accountId)).toMatchObject({
        connectionId: link.connectionId,
        secretKey: link.secretKey,
      });
    }
  });

  it('re-seals nothing on a second run, and leaves secrets the engine sealed with the newest key as they are', async () => {
    await seed(db, before, 3, 2);
    // A user who registered after the deploy: already under the new key.
    await new CredentialsStore(db.knex, rotating).saveSnaptrade('late-user', 'st-late', 'secret-late');
    const first = await resealSecrets(db.knex, rotating, { batchSize: 2 });
    expect(first).toMatchObject({ resealed: 5, current: 1, failed: 0 });

    const sealed = await sealedValues(db);
    const second = await resealSecrets(db.knex, rotating, { batchSize: 2 });
    expect(second).toMatchObject({ resealed: 0, current: 6, failed: 0 });
    expect(await sealedValues(db)).toEqual(sealed);
  });

  it('does not lose a secret the engine writes while the command runs', async () => {
    await seed(db, before, 3, 0);
    // An engine process not yet redeployed re-registers user-1 in a transaction that holds the row.
    const oldEngine = new CredentialsStore(db.knex, before);
    const trx = await db.knex.transaction();
    await oldEngine.saveSnaptrade('user-1', 'st-user-1-again', 'the-new-secret', trx);

    const running = resealSecrets(db.knex, rotating, { batchSize: 10 });
    // The batch waits for the row instead of reading its old value.
    await expect
      .poll(
        async () => {
          const { rows } = await db.knex.raw(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          return rows[0].n as number;
        },
        { interval: 20 },
      )
      .toBeGreaterThan(0);
    await trx.commit();

    expect(await running).toMatchObject({ resealed: 3, failed: 0 });
    const credentials = await new CredentialsStore(db.knex, after).snaptrade('user-1');
    expect(credentials).toMatchObject({ snaptradeUserId: 'st-user-1-again', userSecret: 'the-new-secret' });
    // A re-registration: a generation no registration had (the three seeded took 1 to 3).
    expect(credentials!.generation).toBe(4);
  });

  it('reports a corrupt row by id and reason without printing a secret, exits non-zero, and exits 0 once it is gone', async () => {
    await seed(db, before, 3, 1);
    // A secret whose ciphertext was damaged: it cannot be opened with any key.
    const [sealed] = await db.knex('snaptrade_users').where({ user_id: 'user-2' }).pluck('user_secret_sealed');
    const parts = (sealed as string).split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 0xff;
    parts[3] = body.toString('base64url');
    await db.knex('snaptrade_users').where({ user_id: 'user-2' }).update({ user_secret_sealed: parts.join('.') });

    const failed = await runCommand(db);
    expect(failed.stderr).toBe('');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('snaptrade_users: 2 re-sealed, 0 already current, 1 failed');
    expect(failed.stdout).toContain('brokerage_connections: 1 re-sealed, 0 already current, 0 failed');
    expect(failed.stdout).toMatch(/failed: snaptrade_users user_id=user-2: sealed secret failed authentication under key version 1/);
    expect(failed.stdout).toContain('total: 3 re-sealed, 0 already current, 1 failed');
    for (const secret of ['secret-of-user-0', 'secret-of-user-1', 'secret-of-user-2', 'alpaca-secret-0']) {
      expect(failed.stdout).not.toContain(secret);
    }
    for (const value of await sealedValues(db)) expect(failed.stdout).not.toContain(value.split('.')[3]);
    // The damaged row is left as it was; the others moved to the new key.
    const versions = await db.knex('snaptrade_users').orderBy('user_id').pluck('user_secret_sealed');
    expect(versions.map((v: string) => v.slice(0, 3))).toEqual(['v2.', 'v2.', 'v1.']);

    await db.knex('snaptrade_users').where({ user_id: 'user-2' }).delete();
    const clean = await runCommand(db);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('total: 0 re-sealed, 3 already current, 0 failed');
  });
});
