import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM encryption for secrets we must store (SnapTrade user secrets, Alpaca keys).
 *
 * Format: `v<key version>.<iv>.<tag>.<ciphertext>`, each part base64url. The prefix names the key
 * that sealed the value, so several keys can be configured at once during a rotation
 * (`ENCRYPTION_KEY` with `ENCRYPTION_KEY_VERSION`, the newest, seals; `ENCRYPTION_KEYS_PREVIOUS`
 * only open). Values sealed before keys had versions start with `v1.`: they were sealed by the
 * single key of that time, which is key version 1. `context` (e.g. the user id) is bound as
 * additional authenticated data, so a ciphertext copied onto another row fails to decrypt.
 */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
export const MAX_KEY_VERSION = 9999;
const PREFIX = /^v([1-9][0-9]{0,3})\./;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

/** One encryption key and the version written in front of every value it seals. */
export interface SecretKey {
  version: number;
  key: Buffer;
}

function versionOf(sealed: string): number | undefined {
  const match = PREFIX.exec(sealed);
  return match ? Number(match[1]) : undefined;
}

export interface SecretBox {
  /** The version of the key `encrypt` seals with (the newest). */
  readonly currentVersion: number;
  encrypt(plaintext: string, context?: string): string;
  decrypt(sealed: string, context?: string): string;
  /** The key version a sealed value names, or undefined when it is not a sealed value. */
  versionOf(sealed: string): number | undefined;
}

/** The configuration a secret box is built from (see `src/config/variables.ts`). */
export interface EncryptionKeyConfig {
  ENCRYPTION_KEY: Buffer;
  ENCRYPTION_KEY_VERSION: number;
  ENCRYPTION_KEYS_PREVIOUS?: SecretKey[] | undefined;
}

export function secretBoxFromConfig(config: EncryptionKeyConfig): SecretBox {
  return createSecretBox(
    { version: config.ENCRYPTION_KEY_VERSION, key: config.ENCRYPTION_KEY },
    config.ENCRYPTION_KEYS_PREVIOUS ?? [],
  );
}

/**
 * A box that seals with `current` and opens values sealed by `current` or any of `previous`.
 * A bare key is key version 1 (what every value sealed before key versions existed names).
 */
export function createSecretBox(current: Buffer | SecretKey, previous: readonly SecretKey[] = []): SecretBox {
  const newest: SecretKey = Buffer.isBuffer(current) ? { version: 1, key: current } : current;
  const keys = new Map<number, Buffer>();
  for (const { version, key } of [newest, ...previous]) {
    if (!Number.isInteger(version) || version < 1 || version > MAX_KEY_VERSION) {
      throw new Error(`encryption key version ${version} must be an integer from 1 to ${MAX_KEY_VERSION}`);
    }
    if (key.length !== KEY_BYTES) throw new Error(`encryption key version ${version} must be ${KEY_BYTES} bytes`);
    if (keys.has(version)) throw new Error(`encryption key version ${version} is configured twice`);
    keys.set(version, key);
  }
  const prefix = `v${newest.version}`;

  return {
    currentVersion: newest.version,
    encrypt(plaintext, context = '') {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', newest.key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [prefix, ...[iv, tag, ciphertext].map((part) => part.toString('base64url'))].join('.');
    },
    decrypt(sealed, context = '') {
      const version = versionOf(sealed);
      if (version === undefined) throw new DecryptionError('not a sealed secret of a known version');
      const key = keys.get(version);
      if (!key) {
        throw new DecryptionError(
          `sealed with encryption key version ${version}, which is not configured ` +
            `(ENCRYPTION_KEY is version ${newest.version}; add that key to ENCRYPTION_KEYS_PREVIOUS as ${version}:<key>)`,
        );
      }
      const parts = sealed.split('.');
      if (parts.length !== 4 || !parts.every((part, i) => i === 0 || BASE64URL.test(part))) {
        throw new DecryptionError('sealed secret is malformed');
      }
      const [, ivText, tagText, bodyText] = parts as [string, string, string, string];
      const iv = Buffer.from(ivText, 'base64url');
      const tag = Buffer.from(tagText, 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
        throw new DecryptionError('sealed secret is malformed');
      }
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([
          decipher.update(Buffer.from(bodyText, 'base64url')),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw new DecryptionError(
          `sealed secret failed authentication under key version ${version} (tampered, moved to another row, or the wrong key)`,
        );
      }
    },
    versionOf,
  };
}
