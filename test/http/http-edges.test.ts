import { connect } from 'node:net';
import express, { Router } from 'express';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createUserTokenVerifier } from '../../src/auth/user-tokens.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startHttpServer, type HttpServer } from '../../src/http/server.ts';
import { attachRealtimeGateway, type RealtimeGateway } from '../../src/realtime/gateway.ts';
import { createContext, type AppContext } from '../../src/runtime/context.ts';
import { createWebhookHandler } from '../../src/webhooks/webhook-router.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { startWebhookServer, WEBHOOK_PATH, type WebhookServer } from '../webhooks/webhook-harness.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * The edges of the web role's HTTP server: wrong methods on the webhook route, URLs over Node's
 * header limit, bytes that are not HTTP, bodies that are not JSON, and the security headers of
 * the answers that do not come from Express (the webhook fast route, socket.io long-polling).
 * Every error is JSON `{error: {code, message}}`.
 */
const HELMET_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

let redis: TestRedis;
let ctx: AppContext;
let http: HttpServer;
let gateway: RealtimeGateway;
let expressHeaders: Record<string, string | null>;
let echoed: unknown[] = [];

beforeAll(async () => {
  redis = await createTestRedis();
  ctx = createContext({
    config: loadConfig({ NODE_ENV: 'test' }),
    redisTarget: singleRedis(redis.url),
    databaseUrl: inject('databaseUrl'), // knex connects lazily; nothing here queries
    namespace: redis.prefix.replace(/:$/, ''),
    log: pino({ level: 'silent' }),
  });
  // A JSON route as the feature routers write them: express.json(), then the body as parsed.
  const echo = Router();
  echo.use(express.json());
  echo.post('/echo', (req, res) => {
    echoed.push(req.body);
    res.json({ received: req.body ?? null });
  });
  http = await startHttpServer(ctx, [{ path: '/api', router: echo }], {
    port: 0,
    host: '127.0.0.1',
    fastRoutes: [{ method: 'POST', path: WEBHOOK_PATH, handler: createWebhookHandler(ctx) }],
  });
  gateway = await attachRealtimeGateway(http.server, {
    verifier: createUserTokenVerifier({ secret: 'http-edges-secret-0123456789-abcdefghijk' }),
    redisTarget: singleRedis(redis.url),
    snapshot: () => Promise.reject(new Error('not used')),
    log: pino({ level: 'silent' }),
    metrics: new Registry(),
    namespace: ctx.keys.namespace,
  });
  expressHeaders = pick((await fetch(`${http.url}/healthz`)).headers);
  expect(Object.values(expressHeaders).every((v) => v !== null)).toBe(true);
});

afterAll(async () => {
  await gateway?.close();
  await http?.close();
  await ctx?.close();
  await redis?.cleanup();
});

function pick(headers: Headers): Record<string, string | null> {
  return Object.fromEntries(HELMET_HEADERS.map((name) => [name, headers.get(name)]));
}

/** Writes raw bytes and reads the whole answer until the server closes. */
function raw(bytes: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const url = new URL(http.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
  });
}

describe('methods on the webhook route', () => {
  it.each(['GET', 'PUT', 'DELETE', 'PATCH'])('%s on the webhook fast route answers 405 with Allow: POST and a JSON error', async (method) => {
    const response = await fetch(`${http.url}${WEBHOOK_PATH}`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: { code: 'FS_METHOD_NOT_ALLOWED', message: expect.stringContaining('POST') } });
    expect(pick(response.headers)).toEqual(expressHeaders);
  });

  it('the webhook router mounted in Express answers 405 with Allow: POST as well', async () => {
    const webhookRedis = await createTestRedis();
    let server: WebhookServer | undefined;
    try {
      server = await startWebhookServer({ namespace: webhookRedis.prefix });
      for (const method of ['GET', 'PUT']) {
        const response = await fetch(`${server.url}${WEBHOOK_PATH}`, { method });
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('POST');
        expect(await response.json()).toMatchObject({ error: { code: 'FS_METHOD_NOT_ALLOWED' } });
      }
    } finally {
      await server?.close();
      await webhookRedis.cleanup();
    }
  });
});

describe('requests Node refuses before any route', () => {
  it('a 20 KB URL gets 431 FS_HEADERS_TOO_LARGE with a JSON body and the security headers', async () => {
    const response = await fetch(`${http.url}/api/portfolio?pad=${'x'.repeat(20 * 1024)}`);
    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: { code: 'FS_HEADERS_TOO_LARGE', message: expect.any(String) } });
    expect(pick(response.headers)).toEqual(expressHeaders);
  });

  it('bytes that are not HTTP get 400 FS_MALFORMED_REQUEST with a JSON body', async () => {
    const answer = await raw('HELLO THERE\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 'FS_MALFORMED_REQUEST', message: expect.any(String) } });
  });
});

describe('bodies that are not JSON', () => {
  it.each([
    ['text/plain', 'text/plain', '{"broker":"ALPACA"}'],
    ['no content type', null, '{"broker":"ALPACA"}'],
    ['form data', 'application/x-www-form-urlencoded', 'broker=ALPACA'],
    ['JSON in latin1', 'application/json; charset=latin1', '{"broker":"ALPACA"}'],
  ])('a %s body to a JSON route is 415 FS_UNSUPPORTED_MEDIA_TYPE, not read as {}', async (_name, contentType, body) => {
    echoed = [];
    const response = await fetch(`${http.url}/api/echo`, {
      method: 'POST',
      headers: contentType ? { 'content-type': contentType } : {},
      body: contentType === null ? new Blob([body]) : body,
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ error: { code: 'FS_UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) } });
    expect(echoed).toEqual([]);
  });

  it('a JSON body, and a POST without a body, still reach the route', async () => {
    const json = await fetch(`${http.url}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await json.json()).toEqual({ received: { a: 1 } });
    const empty = await fetch(`${http.url}/api/echo`, { method: 'POST' });
    expect(empty.status).toBe(200);
  });
});

describe('security headers outside Express', () => {
  it("the webhook fast route's answers carry the headers helmet sets on Express routes", async () => {
    const response = await fetch(`${http.url}${WEBHOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
    expect(pick(response.headers)).toEqual(expressHeaders);
  });

  it("socket.io long-polling answers carry the headers helmet sets on Express routes", async () => {
    const handshake = await fetch(`${http.url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(pick(handshake.headers)).toEqual(expressHeaders);
    const unknownSession = await fetch(`${http.url}/socket.io/?EIO=4&transport=polling&sid=nope`);
    expect(unknownSession.status).toBe(400);
    expect(pick(unknownSession.headers)).toEqual(expressHeaders);
  });
});
