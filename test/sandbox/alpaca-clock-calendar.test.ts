import { ValidationError } from '@alpacahq/alpaca-trade-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEY_ID, SECRET, startHarness, type AlpacaHarness } from './alpaca-fixture.ts';

/**
 * The market clock (`/v2/clock`, SDK 4's `/v3/clock`) and calendar (`/v2/calendar`,
 * `/v3/calendar/{market}`). The sandbox market never closes: one session per New York day,
 * midnight to midnight, and the clock and calendar agree on it.
 */

let now: Date;
let h: AlpacaHarness;

beforeEach(async () => {
  // Wednesday 2024-07-03, 14:00 in New York (EDT).
  now = new Date('2024-07-03T18:00:00.000Z');
  h = await startHarness({ now: () => now });
});

afterEach(async () => {
  await h.close();
});

const headers = { 'APCA-API-KEY-ID': KEY_ID, 'APCA-API-SECRET-KEY': SECRET };

describe('Alpaca sandbox clock and calendar', () => {
  it('serves the v3 clock the SDK 4 clock() call reads, for NYSE by default', async () => {
    const { clocks } = await h.client.sdk.trading.clock.clock();
    expect(clocks).toHaveLength(1);
    expect(clocks[0]).toEqual({
      market: { acronym: 'NYSE', mic: 'XNYS', name: 'New York Stock Exchange', timezone: 'America/New_York', bic: undefined },
      timestamp: now,
      isMarketDay: true,
      phase: 'core',
      // The session ends at the next New York midnight, when the next one starts.
      phaseUntil: new Date('2024-07-04T04:00:00.000Z'),
      nextMarketClose: new Date('2024-07-04T04:00:00.000Z'),
      nextMarketOpen: new Date('2024-07-04T04:00:00.000Z'),
    });
    // Alpaca's wire shape: snake_case, New York offsets.
    const raw = (await (await fetch(`${h.sandbox.url}/v3/clock`, { headers })).json()) as { clocks: Record<string, unknown>[] };
    expect(raw.clocks[0]).toMatchObject({ is_market_day: true, phase_until: '2024-07-04T00:00:00-04:00', timestamp: '2024-07-03T14:00:00-04:00' });
  });

  it('answers the v3 clock for the markets and the time asked, and 400 for a market it does not carry', async () => {
    const { clocks } = await h.client.sdk.trading.clock.clock({ markets: 'NASDAQ,NYSE', time: new Date('2024-01-15T23:30:00.000Z') });
    expect(clocks.map((c) => c.market.acronym)).toEqual(['NASDAQ', 'NYSE']);
    expect(clocks[0]!.market.mic).toBe('XNAS');
    expect(clocks[0]!.timestamp).toEqual(new Date('2024-01-15T23:30:00.000Z'));
    // Winter: midnight EST is 05:00Z.
    expect(clocks[0]!.nextMarketClose).toEqual(new Date('2024-01-16T05:00:00.000Z'));
    const err = await h.client.sdk.trading.clock.clock({ markets: 'LSE' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).status).toBe(400);
  });

  it('keeps the v2 clock open with the next close at the next New York midnight', async () => {
    const clock = await h.client.sdk.trading.clock.legacyClock();
    expect(clock).toEqual({
      timestamp: now,
      isOpen: true,
      nextOpen: new Date('2024-07-04T04:00:00.000Z'),
      nextClose: new Date('2024-07-04T04:00:00.000Z'),
    });
  });

  it('serves the v2 calendar: every day a market day, open all day, settling the same day', async () => {
    const days = await h.client.sdk.trading.calendar.legacyCalendar({ start: new Date('2024-03-09'), end: new Date('2024-03-11') });
    expect(days.map((d) => d.date.toISOString().slice(0, 10))).toEqual(['2024-03-09', '2024-03-10', '2024-03-11']);
    expect(days[0]).toMatchObject({ open: '00:00', close: '24:00', sessionOpen: '0000', sessionClose: '2400' });
    expect(days[0]!.settlementDate).toEqual(days[0]!.date);
    // Without a range: today (New York) through a year on.
    const defaults = await h.client.sdk.trading.calendar.legacyCalendar();
    expect(defaults[0]!.date).toEqual(new Date('2024-07-03'));
    expect(defaults.at(-1)!.date).toEqual(new Date('2025-07-03'));
  });

  it('serves the v3 calendar with each session from New York midnight to the next, across DST', async () => {
    const resp = await h.client.sdk.trading.calendar.calendar({ market: 'NYSE', start: new Date('2024-03-09'), end: new Date('2024-03-10') });
    expect(resp.market).toMatchObject({ acronym: 'NYSE', mic: 'XNYS', timezone: 'America/New_York' });
    expect(resp.calendar).toEqual([
      {
        date: new Date('2024-03-09'),
        coreStart: new Date('2024-03-09T05:00:00.000Z'),
        coreEnd: new Date('2024-03-10T05:00:00.000Z'),
        settlementDate: new Date('2024-03-09'),
        lunchEnd: undefined,
        lunchStart: undefined,
        postEnd: undefined,
        postStart: undefined,
        preEnd: undefined,
        preStart: undefined,
      },
      {
        date: new Date('2024-03-10'),
        coreStart: new Date('2024-03-10T05:00:00.000Z'),
        // The spring-forward day is 23 hours long.
        coreEnd: new Date('2024-03-11T04:00:00.000Z'),
        settlementDate: new Date('2024-03-10'),
        lunchEnd: undefined,
        lunchStart: undefined,
        postEnd: undefined,
        postStart: undefined,
        preEnd: undefined,
        preStart: undefined,
      },
    ]);
    const utc = (await (await fetch(`${h.sandbox.url}/v3/calendar/NYSE?start=2024-03-10&end=2024-03-10&timezone=UTC`, { headers })).json()) as {
      calendar: Record<string, unknown>[];
    };
    expect(utc.calendar[0]).toEqual({ date: '2024-03-10', core_start: '2024-03-10T05:00:00Z', core_end: '2024-03-11T04:00:00Z', settlement_date: '2024-03-10' });
    expect((await fetch(`${h.sandbox.url}/v3/calendar/XETR`, { headers })).status).toBe(400);
  });
});
