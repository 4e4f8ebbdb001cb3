import { randomUUID } from 'node:crypto';
import { loadFxTable } from '../../actors/portfolio/portfolio-repository.ts';
import { waitForCheckpoint } from '../api/checkpoint-wait.ts';
import type { Knex } from '../db/knex.ts';
import { ApiError } from '../http/errors.ts';
import { convertibleCurrencies } from '../portfolio/index.ts';
import { ENVELOPE_SCHEMA_VERSION } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';
import type { StreamProducer } from '../../streams/producer.ts';
import { DEFAULT_BASE_CURRENCY, SETTINGS_CHANGED_EVENT, type SettingsChangedPayload } from './settings-event.ts';

export interface UserSettings {
  baseCurrency: string;
  /** The currencies the stored exchange rates convert to. */
  supportedBaseCurrencies: string[];
}

export interface SettingsDeps {
  db: Knex;
  producer: StreamProducer;
  partitionCount: number;
  /** Longest a change waits for the user's actor to apply it. */
  waitMs: number;
}

/** The user's settings as committed (a user the engine has not met yet has the defaults). */
export async function readSettings(db: Knex, userId: string): Promise<UserSettings> {
  const [user, fx] = await Promise.all([db('users').where({ id: userId }).first('base_currency'), loadFxTable(db)]);
  return {
    baseCurrency: (user?.base_currency as string | undefined)?.trim() ?? DEFAULT_BASE_CURRENCY,
    supportedBaseCurrencies: convertibleCurrencies(fx),
  };
}

/**
 * Changes the user's base currency: a code the exchange rates do not convert to is refused (400,
 * naming the field and the codes that are), anything else goes to the user's stream as
 * `settings.changed`, and the answer waits (up to `waitMs`) for their actor to apply it: it then
 * reads the settings as committed. Always appended, even when the base is already the one asked
 * for: a change still in the stream may be about to move it.
 */
export async function changeSettings(deps: SettingsDeps, userId: string, change: SettingsChangedPayload): Promise<UserSettings & { applied: boolean }> {
  const supported = convertibleCurrencies(await loadFxTable(deps.db));
  if (!supported.includes(change.baseCurrency)) {
    throw new ApiError(
      'FS_VALIDATION',
      `baseCurrency: ${change.baseCurrency} is not a currency the engine can convert to with its exchange rates; supported: ${supported.join(', ')}`,
      { field: 'baseCurrency', supported },
    );
  }
  const streamId = await deps.producer.append({
    id: randomUUID(),
    type: SETTINGS_CHANGED_EVENT,
    user: userId,
    partition: partitionOf(userId, deps.partitionCount),
    time: new Date().toISOString(),
    schema: ENVELOPE_SCHEMA_VERSION,
    payload: { baseCurrency: change.baseCurrency } satisfies SettingsChangedPayload,
  });
  const applied = await waitForCheckpoint(deps.db, userId, streamId, deps.waitMs);
  return { ...(await readSettings(deps.db, userId)), applied };
}
