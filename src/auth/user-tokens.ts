import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload } from 'jose';

/**
 * User tokens: JWTs whose `sub` is our user id. Verified with the HS256 `AUTH_SECRET`, or with the
 * identity provider's keys from `AUTH_JWKS_URL` (RS256/ES256...). jose does the cryptography and
 * the `exp`/`nbf`/`iss`/`aud` checks; we require `sub`, `exp` and `iat`, and refuse a token meant
 * to live longer than `maxLifetimeSeconds` (`exp - iat`), so a leaked long-lived token is not
 * accepted even when the identity provider (or a misconfigured issuer) minted one.
 */
export interface UserTokenVerifier {
  verify(token: string): Promise<{ userId: string; payload: JWTPayload }>;
}

export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

/** What a deployment says about its user tokens (from `AUTH_*`; see `userTokenSettings`). */
export interface UserTokenSettings {
  /** HS256 key (`AUTH_SECRET`). */
  secret?: string | undefined;
  /** The identity provider's JWKS (`AUTH_JWKS_URL`); takes precedence over `secret` for verifying. */
  jwksUrl?: string | undefined;
  /** `iss` a token must carry exactly (`AUTH_ISSUER`). Unset: not checked. */
  issuer?: string | undefined;
  /** Value `aud` must be or include (`AUTH_AUDIENCE`). Unset: not checked. */
  audience?: string | undefined;
  /** Longest `exp - iat` accepted (`AUTH_MAX_TOKEN_LIFETIME_SECONDS`). @default 86400 */
  maxLifetimeSeconds?: number | undefined;
}

export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;
/** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** The token settings of a configuration. */
export function userTokenSettings(config: {
  AUTH_SECRET?: string | undefined;
  AUTH_JWKS_URL?: string | undefined;
  AUTH_ISSUER?: string | undefined;
  AUTH_AUDIENCE?: string | undefined;
  AUTH_MAX_TOKEN_LIFETIME_SECONDS?: number | undefined;
}): UserTokenSettings {
  return {
    secret: config.AUTH_SECRET,
    jwksUrl: config.AUTH_JWKS_URL,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    maxLifetimeSeconds: config.AUTH_MAX_TOKEN_LIFETIME_SECONDS,
  };
}

export function createUserTokenVerifier(options: UserTokenSettings): UserTokenVerifier {
  const key = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl))
    : options.secret
      ? new TextEncoder().encode(options.secret)
      : undefined;
  if (!key) throw new Error('AUTH_SECRET or AUTH_JWKS_URL is required to verify user tokens');
  const maxLifetime = options.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!(maxLifetime > 0)) throw new RangeError('the maximum token lifetime must be positive');
  const verifyOptions = {
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    ...(options.jwksUrl ? {} : { algorithms: ['HS256'] }),
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    // `iat` must be present, a number and not in the future; with `exp - iat` bounded below this
    // bounds how long any accepted token stays valid.
    maxTokenAge: maxLifetime,
    requiredClaims: ['sub', 'exp', 'iat'],
  };
  return {
    async verify(token) {
      try {
        const { payload } =
          typeof key === 'function' ? await jwtVerify(token, key, verifyOptions) : await jwtVerify(token, key, verifyOptions);
        if (typeof payload.sub !== 'string' || payload.sub === '') throw new InvalidTokenError('token has no subject');
        if (typeof payload.exp !== 'number') throw new InvalidTokenError('token has no expiry');
        if (typeof payload.iat !== 'number') throw new InvalidTokenError('token has no issued-at time');
        if (payload.exp - payload.iat > maxLifetime) {
          throw new InvalidTokenError(`token lifetime exceeds ${maxLifetime} seconds`);
        }
        return { userId: payload.sub, payload };
      } catch (err) {
        if (err instanceof InvalidTokenError) throw err;
        throw new InvalidTokenError(err instanceof Error ? err.message : 'invalid token');
      }
    },
  };
}

/**
 * Issues an HS256 user token (the demo and tests; production tokens come from your IdP). Given the
 * settings of a configuration (`userTokenSettings(config)`), it carries the configured `iss` and
 * `aud`, so the engine's own verifier accepts it; a bare string is the secret alone.
 */
export async function issueUserToken(
  settings: string | UserTokenSettings,
  userId: string,
  ttlSeconds = 3600,
): Promise<string> {
  const { secret, issuer, audience, maxLifetimeSeconds }: UserTokenSettings =
    typeof settings === 'string' ? { secret: settings } : settings;
  if (!secret) throw new Error('AUTH_SECRET is required to issue user tokens');
  const maxLifetime = maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (ttlSeconds > maxLifetime) {
    throw new RangeError(`a token of ${ttlSeconds} s would be refused: AUTH_MAX_TOKEN_LIFETIME_SECONDS is ${maxLifetime}`);
  }
  // One clock reading for both, so `exp - iat` is exactly the ttl.
  const issuedAt = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds);
  if (issuer !== undefined) jwt = jwt.setIssuer(issuer);
  if (audience !== undefined) jwt = jwt.setAudience(audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
