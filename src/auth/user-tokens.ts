import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload } from 'jose';

/**
 * User tokens: JWTs whose `sub` is our user id. Verified with the HS256 `AUTH_SECRET`, or with the
 * identity provider's keys from `AUTH_JWKS_URL` (RS256/ES256...). jose does the cryptography and
 * the `exp`/`nbf` checks; we require `sub` and an expiry.
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

const ISSUER_AUDIENCE_FREE = { clockTolerance: 5 } as const;

export function createUserTokenVerifier(options: { secret?: string | undefined; jwksUrl?: string | undefined }): UserTokenVerifier {
  const key = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl))
    : options.secret
      ? new TextEncoder().encode(options.secret)
      : undefined;
  if (!key) throw new Error('AUTH_SECRET or AUTH_JWKS_URL is required to verify user tokens');
  const algorithms = options.jwksUrl ? undefined : ['HS256'];
  return {
    async verify(token) {
      try {
        const { payload } =
          typeof key === 'function'
            ? await jwtVerify(token, key, { ...ISSUER_AUDIENCE_FREE, algorithms })
            : await jwtVerify(token, key, { ...ISSUER_AUDIENCE_FREE, algorithms });
        if (!payload.sub) throw new InvalidTokenError('token has no subject');
        if (!payload.exp) throw new InvalidTokenError('token has no expiry');
        return { userId: payload.sub, payload };
      } catch (err) {
        if (err instanceof InvalidTokenError) throw err;
        throw new InvalidTokenError(err instanceof Error ? err.message : 'invalid token');
      }
    },
  };
}

/** Issues an HS256 user token (the demo and tests; production tokens come from your IdP). */
export async function issueUserToken(secret: string, userId: string, ttlSeconds = 3600): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}
