import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_TOLERANCE_SECONDS,
  createUserTokenVerifier,
  InvalidTokenError,
  issueUserToken,
  type UserTokenSettings,
} from '../../src/auth/user-tokens.ts';

/**
 * The user-token verifier, fuzzed: for random claims, headers and settings it accepts exactly the
 * tokens a model of the rules accepts; it never accepts a token that is not byte for byte one
 * that was signed; and nothing it is given makes it fail otherwise than with InvalidTokenError.
 */
const SECRET = 'user-token-fuzz-secret-0123456789-abcdefgh';
const ISSUER = 'https://id.example.com/';
const AUDIENCE = 'foliostream-api';
const DAY = 86_400;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT with any header and claims, HMAC-signed with `secret` (whatever `alg` says). */
function sign(header: Record<string, unknown>, claims: Record<string, unknown>, secret = SECRET, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

async function outcome(verify: () => Promise<{ userId: string }>): Promise<{ ok: true; userId: string } | { ok: false }> {
  try {
    return { ok: true, userId: (await verify()).userId };
  } catch (err) {
    // Whatever the input, a refusal is an InvalidTokenError (the middlewares map it to 401).
    expect(err).toBeInstanceOf(InvalidTokenError);
    return { ok: false };
  }
}

/** A claim that is mostly `likely`, sometimes one of `others`, sometimes absent (`undefined`). */
function claim<T>(likely: fc.Arbitrary<T>, ...others: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6 * Math.max(1, others.length), arbitrary: likely },
    ...others.map((arbitrary) => ({ weight: 2, arbitrary })),
    { weight: Math.max(1, others.length), arbitrary: fc.constant(undefined) },
  );
}
const junk = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }));

const settingsArb = fc.record({
  issuer: fc.option(fc.constant(ISSUER), { nil: undefined }),
  audience: fc.option(fc.constant(AUDIENCE), { nil: undefined }),
  maxLifetimeSeconds: fc.oneof(fc.constant(DAY), fc.constant(3600), fc.integer({ min: 60, max: 7 * DAY })),
});

const claimsArb = fc.record({
  sub: claim(fc.string({ minLength: 1, maxLength: 40 }), fc.constant(''), junk),
  iss: claim(fc.constant(ISSUER), fc.constant(`${ISSUER}other`), fc.constant('https://id.example.com'), junk),
  aud: claim(
    fc.constantFrom(AUDIENCE, [AUDIENCE], ['another-api', AUDIENCE]),
    fc.constant(['another-api']),
    fc.constant(`${AUDIENCE}-admin`),
    junk,
  ),
  /** Seconds from now: mostly the last hour, sometimes days back or ahead. */
  iat: claim(fc.integer({ min: -3600, max: 0 }), fc.integer({ min: -8 * DAY, max: -3600 }), fc.integer({ min: 1, max: DAY }), junk),
  /** Seconds after `iat` (or after now when there is no numeric iat): mostly minutes to a day. */
  lifetime: claim(fc.integer({ min: 60, max: DAY }), fc.integer({ min: -3600, max: 60 }), fc.integer({ min: DAY, max: 8 * DAY }), junk),
});

const headerArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ alg: 'HS256', hash: 'sha256' }) },
  { weight: 1, arbitrary: fc.constant({ alg: 'HS512', hash: 'sha512' }) },
  { weight: 1, arbitrary: fc.constant({ alg: 'HS384', hash: 'sha384' }) },
);

interface Generated {
  settings: { issuer: string | undefined; audience: string | undefined; maxLifetimeSeconds: number };
  claims: Record<string, unknown>;
  header: { alg: string; hash: string };
}

/** The rules, written out: what the verifier must accept at `now` (seconds). */
function shouldAccept({ settings, claims, header }: Generated, now: number): boolean {
  const { sub, iss, aud, iat, exp } = claims;
  if (header.alg !== 'HS256') return false;
  if (typeof sub !== 'string' || sub === '') return false;
  if (settings.issuer !== undefined && iss !== settings.issuer) return false;
  if (settings.audience !== undefined) {
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.includes(settings.audience)) return false;
  }
  if (typeof iat !== 'number' || typeof exp !== 'number') return false;
  if (exp <= now - CLOCK_TOLERANCE_SECONDS) return false; // expired
  if (iat > now + CLOCK_TOLERANCE_SECONDS) return false; // issued in the future
  if (exp - iat > settings.maxLifetimeSeconds) return false; // meant to live too long
  if (now - iat - CLOCK_TOLERANCE_SECONDS > settings.maxLifetimeSeconds) return false;
  return true;
}

/** Far enough (in seconds) from every time boundary that the seconds a run takes cannot matter. */
function clearOfBoundaries({ settings, claims }: Generated, now: number): boolean {
  const margin = 30;
  const near = (a: number, b: number) => Math.abs(a - b) < margin;
  const { iat, exp } = claims;
  if (typeof exp === 'number' && near(exp, now - CLOCK_TOLERANCE_SECONDS)) return false;
  if (typeof iat === 'number') {
    if (near(iat, now + CLOCK_TOLERANCE_SECONDS)) return false;
    if (near(now - iat - CLOCK_TOLERANCE_SECONDS, settings.maxLifetimeSeconds)) return false;
  }
  return true;
}

const generatedArb = fc.record({ settings: settingsArb, claims: claimsArb, header: headerArb }).map(({ settings, claims, header }): Generated => {
  const now = Math.floor(Date.now() / 1000);
  const out: Record<string, unknown> = {};
  if (claims.sub !== undefined) out.sub = claims.sub;
  if (claims.iss !== undefined) out.iss = claims.iss;
  if (claims.aud !== undefined) out.aud = claims.aud;
  const iat = typeof claims.iat === 'number' ? now + claims.iat : claims.iat;
  if (iat !== undefined) out.iat = iat;
  if (claims.lifetime !== undefined) {
    out.exp = typeof claims.lifetime === 'number' ? (typeof iat === 'number' ? iat : now) + claims.lifetime : claims.lifetime;
  }
  return { settings, claims: out, header };
});

describe('the user token verifier (fuzzed)', () => {
  it('accepts exactly the tokens whose signature, sub, iss, aud, exp, iat and lifetime the settings allow', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(generatedArb, async (generated) => {
        const now = Math.floor(Date.now() / 1000);
        fc.pre(clearOfBoundaries(generated, now));
        const { settings, claims, header } = generated;
        const verifier = createUserTokenVerifier({ secret: SECRET, ...settings });
        const token = sign({ alg: header.alg, typ: 'JWT' }, claims, SECRET, header.hash);
        const result = await outcome(() => verifier.verify(token));
        const expected = shouldAccept(generated, now);
        expect(result.ok, JSON.stringify(generated)).toBe(expected);
        if (result.ok) {
          accepted++;
          expect(result.userId).toBe(claims.sub);
        }
      }),
      { numRuns: 2_000 },
    );
    // The generator reaches both sides of the rules.
    expect(accepted).toBeGreaterThan(20);
  });

  it('never accepts a token signed with another key, unsigned, or changed by a single character', async () => {
    const verifier = createUserTokenVerifier({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, maxLifetimeSeconds: DAY });
    const genuine = await issueUserToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE }, 'fuzz-user', 600);
    expect((await verifier.verify(genuine)).userId).toBe('fuzz-user');
    const segments = genuine.split('.');
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: genuine.length - 1 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ '),
        async (at, char) => {
          const mutated = genuine.slice(0, at) + char + genuine.slice(at + 1);
          fc.pre(mutated !== genuine);
          // base64url's last character carries spare bits: a change there that decodes to the same
          // signature bytes is the same token.
          const parts = mutated.split('.');
          fc.pre(
            !(parts.length === 3 && parts[0] === segments[0] && parts[1] === segments[1] &&
              Buffer.from(parts[2]!, 'base64url').equals(Buffer.from(segments[2]!, 'base64url'))),
          );
          expect((await outcome(() => verifier.verify(mutated))).ok, mutated).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'fuzz-user', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 };
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 64 }), async (otherSecret) => {
        fc.pre(otherSecret !== SECRET);
        expect((await outcome(() => verifier.verify(sign({ alg: 'HS256' }, claims, otherSecret)))).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
    expect((await outcome(() => verifier.verify(`${b64({ alg: 'none' })}.${b64(claims)}.`))).ok).toBe(false);
  });

  it('refuses any string that is not a token with InvalidTokenError, never another error', async () => {
    const verifier = createUserTokenVerifier({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE });
    const segment = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.base64String({ maxLength: 60 }),
      fc.json().map((j) => Buffer.from(j).toString('base64url')),
      fc.object().map((o) => Buffer.from(JSON.stringify(o)).toString('base64url')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 200 }), fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('.'))),
        async (input) => {
          expect((await outcome(() => verifier.verify(input))).ok).toBe(false);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('tokens foliostream issues itself', () => {
  const settings: UserTokenSettings = { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, maxLifetimeSeconds: 3600 };

  it('carry the configured iss and aud, so the configured verifier accepts them', async () => {
    const token = await issueUserToken(settings, 'issued-user', 3600);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: 'issued-user', iss: ISSUER, aud: AUDIENCE });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect((await createUserTokenVerifier(settings).verify(token)).userId).toBe('issued-user');
  });

  it('are refused when made without the issuer and audience the verifier requires', async () => {
    const bare = await issueUserToken(SECRET, 'issued-user', 600);
    await expect(createUserTokenVerifier(settings).verify(bare)).rejects.toThrow(InvalidTokenError);
  });

  it('cannot be made to live longer than the verifier accepts', async () => {
    await expect(issueUserToken(settings, 'issued-user', 3601)).rejects.toThrow(/AUTH_MAX_TOKEN_LIFETIME_SECONDS/);
  });
});
