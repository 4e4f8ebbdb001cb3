import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/services/local-redis.ts';
import { sleep } from '../../src/services/process-utils.ts';
import { ENVELOPE_FIELD } from '../../streams/envelope.ts';
import { examples, startWebhookServer, withFields, type WebhookServer } from './webhook-harness.ts';

/**
 * `WEBHOOK_MIN_REPLICAS`: a primary and a replica of this file's own (the shared test Redis has no
 * replica). The replica is frozen with SIGSTOP to stand for one that lags or is cut off: the
 * primary still takes the append, but the webhook must not be answered 200 until a replica has it.
 */
const holdings = examples.api_key_schema.ACCOUNT_HOLDINGS_UPDATED!;
const log = pino({ level: 'warn' });
const REPLICA_TIMEOUT_MS = 300;

let root: string;
let primary: LocalRedis;
let replica: LocalRedis;
let replicaClient: Redis;
const servers: WebhookServer[] = [];
let counter = 0;

function freshWebhook() {
  const at = new Date(Date.now() - 5_000).toISOString().replace('Z', '+00:00');
  return withFields(holdings, { webhookId: `replicas-${process.pid}-${++counter}`, eventTimestamp: at });
}

async function start(minReplicas: number): Promise<WebhookServer> {
  const server = await startWebhookServer({
    namespace: `replicas-${minReplicas}-${process.pid}`,
    redisUrl: primary.url,
    env: { WEBHOOK_MIN_REPLICAS: String(minReplicas), WEBHOOK_REPLICA_TIMEOUT_MS: String(REPLICA_TIMEOUT_MS) },
  });
  servers.push(server);
  return server;
}

/** The replica's copy of a stream entry, if it has one. */
async function onReplica(server: WebhookServer, partition: number, streamId: string) {
  const entries = await replicaClient.xrange(server.ctx.keys.partitionStream(partition), streamId, streamId);
  return entries.map(([id, fields]) => ({ id, envelope: JSON.parse(fields[fields.indexOf(ENVELOPE_FIELD) + 1]!) as { id: string } }));
}

async function frozen<T>(run: () => Promise<T>): Promise<T> {
  process.kill(replica.pid, 'SIGSTOP');
  try {
    return await run();
  } finally {
    process.kill(replica.pid, 'SIGCONT');
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fs-replicas-'));
  primary = await startLocalRedis({ dir: join(root, 'primary'), persistent: false, log });
  replica = await startLocalRedis({ dir: join(root, 'replica'), persistent: false, log });
  replicaClient = new Redis(replica.url, { maxRetriesPerRequest: 1 });
  const { port } = new URL(primary.url);
  await replicaClient.call('REPLICAOF', '127.0.0.1', port);
  for (let i = 0; ; i++) {
    const info = await replicaClient.info('replication');
    if (/master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info)) break;
    if (i > 300) throw new Error(`the replica did not catch up: ${info}`);
    await sleep(50);
  }
}, 60_000);

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

afterAll(async () => {
  replicaClient?.disconnect();
  await replica?.stop();
  await primary?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('WEBHOOK_MIN_REPLICAS=1', () => {
  it('answers 200 with the entry already on the replica, for a burst of webhooks too', async () => {
    const server = await start(1);
    const answers = await Promise.all(Array.from({ length: 40 }, async () => server.post(freshWebhook())));
    for (const { status, json } of answers) {
      expect(status).toBe(200);
      const entry = (await server.appended()).find((e) => e.streamId === json.streamId)!;
      expect(await onReplica(server, entry.envelope.partition, String(json.streamId))).toHaveLength(1);
    }
  });

  it('answers 503 while no replica acknowledges, then 200 duplicate to the retry once one does, with one entry', async () => {
    const server = await start(1);
    const body = freshWebhook();
    const refused = await frozen(() => server.post(body));
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ error: { code: 'FS_STORAGE_UNAVAILABLE', message: 'the event is not yet on enough replicas; retry later' } });
    expect(await server.metric('foliostream_webhooks_failed_total', { reason: 'replicas' })).toBe(1);
    // The primary took it (the dedupe marker with it): SnapTrade's retry must not append it again.
    const retried = await server.post(body);
    expect(retried.status).toBe(200);
    expect(retried.json.status).toBe('duplicate');
    const entries = (await server.appended()).filter((e) => e.envelope.id === body.webhookId);
    expect(entries).toHaveLength(1);
    expect(retried.json.streamId).toBe(entries[0]!.streamId);
    expect(await onReplica(server, entries[0]!.envelope.partition, entries[0]!.streamId)).toEqual([{ id: entries[0]!.streamId, envelope: expect.objectContaining({ id: body.webhookId }) }]);
  });
});

describe('WEBHOOK_MIN_REPLICAS=0 (the default)', () => {
  it('answers 200 once the primary has it, even while the replica is cut off', async () => {
    const server = await start(0);
    const answer = await frozen(() => server.post(freshWebhook()));
    expect(answer.status).toBe(200);
    expect(answer.json.status).toBe('accepted');
  });
});
