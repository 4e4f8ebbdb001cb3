import { describe, expect, it } from 'vitest';
import { emptyProjection, fromSnapshot, project, toSnapshot } from '../../actors/portfolio/portfolio-projection.ts';
import { comparableProjection, diffPortfolios } from '../../src/replay/portfolio-diff.ts';
import { EMPTY_FX_TABLE } from '../../src/portfolio/index.ts';
import type { Envelope } from '../../streams/envelope.ts';

/**
 * The replay fold's base currency: USD before any `settings.changed`, the last one after, carried by
 * a snapshot (and USD from a snapshot written before the fold kept it), back to USD after
 * `user.deleted`; a malformed change throws (the actor parks it, the rebuild skips it) and changes
 * nothing. The diff names a live base that differs.
 */
const USER = 'fold-base-user';
let n = 0;
const event = (type: string, payload: unknown): Envelope => ({
  id: `e-${++n}`,
  type,
  user: USER,
  partition: 0,
  time: '2026-06-02T14:30:00.000Z',
  schema: 1,
  payload,
});

describe('the base currency in the replay fold', () => {
  it('is the last settings.changed, survives a snapshot, and goes back to USD with a deletion', () => {
    const state = emptyProjection(USER);
    expect(state.baseCurrency).toBe('USD');
    project(state, event('settings.changed', { baseCurrency: 'CAD' }), '1-0');
    project(state, event('settings.changed', { baseCurrency: 'EUR' }), '2-0');
    project(state, event('settings.changed', { baseCurrency: 'CAD' }), '3-0');
    expect(state.baseCurrency).toBe('CAD');

    expect(() => project(state, event('settings.changed', { baseCurrency: 'cad' }), '4-0')).toThrow(/baseCurrency/);
    expect(() => project(state, event('settings.changed', {}), '5-0')).toThrow(/baseCurrency/);
    expect(state.baseCurrency).toBe('CAD');

    // Through a snapshot (as JSON, as the stream keeps it).
    const restored = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(state))) as ReturnType<typeof toSnapshot>);
    expect(restored.baseCurrency).toBe('CAD');
    const { baseCurrency: _dropped, ...older } = toSnapshot(state);
    expect(fromSnapshot(older).baseCurrency).toBe('USD');

    // The diff against live rows in another base names it.
    const live = comparableProjection(restored, { baseCurrency: 'USD', fx: EMPTY_FX_TABLE });
    live.settings.set('user', { baseCurrency: 'USD' });
    const rebuilt = comparableProjection(restored, { baseCurrency: 'USD', fx: EMPTY_FX_TABLE });
    expect(diffPortfolios(live, rebuilt).settings).toEqual({
      added: [],
      removed: [],
      changed: [{ key: 'user', fields: [{ field: 'baseCurrency', live: 'USD', rebuilt: 'CAD' }] }],
    });

    project(restored, event('user.deleted', {}), '6-0');
    expect(restored.baseCurrency).toBe('USD');
  });
});
