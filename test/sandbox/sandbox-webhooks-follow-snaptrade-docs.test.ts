import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Snaptrade, SnaptradeAuth } from 'snaptrade-typescript-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/sandbox.ts';

/**
 * The sandbox's webhooks are what SnapTrade's documentation tells receivers to expect: signed
 * over `json.dumps(payload, separators=(",", ":"), sort_keys=True)` (Python, which escapes
 * non-ASCII), checked here by that very recipe run in Python; and a failed portal login reports a
 * documented `connectionAttemptedResult`.
 */
const CLIENT_ID = 'DOCS-CLIENT';
const CONSUMER_KEY = 'docs-consumer-key-0123456789';

/** SnapTrade's documented verifier, verbatim in substance: prints True or False. */
const PYTHON_VERIFIER = `
import base64, hashlib, hmac, json, sys
body, signature, key = sys.stdin.read(), sys.argv[1], sys.argv[2]
payload = json.loads(body)
sig_content = json.dumps(payload, separators=(",", ":"), sort_keys=True)
digest = hmac.new(key.encode(), sig_content.encode(), hashlib.sha256).digest()
print(hmac.compare_digest(base64.b64encode(digest).decode(), signature))
`;

async function pythonVerifies(body: string, signature: string): Promise<boolean> {
  const child = execFile('python3', ['-c', PYTHON_VERIFIER, signature, CONSUMER_KEY]);
  child.stdin!.end(body);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`python3 exited ${code}`);
  return out.trim() === 'True';
}

interface Received {
  raw: string;
  signature: string;
  body: Record<string, unknown>;
}

let sandbox: Sandbox;
let receiver: Server;
const received: Received[] = [];

beforeEach(async () => {
  received.length = 0;
  receiver = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      received.push({ raw, signature: String(req.headers.signature), body: JSON.parse(raw) as Record<string, unknown> });
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  sandbox = await startSandbox({
    snaptradePort: 0,
    alpacaPort: 0,
    clientId: CLIENT_ID,
    consumerKey: CONSUMER_KEY,
    webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    logger: pino({ level: 'silent' }),
  });
});

afterEach(async () => {
  await sandbox.close();
  await new Promise((resolve) => receiver.close(resolve));
});

function sdk() {
  return new Snaptrade({ auth: SnaptradeAuth.commercialApiKey({ clientId: CLIENT_ID, consumerKey: CONSUMER_KEY }), basePath: sandbox.snaptradeUrl });
}

async function hook(eventType: string): Promise<Received> {
  await sandbox.control.waitForWebhooks((d) => d.some((x) => x.eventType === eventType && x.state === 'delivered'), { eventType });
  return received.find((r) => r.body.eventType === eventType)!;
}

describe('sandbox webhooks, as SnapTrade documents them', () => {
  it("verify with SnapTrade's Python recipe when the payload holds non-ASCII text (user Zoë)", async () => {
    await sdk().authentication.registerSnapTradeUser({ userId: 'Zoë-日本-🚀' });
    const registered = await hook('USER_REGISTERED');
    expect(registered.body.userId).toBe('Zoë-日本-🚀');
    expect(await pythonVerifies(registered.raw, registered.signature)).toBe(true);
    // And the recipe is a real check: a changed payload fails it.
    expect(await pythonVerifies(registered.raw.replace('Zoë', 'Zoe'), registered.signature)).toBe(false);
  });

  it('report a wrong password in the portal as CONNECTION_ATTEMPTED INVALID_CREDENTIALS, then CONNECTION_FAILED', async () => {
    const client = sdk();
    const { data: user } = await client.authentication.registerSnapTradeUser({ userId: 'portal-user' });
    const { data: login } = await client.authentication.loginSnapTradeUser({ userId: 'portal-user', userSecret: user.userSecret! });
    const token = new URL((login as { redirectURI: string }).redirectURI).searchParams.get('token')!;
    for (const outcome of ['INVALID_CREDENTIALS', 'INVALID_MFA_CODE']) {
      const page = await fetch(`${sandbox.snaptradeUrl}/snapTrade/redeemToken`, {
        method: 'POST',
        body: new URLSearchParams({ token, brokerage: 'QUESTRADE', outcome }),
      });
      expect(await page.text()).toContain('data-status="FAILED"');
    }
    await sandbox.control.waitForWebhooks((d) => d.length === 2, { eventType: 'CONNECTION_FAILED' });
    const attempts = (await sandbox.control.webhooks({ eventType: 'CONNECTION_ATTEMPTED' })).map((d) => d.payload.connectionAttemptedResult);
    expect(attempts).toEqual(['INVALID_CREDENTIALS', 'INVALID_MFA_CODE']);
    const documented = ['SUCCESS', 'AUTH_EXPIRED', 'INVALID_AUTH_CODE', 'AUTH_NOT_IN_PROGRESS', 'DIFFERENT_ACCOUNT', 'UNCAUGHT_ERROR', 'INVALID_CREDENTIALS', 'INVALID_MFA_CODE', 'NO_DATA'];
    for (const result of attempts) expect(documented).toContain(result);
    const hooks = received.filter((r) => r.body.eventType === 'CONNECTION_ATTEMPTED');
    for (const h of hooks) expect(await pythonVerifies(h.raw, h.signature)).toBe(true);
  });
});
