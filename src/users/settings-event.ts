import { z } from 'zod';

/**
 * `settings.changed`: the user changed their settings (`PUT /api/me/settings`). It goes through the
 * user's partition stream like every other fact, so the user's actor applies it in order with the
 * events around it, in the commit that moves their checkpoint, and a replay folds it the same way
 * (`actors/portfolio/portfolio-projection.ts`). Pure: no I/O.
 */
export const SETTINGS_CHANGED_EVENT = 'settings.changed';

/** What `users.base_currency` holds before any `settings.changed` (the column's default). */
export const DEFAULT_BASE_CURRENCY = 'USD';

/** Three upper-case letters: what `users.base_currency` (char(3), checked) can hold. */
export const BASE_CURRENCY = /^[A-Z]{3}$/;

export const settingsChangedPayload = z.object({
  /** The currency every figure of the portfolio is valued in from this event on. */
  baseCurrency: z.string().regex(BASE_CURRENCY, 'expected three upper-case letters'),
});

export type SettingsChangedPayload = z.infer<typeof settingsChangedPayload>;

/**
 * The payload of a `settings.changed` event; throws (naming the field) when it is malformed, so the
 * actor retries it and finally parks it as a dead letter, and a replay skips it, as the actor did.
 */
export function parseSettingsChanged(payload: unknown): SettingsChangedPayload {
  const parsed = settingsChangedPayload.safeParse(payload);
  if (!parsed.success) throw new Error(`settings.changed: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
