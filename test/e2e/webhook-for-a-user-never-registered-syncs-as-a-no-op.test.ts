import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import type { Envelope } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { examples, withFields } from '../webhooks/webhook-harness.ts';

/**
 * A correctly signed webhook about a user this engine never registered with SnapTrade (another
 * environment's user, say): it is accepted like any other (SnapTrade would otherwise retry it),
 * and the account sync it asks for completes as a no-op: one info line, no warning, no stack,
 * no retries, no sync.failed.
 */
const lines: Record<string, unknown>[] = [];
let engine: TestEngine;

beforeAll(async () => {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  engine = await startTestEngine({ log: pino({ level: 'info' }, stream) });
});

afterAll(async () => {
  await engine?.stop();
});

describe('a webhook for a user we have never seen', () => {
  it('is accepted, and its account sync completes as a no-op with one info line', async () => {
    const stranger = `stranger-${randomUUID()}`;
    const accountId = randomUUID();
    const body = withFields(examples.api_key_schema.ACCOUNT_HOLDINGS_UPDATED!, {
      userId: stranger,
      accountId,
      clientId: engine.config.SNAPTRADE_CLIENT_ID,
      webhookId: randomUUID(),
      eventTimestamp: new Date(Date.now() - 5_000).toISOString().replace('Z', '+00:00'),
    });
    const res = await fetch(`${engine.url}/api/snaptrade/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', signature: signWebhook(engine.config.SNAPTRADE_CONSUMER_KEY!, body) },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'accepted' });
    await engine.applied(stranger, (e) => e.type === 'snaptrade.webhook');

    const skipped = await eventually(
      async () => lines.find((l) => l.msg === 'account sync skipped: the user has no SnapTrade registration' && l.userId === stranger),
      20_000,
      'the account sync to be skipped',
    );
    expect(skipped).toMatchObject({ level: 30, module: 'sync', provider: 'snaptrade', accountId });
    expect(skipped).not.toHaveProperty('err');

    // The job completed (no retries), with nothing to report.
    const queue = engine.app.roles.scheduler.queue;
    const ofStranger = (job: { data: object }) => 'userId' in job.data && job.data.userId === stranger;
    const jobs = await eventually(async () => {
      const completed = (await queue.getJobs(['completed'])).filter(ofStranger);
      return completed.length > 0 ? completed : undefined;
    }, 10_000, 'the completed job');
    expect(jobs.map((j) => [j.data.kind, j.attemptsMade, j.returnvalue])).toEqual([['account', 1, null]]);
    expect((await queue.getJobs(['failed', 'delayed', 'wait', 'active'])).filter(ofStranger)).toEqual([]);

    // Nothing about it above info, and no sync.failed on the user's stream.
    expect(lines.filter((l) => (l.level as number) >= 40 && JSON.stringify(l).includes(stranger))).toEqual([]);
    expect(lines.filter((l) => l.msg === 'sync job failed')).toEqual([]);
    const key = streamKeys(engine.namespace).partitionStream(partitionOf(stranger, engine.config.PARTITION_COUNT));
    const types = (await engine.redis.client.xrange(key, '-', '+'))
      .map(([, fields]) => JSON.parse(fields[1] ?? 'null') as Envelope | null)
      .filter((e) => e?.user === stranger)
      .map((e) => e!.type);
    expect(types).toEqual(['snaptrade.webhook']);
  });
});
