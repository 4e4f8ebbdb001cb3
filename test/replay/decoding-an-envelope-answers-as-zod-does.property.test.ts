import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, envelopeSchema } from '../../streams/envelope.ts';

/**
 * `decodeEnvelope` skips zod for an envelope zod would return unchanged (a replay decodes every
 * entry of a stream). Whatever the entry's text, it accepts exactly what `envelopeSchema` accepts
 * and returns what zod returns: fields at and beyond their bounds, wrong types, unknown keys (zod
 * strips them), odd times and meta values.
 */
const edgeString = (max: number) =>
  fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constant(''),
    fc.constant('x'.repeat(max)),
    fc.constant('x'.repeat(max + 1)),
    fc.integer(),
    fc.constant(null),
  );
const edgeNumber = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(2 ** 53 - 1, 2 ** 53, -0, 0.5),
  fc.constant('1'),
);
const edgeTime = fc.oneof(
  fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(Date.UTC(9999, 0)) }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2026-11-02T14:30:00+01:00',
    '2026-11-02T14:30:00.123456Z',
    '2026-11-02T14:30:00',
    '2026-11-02T14:30Z',
    '2026-11-02',
    '2026-02-30T00:00:00Z',
    '2024-02-29T00:00:00Z',
    ' 2026-11-02T14:30:00Z',
  ),
  fc.string({ maxLength: 30 }),
  fc.integer(),
);
const edgeMeta = fc.oneof(
  fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constant('__proto__')), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }))),
  fc.constantFrom(null, 'meta', 3, [] as unknown[]),
);

const base = fc.record({
  id: fc.string({ minLength: 1, maxLength: 200 }),
  type: fc.string({ minLength: 1, maxLength: 100 }),
  user: fc.string({ minLength: 1, maxLength: 200 }),
  partition: fc.nat(),
  time: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(Date.UTC(9999, 0)) }).map((d) => d.toISOString()),
  schema: fc.integer({ min: 1, max: 5 }),
  payload: fc.jsonValue({ maxDepth: 2 }),
  meta: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean())), { nil: undefined }),
});

/** One change to a valid envelope: a field set to an edge value, a field left out, or a key added. */
const tweak = fc.oneof(
  fc.record({ key: fc.constantFrom('id', 'user'), value: edgeString(200) }),
  fc.record({ key: fc.constant('type'), value: edgeString(100) }),
  fc.record({ key: fc.constantFrom('partition', 'schema'), value: edgeNumber }),
  fc.record({ key: fc.constant('time'), value: edgeTime }),
  fc.record({ key: fc.constant('meta'), value: edgeMeta }),
  fc.record({ key: fc.constantFrom('id', 'type', 'user', 'partition', 'time', 'schema', 'payload', 'meta'), value: fc.constant(undefined) }),
  fc.record({ key: fc.constantFrom('x', 'trace', 'payloadx', '__proto__'), value: fc.jsonValue({ maxDepth: 1 }) }),
);

const entries = fc.tuple(base, fc.array(tweak, { maxLength: 2 })).map(([envelope, tweaks]) => {
  const fields: Record<string, unknown> = { ...envelope };
  for (const { key, value } of tweaks) Object.defineProperty(fields, key, { value, enumerable: true, configurable: true, writable: true });
  return JSON.stringify(fields);
});

function outcome(decode: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: decode() };
  } catch {
    return { ok: false };
  }
}

describe('decodeEnvelope', () => {
  it('accepts and returns exactly what the zod schema does', () => {
    fc.assert(
      fc.property(entries, (raw) => {
        expect(outcome(() => decodeEnvelope(raw))).toEqual(outcome(() => envelopeSchema.parse(JSON.parse(raw))));
      }),
      { numRuns: 3_000 },
    );
  });
});
