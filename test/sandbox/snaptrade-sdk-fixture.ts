import pino from 'pino';
import { Snaptrade, SnaptradeAuth, SnaptradeError } from 'snaptrade-typescript-sdk';
import { afterEach, beforeEach, expect } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';
import { loadSnaptradeSpec, type SnaptradeSpec } from '../../sandbox/snaptrade/openapi-spec.ts';

/**
 * A started sandbox and the real SDK pointed at it, for the SnapTrade operation tests. Call
 * `useSnaptradeSandbox()` at the top of a test file; the returned object is filled before each test.
 */
export const CLIENT_ID = 'TEST-CLIENT';
export const CONSUMER_KEY = 'test-consumer-key-0123456789';

export function sdkClient(basePath: string) {
  return new Snaptrade({ auth: SnaptradeAuth.commercialApiKey({ clientId: CLIENT_ID, consumerKey: CONSUMER_KEY }), basePath });
}

export interface SnaptradeFixture {
  sandbox: Sandbox;
  snaptrade: ReturnType<typeof sdkClient>;
  spec: SnaptradeSpec;
  /** Register a user through the control API; its credentials as the SDK takes them. */
  user(userId: string): Promise<{ userId: string; userSecret: string }>;
  /** The response body conforms to the spec's schema for that operation and status. */
  expectConforms(operationId: string, data: unknown, status?: number): void;
}

export function useSnaptradeSandbox(): SnaptradeFixture {
  const fixture = {} as SnaptradeFixture;
  beforeEach(async () => {
    fixture.spec = await loadSnaptradeSpec();
    fixture.sandbox = await startSandbox({
      snaptradePort: 0,
      alpacaPort: 0,
      clientId: CLIENT_ID,
      consumerKey: CONSUMER_KEY,
      seed: 42,
      logger: pino({ level: 'silent' }),
    });
    fixture.snaptrade = sdkClient(fixture.sandbox.snaptradeUrl);
    fixture.user = async (userId) => {
      const { userSecret } = await fixture.sandbox.control.createUser({ userId, webhook: false });
      return { userId, userSecret };
    };
    fixture.expectConforms = (operationId, data, status = 200) => {
      expect(fixture.spec.validateResponse(operationId, status, data).errors, operationId).toEqual([]);
    };
  });
  afterEach(async () => {
    await fixture.sandbox.close();
  });
  return fixture;
}

/** The SDK call's error (SnaptradeError carries status and SnapTrade's body). */
export async function sdkError(call: Promise<unknown>): Promise<SnaptradeError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof SnaptradeError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
