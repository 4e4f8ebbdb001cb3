import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { secretBoxFromConfig } from '../../src/crypto/secret-box.ts';

function problemsOf(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const oldHex = randomBytes(32).toString('hex');
const newHex = randomBytes(32).toString('hex');
const olderBase64 = randomBytes(32).toString('base64');

describe('encryption keys in the configuration', () => {
  it('reads the newest key with its version and previous keys as <version>:<key> in hex or base64', () => {
    const config = loadConfig({
      ENCRYPTION_KEY: newHex,
      ENCRYPTION_KEY_VERSION: '3',
      ENCRYPTION_KEYS_PREVIOUS: ` 2:${oldHex} , 1:${olderBase64}`,
    });
    expect(config.ENCRYPTION_KEY_VERSION).toBe(3);
    expect(config.ENCRYPTION_KEYS_PREVIOUS!.map((k) => [k.version, k.key.toString('hex')])).toEqual([
      [2, oldHex],
      [1, Buffer.from(olderBase64, 'base64').toString('hex')],
    ]);
    // Without rotation settings nothing changes: version 1, no previous keys.
    expect(loadConfig({}).ENCRYPTION_KEY_VERSION).toBe(1);
    expect(loadConfig({}).ENCRYPTION_KEYS_PREVIOUS).toBeUndefined();
  });

  it('builds the engine secret box that seals with the newest version and opens the previous ones', () => {
    const before = secretBoxFromConfig(loadConfig({ ENCRYPTION_KEY: oldHex }));
    const sealedBefore = before.encrypt('secret', 'snaptrade:alice');
    const after = secretBoxFromConfig(
      loadConfig({ ENCRYPTION_KEY: newHex, ENCRYPTION_KEY_VERSION: '2', ENCRYPTION_KEYS_PREVIOUS: `1:${oldHex}` }),
    );
    expect(sealedBefore).toMatch(/^v1\./);
    expect(after.decrypt(sealedBefore, 'snaptrade:alice')).toBe('secret');
    expect(after.encrypt('secret', 'snaptrade:alice')).toMatch(/^v2\./);
  });

  it('names ENCRYPTION_KEYS_PREVIOUS for an entry without a version, a bad version, a short key or a repeated version, never printing a key', () => {
    const shortKey = 'ab'.repeat(16);
    const cases: [string, RegExp][] = [
      [oldHex, /entry 1 must be <version>:<key>/],
      [`x:${oldHex}`, /entry 1: the version before ':' must be a whole number from 1 to 9999/],
      [`0:${oldHex}`, /entry 1: the version before ':' must be a whole number/],
      [`1:${oldHex},2:${shortKey}`, /entry 2 \(version 2\): the key must be 32 bytes/],
      [`1:${oldHex},1:${olderBase64}`, /entry 2: version 1 appears twice/],
      [`1:${oldHex},3:${oldHex}`, /entry 2 \(version 3\): the same key as version 1/],
      [' , ', /at least one <version>:<key>/],
    ];
    for (const [value, message] of cases) {
      const problems = problemsOf({ ENCRYPTION_KEY: newHex, ENCRYPTION_KEY_VERSION: '5', ENCRYPTION_KEYS_PREVIOUS: value });
      expect(problems.map((p) => p.variable)).toEqual(['ENCRYPTION_KEYS_PREVIOUS']);
      expect(problems[0]!.message).toMatch(message);
      for (const secret of [oldHex, shortKey, olderBase64, newHex]) expect(problems[0]!.message).not.toContain(secret);
    }
  });

  it('refuses a previous key under the newest key version, or the newest key itself, naming the fix', () => {
    const sameVersion = problemsOf({ ENCRYPTION_KEY: newHex, ENCRYPTION_KEYS_PREVIOUS: `1:${oldHex}` });
    expect(sameVersion).toEqual([
      { variable: 'ENCRYPTION_KEYS_PREVIOUS', message: expect.stringMatching(/version 1 is ENCRYPTION_KEY_VERSION.*ENCRYPTION_KEY_VERSION=2/) },
    ]);
    const sameKey = problemsOf({ ENCRYPTION_KEY: newHex, ENCRYPTION_KEY_VERSION: '2', ENCRYPTION_KEYS_PREVIOUS: `1:${newHex}` });
    expect(sameKey).toEqual([
      { variable: 'ENCRYPTION_KEYS_PREVIOUS', message: expect.stringMatching(/version 1 is the same key as ENCRYPTION_KEY/) },
    ]);
    expect(JSON.stringify(sameKey)).not.toContain(newHex);
  });

  it('names ENCRYPTION_KEY_VERSION when it is not a whole number from 1 to 9999', () => {
    for (const bad of ['0', '10000', '1.5', 'two', '-1']) {
      const problems = problemsOf({ ENCRYPTION_KEY_VERSION: bad });
      expect(problems.map((p) => p.variable)).toEqual(['ENCRYPTION_KEY_VERSION']);
      expect(problems[0]!.message).toContain('whole number from 1 to 9999');
    }
  });

  it('names ENCRYPTION_KEY for a key of the wrong length, without printing it, in production too', () => {
    const problems = problemsOf({ NODE_ENV: 'production', ENCRYPTION_KEY: 'short-secret-value' });
    const encryption = problems.find((p) => p.variable === 'ENCRYPTION_KEY')!;
    expect(encryption.message).toContain('32 bytes');
    expect(encryption.message).not.toContain('short-secret-value');
  });
});
