import { randomUUID } from 'node:crypto';
import type { streaming } from '@alpacahq/alpaca-trade-api';
import { ENVELOPE_SCHEMA_VERSION } from '../../streams/envelope.ts';
import { partitionOf } from '../../streams/partition.ts';
import type { StreamProducer } from '../../streams/producer.ts';
import type { Knex } from '../db/knex.ts';
import type { Logger } from '../logging/logger.ts';
import { toWireShape } from '../providers/alpaca/alpaca-provider.ts';
import { createAlpacaClient } from '../providers/alpaca/client.ts';
import type { CredentialsStore } from '../providers/credentials-store.ts';

export interface AlpacaFillListenerOptions {
  db: Knex;
  credentials: CredentialsStore;
  producer: StreamProducer;
  partitionCount: number;
  tradingUrl?: string | undefined;
  log: Logger;
  /** How often the linked accounts are re-read (new links, unlinks). @default 15000 */
  refreshMs?: number;
  /**
   * An account's stream has (re)authenticated. Trade updates are not replayed: fills announced
   * while nobody listened (before the first connection, during a reconnect, while no process
   * held the market lease) are caught up by syncing the account now.
   */
  onListening?: (userId: string, accountId: string) => Promise<unknown>;
}

export interface AlpacaFillListener {
  /** Linked accounts with an open trade_updates stream. */
  listening(): string[];
  /** Re-reads the linked accounts now. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Holds one `trade_updates` stream per linked internal Alpaca account (each has its own keys)
 * and turns every trade update (new, fill, partial fill, cancel, expiry, rejection) into an
 * `alpaca.trade_update` event on the user's stream, with the order as Alpaca sent it; the user's
 * actor moves the order with it and, for fills, syncs that account. Runs in the `market` role, like the market-data connection: one
 * listener per deployment.
 */
export function startAlpacaFillListener(options: AlpacaFillListenerOptions): AlpacaFillListener {
  const streams = new Map<string, streaming.TradingStream>();
  let stopped = false;

  const append = async (userId: string, accountId: string, update: streaming.TradeUpdate) => {
    await options.producer.append({
      id: randomUUID(),
      type: 'alpaca.trade_update',
      user: userId,
      partition: partitionOf(userId, options.partitionCount),
      time: new Date().toISOString(),
      schema: ENVELOPE_SCHEMA_VERSION,
      payload: {
        accountId,
        event: update.event,
        orderId: update.order?.id ?? null,
        symbol: update.order?.symbol ?? null,
        qty: update.qty ?? null,
        price: update.price ?? null,
        positionQty: update.positionQty ?? null,
        at: update.timestamp instanceof Date ? update.timestamp.toISOString() : null,
        // The order as Alpaca sent it (wire shape): the actor moves our order with it.
        order: update.order ? toWireShape(update.order) : null,
      },
    });
  };

  const refresh = async () => {
    if (stopped) return;
    const rows = await options
      .db('brokerage_connections')
      .where({ provider: 'alpaca', status: 'active' })
      .select('user_id', 'external_id');
    const wanted = new Map(rows.map((r) => [r.external_id as string, r.user_id as string]));
    for (const [accountId, stream] of streams) {
      if (!wanted.has(accountId)) {
        stream.disconnect();
        streams.delete(accountId);
      }
    }
    for (const [accountId, userId] of wanted) {
      if (streams.has(accountId)) continue;
      const creds = await options.credentials.alpacaByAccount(userId, accountId);
      if (!creds) continue;
      const client = createAlpacaClient({ keyId: creds.keyId, secretKey: creds.secretKey, tradingUrl: options.tradingUrl });
      const stream = client.tradingStream({ maxReconnectAttempts: -1 });
      stream.onTradeUpdate((update) => {
        append(userId, accountId, update).catch((err: unknown) =>
          options.log.error({ err, accountId }, 'could not record an Alpaca trade update; the nightly sync will catch its holdings up'),
        );
      });
      stream.onStateChange((state) => {
        if (String(state) !== 'authenticated' || stopped || !options.onListening) return;
        options.onListening(userId, accountId).catch((err: unknown) =>
          options.log.warn({ err, accountId }, 'could not schedule the catch-up sync of a reopened Alpaca trade updates stream'),
        );
      });
      stream.subscribeTradeUpdates();
      stream.connect();
      streams.set(accountId, stream);
      options.log.info({ accountId }, 'listening to Alpaca trade updates');
    }
  };

  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    refresh()
      .catch((err: unknown) => options.log.warn({ err }, 'refreshing Alpaca trade update streams failed'))
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(loop, options.refreshMs ?? 15_000);
        timer.unref();
      });
  };
  loop();

  return {
    listening: () => [...streams.keys()],
    refresh,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      for (const stream of streams.values()) stream.disconnect();
      streams.clear();
    },
  };
}
