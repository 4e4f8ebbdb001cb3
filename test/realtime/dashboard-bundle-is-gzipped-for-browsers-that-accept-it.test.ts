import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardRouter } from '../../src/realtime/dashboard/dashboard-router.ts';

/**
 * `GET /dashboard.js` sends the bundle gzipped (built once, in memory) to a client that accepts
 * gzip, as it is to one that does not, with `Vary: Accept-Encoding` and an ETag per form that a
 * revalidation answers with 304. The chart library is not in it but in the chunk it names for the
 * value chart (`GET /chunks/:file`, served the same way); a name it does not give is not served.
 */
let server: Server;
let port: number;

/** The raw answer: bytes as sent (no decoding) and headers. */
function get(headers: Record<string, string>, path = '/dashboard.js'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const app = express();
  app.use(dashboardRouter());
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('the dashboard bundle on the wire', () => {
  it('is gzipped for a client that accepts gzip, the same code as sent plain, and revalidates per form', async () => {
    const plain = await get({ 'accept-encoding': 'identity' });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['content-type']).toMatch(/^text\/javascript/);
    const main = plain.body.toString('utf8');
    expect(main).not.toContain('lightweight-charts');

    const zipped = await get({ 'accept-encoding': 'gzip, deflate, br' });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/Accept-Encoding/i);
    expect(zipped.body.length).toBeLessThan(plain.body.length / 2);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.headers.etag).not.toBe(plain.headers.etag);

    const again = await get({ 'accept-encoding': 'gzip', 'if-none-match': String(zipped.headers.etag) });
    expect(again.status).toBe(304);

    const chunkPath = /chunks\/history-chart-[\w-]+\.js/.exec(main)?.[0];
    expect(chunkPath).toBeDefined();
    const chunk = await get({ 'accept-encoding': 'gzip' }, `/${chunkPath}`);
    expect(chunk.status).toBe(200);
    expect(chunk.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(chunk.body).toString('utf8')).toContain('lightweight-charts');
    expect((await get({}, '/chunks/history-chart-NOSUCHHASH.js')).status).toBe(404);
  });
});
