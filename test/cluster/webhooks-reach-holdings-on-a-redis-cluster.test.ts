import { keySlot } from '../../src/runtime/key-slot.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { startTestRedisCluster, type TestRedisCluster } from '../support/redis-cluster.ts';

/**
 * The whole engine (web, worker and market roles in one process) on a Redis Cluster of 3 masters
 * and 3 replicas: SnapTrade's webhooks for users whose partitions live on different masters are
 * deduplicated and appended (one script per partition slot), read by the actors under their
 * leases, synced through BullMQ (braced prefix, one slot) under the shared rate-limit budget, and
 * end as holdings. A multi-key command across slots fails with CROSSSLOT on a cluster, so any key
 * without its hash tag stops this flow.
 */
const USERS = ['cluster-user-a', 'cluster-user-b', 'cluster-user-c', 'cluster-user-d'];
let redis: TestRedisCluster;
let engine: TestEngine;

beforeAll(async () => {
  redis = await startTestRedisCluster();
  engine = await startTestEngine({ redis, env: { REDIS_CLUSTER: 'true', PARTITION_COUNT: '8' } });
});
afterAll(async () => {
  await engine?.stop();
});

interface PortfolioBody {
  holdings: { symbol: string; quantity: string }[];
}

async function quantityOf(userId: string, symbol: string): Promise<number | undefined> {
  const res = await engine.api<PortfolioBody>(userId, 'GET', '/api/portfolio');
  const holding = res.body.holdings?.find((h) => h.symbol === symbol);
  return holding ? Number(holding.quantity) : undefined;
}

describe('the engine on a Redis Cluster', () => {
  it('turns connections and holdings webhooks into holdings for users on different masters', async () => {
    const control = engine.sandbox.control;
    const keys = streamKeys(engine.namespace);
    // The users' partition streams are served by more than one master: the flow crosses nodes.
    const masters = new Set(
      USERS.map((user) => nodeOf(keys.partitionStream(partitionOf(user, engine.config.PARTITION_COUNT)))),
    );
    expect(masters.size).toBeGreaterThan(1);

    const accounts = new Map<string, { accountId: string; authorizationId: string }>();
    for (const [i, user] of USERS.entries()) {
      expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
      const auth = await control.connect(user, {
        brokerage: 'QUESTRADE',
        accounts: [{ name: 'Margin', currency: 'USD', positions: [{ symbol: 'AAPL', units: 10 + i }] }],
      });
      accounts.set(user, { accountId: auth.accounts[0]!.id, authorizationId: auth.id });
    }
    for (const [i, user] of USERS.entries()) {
      await eventually(async () => ((await quantityOf(user, 'AAPL')) === 10 + i ? true : undefined), 30_000, `${user}'s first sync`);
    }

    // The brokerage changes; a holdings webhook (sent twice: the second is a duplicate) tells us.
    for (const [i, user] of USERS.entries()) {
      const { accountId, authorizationId } = accounts.get(user)!;
      await control.setPosition(accountId, { symbol: 'AAPL', units: 100 + i, notify: false });
      await control.fireWebhook({ eventType: 'ACCOUNT_HOLDINGS_UPDATED', userId: user, accountId, authorizationId });
    }
    for (const [i, user] of USERS.entries()) {
      await eventually(async () => ((await quantityOf(user, 'AAPL')) === 100 + i ? true : undefined), 30_000, `${user}'s holdings webhook`);
    }
  });
});

/** The master serving the key's slot, as the cluster client's slot map says. */
function nodeOf(key: string): string {
  const slot = keySlot(key);
  const owner = (redis.clusterClient.slots[slot] ?? [])[0];
  if (!owner) throw new Error(`no node serves slot ${slot}`);
  return owner;
}
