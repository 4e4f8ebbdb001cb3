import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { issueUserToken, userTokenSettings } from '../../src/auth/user-tokens.ts';
import { loadConfig } from '../../src/config/config.ts';
import { dryRunUser } from '../../src/replay/user-replay.ts';
import type { RedisClient } from '../../src/runtime/redis-client.ts';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import type { ConnectInput } from '../../sandbox/control-api-types.ts';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { decodeEnvelope, ENVELOPE_FIELD } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';
import type { TestDatabase } from './database.ts';
import { eventually } from './engine.ts';
import { startRoleDeployment, type RoleDeployment } from './role-deployment.ts';

/**
 * SnapTrade-like webhook load on engine processes (`startRoleProcess`) while they are restarted or
 * killed, and the checks that nothing answered 200 was lost or applied twice. The user is one
 * registered at the sandbox with `accountIds` under `authorizationId`; the engine runs with the
 * default namespace.
 */
export interface WebhookLoadTarget {
  sandbox: Sandbox;
  /** The engine processes' environment (its AUTH_SECRET signs the API calls). */
  env: Record<string, string>;
  userId: string;
  authorizationId: string;
  accountIds: readonly string[];
  /** The web processes running now. */
  webUrls(): string[];
}

/** Settings of engine processes under this load: syncs at once, a budget that never throttles. */
const WEBHOOK_LOAD_ENV: Record<string, string> = {
  SYNC_DEBOUNCE_MS: '200',
  SYNC_ACCOUNT_FLOOR_MS: '0',
  SYNC_BACKOFF_BASE_MS: '100',
  SNAPTRADE_REQUESTS_PER_MINUTE: '100000',
  SNAPTRADE_USER_SHARE: '1',
};

/**
 * A deployment (`startRoleDeployment`) for this load: the test's `env` with WEBHOOK_LOAD_ENV over
 * it, and a sandbox whose SnapTrade rate limit the syncs of the load never reach either.
 */
export function startWebhookLoadDeployment(redis: 'server' | 'cluster', env: Record<string, string>): Promise<RoleDeployment> {
  return startRoleDeployment({ redis, env: { ...env, ...WEBHOOK_LOAD_ENV }, sandboxRateLimit: { limit: 100_000, windowMs: 60_000 } });
}

/**
 * Registers `userId` with SnapTrade through the engine at `web` and connects a QUESTRADE
 * authorization with `accounts` at the sandbox: the target of the load.
 */
export async function connectLoadUser(
  sandbox: Sandbox,
  env: Record<string, string>,
  web: { url: string; webUrls(): string[] },
  userId: string,
  accounts: ConnectInput['accounts'],
): Promise<WebhookLoadTarget> {
  const token = await issueUserToken(userTokenSettings(loadConfig(env)), userId, 600);
  const registered = await fetch(`${web.url}/api/snaptrade/connection-url`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(registered.status).toBe(200);
  const auth = await sandbox.control.connect(userId, { brokerage: 'QUESTRADE', accounts });
  return { sandbox, env, userId, authorizationId: auth.id, accountIds: auth.accounts.map((a) => a.id), webUrls: web.webUrls };
}

/** A webhook answered 200 that was posted again, and the answer the second post got. */
export interface Redelivery {
  webhookId: string;
  /** The web process the second post reached (another than the first 200's, when there is one). */
  url: string;
  answer: { status: string; streamId: string };
}

export interface WebhookLoad {
  /** Every webhook delivered (answered 200), or being delivered. */
  ids: string[];
  redeliveries: Redelivery[];
  attempts(): number;
  delivered(): number;
  stop(): Promise<void>;
}

/**
 * Distinct ACCOUNT_HOLDINGS_UPDATED webhooks over `lanes` lanes until `stop()`: each is posted
 * until a web process answers 200 (accepted or duplicate), to the next web process after each
 * failure, as a load balancer and SnapTrade's retries do. With `redeliverEvery: n`, every n-th
 * webhook is posted once more after its 200, to another web process, as SnapTrade does when the
 * 200 it was sent got lost on the way.
 */
export function deliverWebhooks(target: WebhookLoadTarget, options: { lanes?: number; pauseMs?: number; redeliverEvery?: number } = {}): WebhookLoad {
  const ids: string[] = [];
  const redeliveries: Redelivery[] = [];
  let next = 0;
  let attempts = 0;
  let stopped = false;
  const { sandbox } = target;

  /** Posts until answered 200, starting at the `first`-th web process; the answer and who gave it. */
  const post = async (body: Record<string, unknown>, first: number): Promise<{ url: string; answer: Redelivery['answer'] }> => {
    for (let attempt = 0; ; attempt++) {
      attempts++;
      const urls = target.webUrls();
      const url = urls[(first + attempt) % Math.max(urls.length, 1)];
      try {
        if (!url) throw new Error('no web process');
        const response = await fetch(`${url}/api/snaptrade/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', signature: signWebhook(sandbox.consumerKey, body) },
          body: JSON.stringify(body),
          // As SnapTrade gives up on a slow answer: a kept-alive socket to a stopping process can go unanswered.
          signal: AbortSignal.timeout(5_000),
        });
        if (response.status === 200) return { url, answer: (await response.json()) as Redelivery['answer'] };
      } catch {
        // Refused or dropped by a stopping process: delivered again.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const lane = async () => {
    while (!stopped) {
      const n = next++;
      const body = {
        webhookId: randomUUID(),
        clientId: sandbox.clientId,
        eventTimestamp: new Date().toISOString(),
        userId: target.userId,
        eventType: 'ACCOUNT_HOLDINGS_UPDATED',
        accountId: target.accountIds[n % target.accountIds.length]!,
        brokerageId: 'questrade',
        brokerageAuthorizationId: target.authorizationId,
        details: { positions: { success: true, error: null }, balances: { success: true, error: null } },
      };
      ids.push(body.webhookId);
      const first = await post(body, n);
      if (options.redeliverEvery && n % options.redeliverEvery === 0) {
        const urls = target.webUrls();
        const other = Math.max(urls.indexOf(first.url), 0) + 1;
        redeliveries.push({ webhookId: body.webhookId, ...(await post(body, other)) });
      }
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 20));
    }
  };
  const done = Promise.all(Array.from({ length: options.lanes ?? 4 }, lane));
  return {
    ids,
    redeliveries,
    attempts: () => attempts,
    delivered: () => next,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** Waits until `load` has started `count` more webhooks than it had when called. */
export async function moreDeliveries(load: WebhookLoad, count: number, what: string): Promise<void> {
  const before = load.delivered();
  await eventually(async () => (load.delivered() >= before + count ? true : undefined), 60_000, `${count} deliveries ${what}`);
}

/** Every `snaptrade.webhook` entry of the partition streams: webhookId -> stream ids. */
export async function webhookEntries(redis: RedisClient, partitions: number): Promise<Map<string, string[]>> {
  const keys = streamKeys('fs');
  const out = new Map<string, string[]>();
  for (let p = 0; p < partitions; p++) {
    for (const [id, fields] of await redis.xrange(keys.partitionStream(p), '-', '+')) {
      const envelope = decodeEnvelope(fields[fields.indexOf(ENVELOPE_FIELD) + 1]!);
      if (envelope.type === 'snaptrade.webhook') out.set(envelope.id, [...(out.get(envelope.id) ?? []), id]);
    }
  }
  return out;
}

/** The units per symbol over the user's accounts at the sandbox brokerage. */
export async function brokerageUnits(target: WebhookLoadTarget): Promise<Record<string, string>> {
  const out = new Map<string, number>();
  for (const id of target.accountIds) for (const p of (await target.sandbox.control.account(id)).positions) out.set(p.symbol, (out.get(p.symbol) ?? 0) + p.units);
  return Object.fromEntries([...out].sort().map(([s, u]) => [s, String(u)]));
}

/** The quantity per symbol the engine's API shows the user. */
export async function engineHoldings(target: WebhookLoadTarget, url: string): Promise<Record<string, string>> {
  const token = await issueUserToken(userTokenSettings(loadConfig(target.env)), target.userId, 600);
  const response = await fetch(`${url}/api/portfolio`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { holdings: { symbol: string; quantity: string }[] };
  return Object.fromEntries(body.holdings.map((h) => [h.symbol, h.quantity]).sort());
}

/** Waits until the engine shows the holdings the brokerage has. */
export async function expectHoldingsOfTheBrokerage(target: WebhookLoadTarget, what: string): Promise<void> {
  const truth = await brokerageUnits(target);
  const [url] = target.webUrls();
  await eventually(async () => (JSON.stringify(await engineHoldings(target, url!)) === JSON.stringify(truth) ? true : undefined), 60_000, `${what}: holdings ${JSON.stringify(truth)}`);
}

/**
 * Every webhook of `load` in the streams exactly once, however often it was posted; applied (the
 * inbox has it, the user's checkpoint passed it); every redelivery answered 200 `duplicate` with
 * the stream id of that one entry; the holdings the brokerage's; and the user's projection what a
 * replay of the stream from the start folds (nothing applied twice or skipped).
 */
export async function expectEveryWebhookOnceAndApplied(
  target: WebhookLoadTarget,
  load: WebhookLoad,
  store: { redis: RedisClient; database: TestDatabase; partitions: number },
): Promise<void> {
  const { ids } = load;
  const entries = await webhookEntries(store.redis, store.partitions);
  expect(ids.filter((id) => entries.get(id)?.length !== 1)).toEqual([]);
  expect(load.redeliveries.filter((r) => r.answer.status !== 'duplicate' || r.answer.streamId !== entries.get(r.webhookId)![0])).toEqual([]);
  const last = ids.map((id) => entries.get(id)![0]!).sort(compareStreamIds).at(-1)!;
  await eventually(
    async () => {
      const row = await store.database.knex('actor_checkpoints').where({ user_id: target.userId }).first('last_stream_id');
      return row && compareStreamIds(row.last_stream_id as string, last) >= 0 ? true : undefined;
    },
    60_000,
    `the checkpoint to pass the last webhook ${last}`,
  );
  const inbox = new Set((await store.database.knex('webhook_inbox').whereIn('webhook_id', ids).select('webhook_id')).map((r) => r.webhook_id as string));
  expect(ids.filter((id) => !inbox.has(id))).toEqual([]);
  await expectHoldingsOfTheBrokerage(target, 'after the load');
  const replay = await dryRunUser(store.database.knex, store.redis, streamKeys('fs'), store.partitions, target.userId, true);
  expect(replay.differed, JSON.stringify(replay.differences)).toBe(false);
  expect(replay.skipped).toEqual([]);
}
