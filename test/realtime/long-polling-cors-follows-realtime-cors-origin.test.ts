import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

/**
 * `REALTIME_CORS_ORIGIN`: a socket.io long-polling handshake (engine.io open, the CONNECT with the
 * token, its answer) from an allowed Origin gets CORS headers naming that origin; one from any
 * other Origin gets none (the browser then refuses it). Unset, no origin gets them.
 */
const ALLOWED = ['https://app.example.test', 'https://admin.example.test'];
const OTHER = 'https://evil.example.test';
const USER = 'cors-user';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request (an `Origin` header as a browser sends it). */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The long-polling handshake from `origin`: every answer of it. */
async function pollingHandshake(engine: TestEngine, origin: string): Promise<{ open: Answer; connect: Answer; ack: Answer; preflight: Answer }> {
  const base = `${engine.url}/socket.io/?EIO=4&transport=polling`;
  const open = await send(base, 'GET', { origin });
  expect(open.status).toBe(200);
  const sid = (JSON.parse(open.body.slice(1)) as { sid: string }).sid;
  const preflight = await send(`${base}&sid=${sid}`, 'OPTIONS', {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'content-type',
  });
  const connect = await send(`${base}&sid=${sid}`, 'POST', { origin, 'content-type': 'text/plain;charset=UTF-8' }, `40${JSON.stringify({ token: await engine.token(USER) })}`);
  expect(connect).toMatchObject({ status: 200, body: 'ok' });
  const ack = await send(`${base}&sid=${sid}`, 'GET', { origin });
  // The namespace CONNECT answer: the token was accepted on this transport.
  expect(ack.status).toBe(200);
  expect(ack.body).toMatch(/^40\{"sid":"[^"]+"\}/);
  // The snapshot follows (in this answer or a later one); then the client closes the session.
  let received = ack.body;
  while (!received.includes('portfolio:snapshot')) received += (await send(`${base}&sid=${sid}`, 'GET', { origin })).body;
  expect(await send(`${base}&sid=${sid}`, 'POST', { origin, 'content-type': 'text/plain;charset=UTF-8' }, '1')).toMatchObject({ status: 200 });
  return { open, connect, ack, preflight };
}

describe('long-polling CORS with REALTIME_CORS_ORIGIN set', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ env: { ROLES: 'web', REALTIME_CORS_ORIGIN: ALLOWED.join(', ') } });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it.each(ALLOWED)('gives the allowed origin %s CORS headers on every answer of the handshake', async (origin) => {
    const { open, connect, ack, preflight } = await pollingHandshake(engine, origin);
    for (const answer of [open, connect, ack, preflight]) {
      expect(answer.headers['access-control-allow-origin']).toBe(origin);
      expect(String(answer.headers.vary)).toMatch(/Origin/i);
    }
    expect(preflight.status).toBe(204);
    expect(String(preflight.headers['access-control-allow-methods'])).toMatch(/POST/);
  });

  it('gives another origin no CORS header on any answer', async () => {
    const { open, connect, ack, preflight } = await pollingHandshake(engine, OTHER);
    for (const answer of [open, connect, ack, preflight]) {
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });
});

describe('long-polling CORS with REALTIME_CORS_ORIGIN unset', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ env: { ROLES: 'web' } });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('gives no origin CORS headers (same origin only)', async () => {
    for (const origin of [...ALLOWED, OTHER]) {
      const { open, connect, ack, preflight } = await pollingHandshake(engine, origin);
      for (const answer of [open, connect, ack, preflight]) expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    }
  });
});
