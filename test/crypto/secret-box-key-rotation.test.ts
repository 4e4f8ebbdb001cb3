import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, DecryptionError } from '../../src/crypto/secret-box.ts';

/**
 * Sealed by the secret box as it was before key versions existed (one key, `v1.` prefix), with
 * the key `Buffer.alloc(32, 7)` and the context `snaptrade:alice`: a value already in production
 * databases, which must keep opening.
 */
const LEGACY_KEY = Buffer.alloc(32, 7);
const LEGACY_SEALED = 'v1.7XPCtg_MM_RioikU.rttGBQ2DFRe-9yQSlsVR3g.AJ1wKNS5KRLa3Q8-fmaVwzOq';

function flip(sealed: string, part: 1 | 2 | 3): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[0] = bytes[0]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('secret box key rotation', () => {
  const oldKey = { version: 1, key: LEGACY_KEY };
  const newKey = { version: 2, key: randomBytes(32) };
  const rotating = createSecretBox(newKey, [oldKey]);

  it('seals new secrets with the newest key and names its version', () => {
    const sealed = rotating.encrypt('user-secret-123', 'snaptrade:bob');
    expect(sealed).toMatch(/^v2\./);
    expect(rotating.versionOf(sealed)).toBe(2);
    expect(rotating.currentVersion).toBe(2);
    // The newest key alone opens it; the old key alone does not know version 2.
    expect(createSecretBox(newKey).decrypt(sealed, 'snaptrade:bob')).toBe('user-secret-123');
    expect(() => createSecretBox(oldKey).decrypt(sealed, 'snaptrade:bob')).toThrow(DecryptionError);
  });

  it('opens values sealed before key versions existed (v1 under the single key)', () => {
    expect(rotating.versionOf(LEGACY_SEALED)).toBe(1);
    expect(rotating.decrypt(LEGACY_SEALED, 'snaptrade:alice')).toBe('legacy-user-secret');
    // A bare key is still key version 1, so a deployment that never rotated is unchanged.
    expect(createSecretBox(LEGACY_KEY).decrypt(LEGACY_SEALED, 'snaptrade:alice')).toBe('legacy-user-secret');
    expect(createSecretBox(LEGACY_KEY).encrypt('x', 'u')).toMatch(/^v1\./);
  });

  it('refuses a value sealed under an unknown key version with an error naming the version and where to configure it', () => {
    const sealedUnder3 = createSecretBox({ version: 3, key: randomBytes(32) }).encrypt('s', 'u');
    expect(() => rotating.decrypt(sealedUnder3, 'u')).toThrow(DecryptionError);
    expect(() => rotating.decrypt(sealedUnder3, 'u')).toThrow(
      /key version 3, which is not configured.*ENCRYPTION_KEY is version 2.*ENCRYPTION_KEYS_PREVIOUS as 3:<key>/,
    );
    // Once the old key is removed, old values are refused the same way, never opened with another key.
    expect(() => createSecretBox(newKey).decrypt(LEGACY_SEALED, 'snaptrade:alice')).toThrow(/key version 1, which is not configured/);
  });

  it('refuses tampering with the body, tag or IV under the newest and under a previous key', () => {
    const fresh = rotating.encrypt('user-secret-123', 'u');
    for (const sealed of [fresh, LEGACY_SEALED]) {
      const context = sealed === fresh ? 'u' : 'snaptrade:alice';
      for (const part of [1, 2, 3] as const) {
        expect(() => rotating.decrypt(flip(sealed, part), context)).toThrow(DecryptionError);
      }
    }
    // Rewriting the version picks another key, which fails authentication.
    expect(() => rotating.decrypt(fresh.replace(/^v2\./, 'v1.'), 'u')).toThrow(/failed authentication under key version 1/);
    expect(() => rotating.decrypt(LEGACY_SEALED.replace(/^v1\./, 'v2.'), 'snaptrade:alice')).toThrow(
      /failed authentication under key version 2/,
    );
  });

  it('refuses a value moved to another owner under a previous key', () => {
    expect(() => rotating.decrypt(LEGACY_SEALED, 'snaptrade:mallory')).toThrow(DecryptionError);
  });

  it('refuses malformed values with a clear error', () => {
    expect(() => rotating.decrypt('plaintext', 'u')).toThrow(/known version/);
    expect(() => rotating.decrypt('v0.a.b.c', 'u')).toThrow(/known version/);
    expect(() => rotating.decrypt('v2.a.b.c', 'u')).toThrow(/malformed/);
    expect(() => rotating.decrypt('v2.a.b', 'u')).toThrow(/malformed/);
    expect(() => rotating.decrypt(`${rotating.encrypt('s', 'u')}.extra`, 'u')).toThrow(/malformed/);
  });

  it('refuses to be built with two keys of one version or a key of the wrong length', () => {
    expect(() => createSecretBox(newKey, [{ version: 2, key: randomBytes(32) }])).toThrow(/version 2 is configured twice/);
    expect(() => createSecretBox({ version: 3, key: randomBytes(16) })).toThrow(/version 3 must be 32 bytes/);
    expect(() => createSecretBox({ version: 0, key: randomBytes(32) })).toThrow(/from 1 to 9999/);
  });
});
