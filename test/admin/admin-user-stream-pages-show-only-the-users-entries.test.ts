import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminStreamRouter } from '../../src/api/admin-stream-routes.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startHttpServer, type HttpServer } from '../../src/http/server.ts';
import { createContext, type AppContext } from '../../src/runtime/context.ts';
import { appendDeadLetter } from '../../streams/dead-letter.ts';
import { ENVELOPE_FIELD, ENVELOPE_SCHEMA_VERSION, encodeEnvelope, type Envelope } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';
import { readUserStreamPage } from '../../streams/user-stream-page.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { singleRedis } from '../../src/runtime/redis-client.ts';

/**
 * `GET /api/admin/users/:id/stream` over a partition shared by two users: pages of the user's own
 * entries only, newest or oldest first, each entry once across the pages, decoded, with its
 * stream id; the dead-letter stream likewise; a page reads a bounded number of entries.
 */
const ADMIN_TOKEN = 'stream-paging-admin-token-0123456789';
const PARTITIONS = 4;
const USER = 'paging-user';
const NEIGHBOUR = Array.from({ length: 100 }, (_, i) => `paging-neighbour-${i}`).find(
  (u) => partitionOf(u, PARTITIONS) === partitionOf(USER, PARTITIONS),
)!;
const PARTITION = partitionOf(USER, PARTITIONS);

let redis: TestRedis;
let ctx: AppContext;
let http: HttpServer;

interface Page {
  userId: string;
  partition: number;
  entries: { streamId: string; envelope: Envelope | null; error?: string; raw?: string; deadLetter?: { entryId: string; reason: string } }[];
  next: string | null;
  scanned: number;
}

function envelope(user: string, n: number): Envelope {
  return { id: `${user}-${n}`, type: 'test.event', user, partition: PARTITION, time: new Date().toISOString(), schema: ENVELOPE_SCHEMA_VERSION, payload: { n } };
}

async function get<T>(path: string, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: T }> {
  const response = await fetch(`${http.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: (await response.json()) as T };
}

/** Every page from the first to the last, following `next`. */
async function allPages(query: string): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const { status, body }: { status: number; body: Page } = await get<Page>(`/api/admin/users/${USER}/stream?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(status, JSON.stringify(body)).toBe(200);
    pages.push(body);
    cursor = body.next;
  } while (cursor);
  return pages;
}

/** The user's stream ids in the order appended, and the neighbour's. */
const ids = { user: [] as string[], neighbour: [] as string[] };

beforeAll(async () => {
  redis = await createTestRedis();
  const log = pino({ level: 'silent' });
  ctx = createContext({
    config: loadConfig({ NODE_ENV: 'test', ADMIN_TOKEN, PARTITION_COUNT: String(PARTITIONS) }),
    redisTarget: singleRedis(redis.url),
    databaseUrl: inject('databaseUrl'), // knex connects lazily; these routes never query
    namespace: redis.prefix.replace(/:$/, ''),
    log,
  });
  http = await startHttpServer(
    ctx,
    [{ path: '/api/admin', router: adminStreamRouter({ redis: ctx.redis, keys: ctx.keys, partitionCount: PARTITIONS, adminToken: ADMIN_TOKEN, log, metrics: ctx.metrics }) }],
    { port: 0, host: '127.0.0.1' },
  );
  // 23 events of the user interleaved with 2 of the neighbour's each, one entry of the user that
  // does not decode, and one neighbour entry whose payload mentions the user's id.
  const stream = ctx.keys.partitionStream(PARTITION);
  for (let n = 1; n <= 23; n++) {
    ids.user.push((await redis.client.xadd(stream, '*', ENVELOPE_FIELD, encodeEnvelope(envelope(USER, n))))!);
    for (let m = 0; m < 2; m++) ids.neighbour.push((await redis.client.xadd(stream, '*', ENVELOPE_FIELD, encodeEnvelope(envelope(NEIGHBOUR, n * 10 + m))))!);
  }
  const mention = { ...envelope(NEIGHBOUR, 999), payload: { note: USER, user: USER } };
  ids.neighbour.push((await redis.client.xadd(stream, '*', ENVELOPE_FIELD, encodeEnvelope(mention)))!);
  ids.user.push((await redis.client.xadd(stream, '*', ENVELOPE_FIELD, JSON.stringify({ id: 'broken', user: USER, schema: 'one' })))!);
  // Dead letters: two of the user's, one of the neighbour's.
  for (const [user, n] of [[USER, 3], [NEIGHBOUR, 10], [USER, 7]] as const) {
    await appendDeadLetter(redis.client, ctx.keys, PARTITION, { entryId: `1-${n}`, envelope: encodeEnvelope(envelope(user, n)), reason: `failed ${n}`, deliveries: 5 });
  }
});

afterAll(async () => {
  await http?.close();
  await ctx?.close();
  await redis?.cleanup();
});

describe("a user's stream, paged", () => {
  it('returns only the user\'s entries, newest first by default, each once across pages of the limit', async () => {
    const pages = await allPages('limit=5');
    expect(pages.every((p) => p.userId === USER && p.partition === PARTITION)).toBe(true);
    expect(pages.slice(0, -1).every((p) => p.entries.length === 5)).toBe(true);
    const seen = pages.flatMap((p) => p.entries.map((e) => e.streamId));
    expect(seen).toEqual([...ids.user].reverse());
    // Decoded envelopes with their stream ids; the broken one with its reason and raw JSON.
    const entries = pages.flatMap((p) => p.entries);
    const broken = entries[0]!;
    expect(broken.envelope).toBeNull();
    expect(broken.error).toMatch(/type|time|partition/);
    expect(JSON.parse(broken.raw!)).toMatchObject({ id: 'broken', user: USER });
    expect(entries[1]!.envelope).toMatchObject({ id: `${USER}-23`, user: USER, payload: { n: 23 } });
    expect(entries.every((e) => e.envelope === null || e.envelope.user === USER)).toBe(true);
  });

  it('pages oldest first the same entries in the other order', async () => {
    const pages = await allPages('order=oldest&limit=7');
    expect(pages.flatMap((p) => p.entries.map((e) => e.streamId))).toEqual(ids.user);
  });

  it('lists the user\'s dead letters with why they were parked, and none of the neighbour\'s', async () => {
    const pages = await allPages('stream=dead&order=oldest');
    const letters = pages.flatMap((p) => p.entries);
    expect(letters.map((e) => [e.envelope?.id, e.deadLetter?.reason, e.deadLetter?.entryId])).toEqual([
      [`${USER}-3`, 'failed 3', '1-3'],
      [`${USER}-7`, 'failed 7', '1-7'],
    ]);
  });

  it('reads at most its scan budget of stream entries per page, and says where to go on', async () => {
    const page = await readUserStreamPage(redis.client, ctx.keys, PARTITION, USER, { stream: 'events', order: 'oldest', limit: 50, scanBudget: 10 });
    // The first ten entries: the user's, then two of the neighbour's, four times over (less two).
    expect(page.scanned).toBe(10);
    expect(page.entries.map((e) => e.streamId)).toEqual(ids.user.slice(0, 4));
    expect(page.next).toBe(ids.user[3]);
  });

  it('refuses bad paging parameters with 400 naming the parameter', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=ten', 'limit'],
      ['order=sideways', 'order'],
      ['stream=other', 'stream'],
      ['cursor=yesterday', 'cursor'],
      ['page=2', 'page'],
    ]) {
      const { status, body } = await get<{ error: { code: string; message: string } }>(`/api/admin/users/${USER}/stream?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.code).toBe('FS_VALIDATION');
      expect(body.error.message, query).toContain(field);
    }
  });

  it('answers 401 without the admin token or with a wrong one, before reading anything', async () => {
    for (const token of [null, 'wrong-token', `${ADMIN_TOKEN}x`]) {
      const { status, body } = await get<{ error: { code: string } }>(`/api/admin/users/${USER}/stream`, token);
      expect(status).toBe(401);
      expect(body.error.code).toBe('FS_UNAUTHENTICATED');
    }
  });
});
