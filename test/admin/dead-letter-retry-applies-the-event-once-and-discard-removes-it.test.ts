import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_LOG_TABLE, eventLogProjection } from '../../actors/behaviors/event-log-projection.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import { adminStreamRouter } from '../../src/api/admin-stream-routes.ts';
import { startHttpServer, type HttpServer } from '../../src/http/server.ts';
import type { AppContext } from '../../src/runtime/context.ts';
import { appendDeadLetter, readDeadLetters } from '../../streams/dead-letter.ts';
import { ENVELOPE_FIELD, type Envelope } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';
import { appendEnvelopes, backlog, createActorTestEnv, envelopeFor, waitFor, type ActorTestEnv } from '../actors/support/harness.ts';

/**
 * Dead letters through the admin API, with a real actor runtime applying the partition: a retried
 * entry is applied exactly once (also with two copies parked, two retries racing, and a copy
 * parked after the retry), and leaves the partition stream as one entry at its end; a discarded
 * one is never applied, leaves both streams, and its reason is logged.
 */
const ADMIN_TOKEN = 'dead-letter-admin-token-0123456789';
const PARTITIONS = 4;
const USER = 'dead-letter-user';
const PARTITION = partitionOf(USER, PARTITIONS);

let env: ActorTestEnv;
let runtime: WorkerRuntime | undefined;
let http: HttpServer;
let metrics: AppContext['metrics'];
const logLines: Record<string, unknown>[] = [];
/** Event ids the handler fails on, until removed (the fix an operator waits for before retrying). */
const poisoned = new Set<string>();

interface ErrorBody {
  error: { code: string; message: string };
}

async function post<T>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${http.url}/api/admin${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** How many times the user's actor applied the event. */
async function appliedCount(eventId: string): Promise<number> {
  const row = (await env.database.knex(EVENT_LOG_TABLE).where({ event_id: eventId }).count({ n: '*' }).first()) as { n: string | number };
  return Number(row.n);
}

async function drained(): Promise<void> {
  await waitFor('the partitions to drain', async () => {
    const left = await backlog(env.redis.client, env.keys, PARTITIONS);
    return left.pending === 0 && left.lag === 0;
  });
}

/** Appends a poisoned event and waits until the runtime has parked it; answers the dead letter. */
async function parked(envelope: Envelope): Promise<{ id: string; entryId: string }> {
  poisoned.add(envelope.id);
  const [entryId] = await appendEnvelopes(env.redis.client, env.keys, [envelope]);
  let letter: { id: string; entryId: string } | undefined;
  await waitFor('the event to be parked', async () => {
    letter = (await readDeadLetters(env.redis.client, env.keys, PARTITION)).find((l) => l.entryId === entryId);
    return letter !== undefined;
  });
  await drained();
  return letter!;
}

beforeAll(async () => {
  env = await createActorTestEnv({ PARTITION_COUNT: String(PARTITIONS), MAX_DELIVERIES: '2', ADMIN_TOKEN });
  const ctx = env.context();
  metrics = ctx.metrics;
  runtime = await startWorkerRuntime(ctx, {
    behavior: eventLogProjection({ failWhen: (e) => poisoned.has(e.id) }),
    workerId: 'dead-letter-worker',
    retryDelayMs: () => 5,
  });
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    }),
  );
  http = await startHttpServer(
    ctx,
    [{ path: '/api/admin', router: adminStreamRouter({ redis: ctx.redis, keys: ctx.keys, partitionCount: PARTITIONS, adminToken: ADMIN_TOKEN, log, metrics: ctx.metrics }) }],
    { port: 0, host: '127.0.0.1' },
  );
});

afterAll(async () => {
  await http?.close();
  await runtime?.stop();
  await env?.cleanup();
});

describe('retrying a dead letter', () => {
  it('applies the event exactly once, however many copies are parked and retries race', async () => {
    const before = envelopeFor(USER, PARTITIONS, { n: 1 });
    await appendEnvelopes(env.redis.client, env.keys, [before]);
    const poison = envelopeFor(USER, PARTITIONS, { n: 2 });
    const letter = await parked(poison);
    expect(await appliedCount(poison.id)).toBe(0);
    // A second copy of the same dead letter, as a crash between parking and the checkpoint leaves.
    const copy = await appendDeadLetter(env.redis.client, env.keys, PARTITION, {
      entryId: letter.entryId,
      envelope: JSON.stringify(poison),
      reason: 'parked again after a crash',
      deliveries: 2,
    });

    // The operator fixed the cause; two retries of the same dead letter race.
    poisoned.delete(poison.id);
    const answers = await Promise.all([0, 1].map(() => post<{ outcome: string; streamId: string; removed: number } & ErrorBody>(`/dead-letters/${PARTITION}/${letter.id}/retry`)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 404]);
    const retried = answers.find((a) => a.status === 200)!.body;
    expect(retried).toMatchObject({ outcome: 'retried', partition: PARTITION, deadLetterId: letter.id, entryId: letter.entryId, user: USER, removed: 2 });
    expect(answers.find((a) => a.status === 404)!.body.error.code).toBe('FS_NOT_FOUND');

    await waitFor('the retried event to be applied', async () => (await appliedCount(poison.id)) > 0);
    await drained();
    expect(await appliedCount(poison.id)).toBe(1);
    // The dead letters are gone, both copies; retrying either again finds nothing.
    expect((await readDeadLetters(env.redis.client, env.keys, PARTITION)).filter((l) => l.entryId === letter.entryId)).toEqual([]);
    for (const id of [letter.id, copy]) {
      const again = await post<ErrorBody>(`/dead-letters/${PARTITION}/${id}/retry`);
      expect(again.status).toBe(404);
    }
    // The stream holds the event once: at its end, marked as a retry, the original gone.
    const stream = env.keys.partitionStream(PARTITION);
    expect(await env.redis.client.xrange(stream, letter.entryId, letter.entryId)).toEqual([]);
    const [[, fields]] = (await env.redis.client.xrange(stream, retried.streamId, retried.streamId)) as [[string, string[]]];
    expect(JSON.parse(fields[fields.indexOf(ENVELOPE_FIELD) + 1]!)).toEqual({ ...poison, meta: { retryOf: letter.entryId } });

    // A copy parked after the retry (the crash window again) cannot be retried a second time.
    const late = await appendDeadLetter(env.redis.client, env.keys, PARTITION, {
      entryId: letter.entryId,
      envelope: JSON.stringify(poison),
      reason: 'parked late',
      deliveries: 2,
    });
    // The settled marker is bounded by its TTL (README "Redis keys that grow").
    const ttl = await env.redis.client.ttl(env.keys.deadLetterSettled(PARTITION, letter.entryId));
    expect(ttl).toBeGreaterThan(6 * 24 * 3600);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600);
    const refused = await post<ErrorBody>(`/dead-letters/${PARTITION}/${late}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('FS_CONFLICT');
    expect(refused.body.error.message).toContain(`retried as ${retried.streamId}`);
    await drained();
    expect(await appliedCount(poison.id)).toBe(1);
    // It can be discarded.
    expect((await post(`/dead-letters/${PARTITION}/${late}/discard`, { reason: 'late copy of a retried entry' })).status).toBe(200);
  });

  it('refuses to retry an entry whose envelope does not decode (409), and answers 400 for a bad partition or id', async () => {
    const broken = await appendDeadLetter(env.redis.client, env.keys, PARTITION, {
      entryId: '1-1',
      envelope: '{"id": "broken"',
      reason: 'malformed envelope: not JSON',
      deliveries: 0,
    });
    const refused = await post<ErrorBody>(`/dead-letters/${PARTITION}/${broken}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('does not decode');
    expect((await readDeadLetters(env.redis.client, env.keys, PARTITION)).some((l) => l.id === broken)).toBe(true);
    for (const [path, field] of [
      [`/dead-letters/${PARTITIONS}/${broken}/retry`, 'partition'],
      [`/dead-letters/x/${broken}/retry`, 'partition'],
      [`/dead-letters/${PARTITION}/latest/retry`, 'id'],
    ] as const) {
      const bad = await post<ErrorBody>(path);
      expect(bad.status, path).toBe(400);
      expect(bad.body.error.message, path).toContain(field);
    }
    expect((await post(`/dead-letters/${PARTITION}/${broken}/discard`, { reason: 'never decoded' })).status).toBe(200);
  });
});

describe('discarding a dead letter', () => {
  it('removes it from both streams, never applies it, and logs the reason', async () => {
    const poison = envelopeFor(USER, PARTITIONS, { n: 3 });
    const letter = await parked(poison);

    const noReason = await post<ErrorBody>(`/dead-letters/${PARTITION}/${letter.id}/discard`, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.message).toContain('reason');

    const discarded = await post<Record<string, unknown>>(`/dead-letters/${PARTITION}/${letter.id}/discard`, { reason: 'a test fixture, not a real event' });
    expect(discarded.status).toBe(200);
    expect(discarded.body).toEqual({ outcome: 'discarded', partition: PARTITION, deadLetterId: letter.id, entryId: letter.entryId, user: USER, type: poison.type, removed: 1 });
    expect(await readDeadLetters(env.redis.client, env.keys, PARTITION)).toEqual([]);
    expect(await env.redis.client.xrange(env.keys.partitionStream(PARTITION), letter.entryId, letter.entryId)).toEqual([]);
    expect(logLines).toContainEqual(
      expect.objectContaining({ msg: 'dead letter discarded by an operator', entryId: letter.entryId, userId: USER, reason: 'a test fixture, not a real event' }),
    );

    // Fixed or not, it is gone: a retry finds nothing and nothing is applied.
    poisoned.delete(poison.id);
    expect((await post<ErrorBody>(`/dead-letters/${PARTITION}/${letter.id}/retry`)).status).toBe(404);
    expect((await post<ErrorBody>(`/dead-letters/${PARTITION}/${letter.id}/discard`, { reason: 'again' })).status).toBe(404);
    await drained();
    expect(await appliedCount(poison.id)).toBe(0);
    // Counted: one retry (the first test), three discards (a late copy, a broken entry, this one).
    const settled = await metrics.getSingleMetric('foliostream_dead_letters_settled_total')!.get();
    expect(Object.fromEntries(settled.values.map((v) => [v.labels.action, v.value]))).toEqual({ retried: 1, discarded: 3 });
  });
});

describe('listing dead letters', () => {
  it('lists the parked entries of every partition, page by page, with why, whose and which partition', async () => {
    const made: string[] = [];
    for (const partition of [3, 0, 2, 0, 3]) {
      const user = Array.from({ length: 100 }, (_, i) => `listed-${i}`).find((u) => partitionOf(u, PARTITIONS) === partition)!;
      const envelope = envelopeFor(user, PARTITIONS, { listed: true });
      const id = await appendDeadLetter(env.redis.client, env.keys, partition, { entryId: `9-${made.length}`, envelope: JSON.stringify(envelope), reason: `reason ${made.length}`, deliveries: 2, parkedBy: 'w1' });
      made.push(`${partition}/${id}/${user}`);
    }
    interface Listed {
      deadLetters: { partition: number; id: string; user: string | null; type: string | null; reason: string; parkedBy?: string; envelope: Envelope | null }[];
      total: number;
      next: string | null;
    }
    const listed: Listed['deadLetters'] = [];
    let cursor: string | null = null;
    do {
      const response = await fetch(`${http.url}/api/admin/dead-letters?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const page = (await response.json()) as Listed;
      expect(response.status).toBe(200);
      expect(page.total).toBe(5);
      expect(page.deadLetters.length).toBeLessThanOrEqual(2);
      listed.push(...page.deadLetters);
      cursor = page.next;
    } while (cursor);
    // Partition by partition, oldest first within each.
    const byPartition = (a: string, b: string) => Number(a.split('/')[0]) - Number(b.split('/')[0]);
    expect(listed.map((l) => `${l.partition}/${l.id}/${l.user}`)).toEqual([...made].sort(byPartition));
    expect(listed.every((l) => l.type === 'test.event' && l.parkedBy === 'w1' && l.envelope?.user === l.user && /^reason \d$/.test(l.reason))).toBe(true);

    const one = await fetch(`${http.url}/api/admin/dead-letters?partition=3`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(((await one.json()) as Listed).deadLetters.map((l) => l.partition)).toEqual([3, 3]);
    for (const letter of listed) {
      expect((await post(`/dead-letters/${letter.partition}/${letter.id}/discard`, { reason: 'listing fixture' })).status).toBe(200);
    }
  });
});
