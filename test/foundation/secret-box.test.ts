import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, DecryptionError } from '../../src/crypto/secret-box.ts';

describe('secret box (AES-256-GCM)', () => {
  const box = createSecretBox(randomBytes(32));

  it('round-trips a secret and never stores it in clear', () => {
    const sealed = box.encrypt('user-secret-123', 'user-1');
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('user-secret-123');
    expect(box.decrypt(sealed, 'user-1')).toBe('user-secret-123');
  });

  it('uses a fresh IV so the same secret seals differently each time', () => {
    expect(box.encrypt('same', 'u')).not.toBe(box.encrypt('same', 'u'));
  });

  it('rejects a tampered ciphertext', () => {
    const sealed = box.encrypt('user-secret-123', 'user-1');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 0x01;
    parts[3] = body.toString('base64url');
    expect(() => box.decrypt(parts.join('.'), 'user-1')).toThrow(DecryptionError);
  });

  it('rejects a ciphertext moved to another user (bound context)', () => {
    const sealed = box.encrypt('user-secret-123', 'user-1');
    expect(() => box.decrypt(sealed, 'user-2')).toThrow(DecryptionError);
  });

  it('rejects a ciphertext sealed under another key', () => {
    const other = createSecretBox(randomBytes(32));
    expect(() => other.decrypt(box.encrypt('x', 'u'), 'u')).toThrow(DecryptionError);
  });

  it('rejects malformed input with a clear error', () => {
    expect(() => box.decrypt('plaintext', 'u')).toThrow(/known version/);
    expect(() => box.decrypt('v1.a.b.c', 'u')).toThrow(/malformed/);
  });
});
