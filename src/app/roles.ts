import { QueueEvents } from 'bullmq';
import { UserPortfolioBehavior, type UserPortfolioState } from '../../actors/portfolio/user-portfolio-behavior.ts';
import { TickerHolders } from '../../actors/portfolio/ticker-holders.ts';
import { readLastPrices } from '../market/price-reader.ts';
import { HistoryJobs } from '../history/daily-close-jobs.ts';
import { startIntradayRecorder } from '../history/intraday-recorder.ts';
import { readPortfolio } from '../../actors/portfolio/portfolio-read-model.ts';
import { startWorkerRuntime, type WorkerRuntime } from '../../actors/worker-runtime.ts';
import { createStreamProducer } from '../../streams/producer.ts';
import { alpacaRouter } from '../api/alpaca-routes.ts';
import { portfolioRouter } from '../api/portfolio-routes.ts';
import { orderRouter } from '../api/order-routes.ts';
import { activityRouter } from '../api/activity-routes.ts';
import { securityRouter } from '../api/security-routes.ts';
import { AlpacaTrading } from '../trading/alpaca-trading.ts';
import { OrderService } from '../trading/order-service.ts';
import { SnapTradeTrading } from '../trading/snaptrade-trading.ts';
import { createRefreshGate } from '../api/refresh-gate.ts';
import { snaptradeRouter } from '../api/snaptrade-routes.ts';
import { adminUserRouter, userRouter } from '../api/user-routes.ts';
import { settingsRouter } from '../api/settings-routes.ts';
import { adminSessionRouter, queueBoardRouter } from '../api/admin-queue-routes.ts';
import { adminStreamRouter } from '../api/admin-stream-routes.ts';
import { ADMIN_SESSION_PATH } from '../auth/admin-session.ts';
import { adminReplayRouter } from '../api/admin-replay-routes.ts';
import { createAdminReplayRunner } from '../replay/admin-replay-event.ts';
import { ReplayJobs, ReplayWorker } from '../replay/replay-jobs.ts';
import { startStreamMaintenance } from '../replay/stream-maintenance.ts';
import { createUserTokenVerifier, userTokenSettings } from '../auth/user-tokens.ts';
import { startHttpServer, startMetricsServer, type HttpServer } from '../http/server.ts';
import { startMarketIngester } from '../market/market-data-ingester.ts';
import { startMarketLease, type MarketLease } from '../market/market-lease.ts';
import { marketMetrics } from '../market/market-metrics.ts';
import { defaultWorkerId } from '../../actors/worker-runtime.ts';
import { createSymbolCollector } from '../market/symbol-collector.ts';
import { AlpacaProvider } from '../providers/alpaca/alpaca-provider.ts';
import { CredentialsStore } from '../providers/credentials-store.ts';
import { createRateLimiter, snaptradeBudgetKey } from '../providers/rate-limiter.ts';
import { SNAPTRADE_TIMEOUT_MS, SnapTradeClient } from '../providers/snaptrade/client.ts';
import { SnapTradeProvider } from '../providers/snaptrade/snaptrade-provider.ts';
import { attachRealtimeGateway, type RealtimeGateway } from '../realtime/gateway.ts';
import { dashboardRouter } from '../realtime/dashboard/dashboard-router.ts';
import { devSignInRouter } from '../auth/dev-sign-in-routes.ts';
import { createDeltaCoalescer } from '../realtime/delta-coalescer.ts';
import { createDeltaSender } from '../realtime/delta-sender.ts';
import { createPortfolioSequence } from '../realtime/portfolio-sequence.ts';
import { realtimeKeys } from '../realtime/realtime-keys.ts';
import { createRoomEmitter } from '../realtime/room-emitter.ts';
import { createPresenceTracker, createPresenceView } from '../realtime/presence.ts';
import type { AppContext } from '../runtime/context.ts';
import { SYNC_QUEUE } from '../sync/sync-jobs.ts';
import { SyncScheduler } from '../sync/sync-scheduler.ts';
import { SyncWorker } from '../sync/sync-worker.ts';
import { startAlpacaFillListener } from '../sync/alpaca-fill-listener.ts';
import { createWebhookHandler } from '../webhooks/webhook-router.ts';
import { realtimeNotifier } from './realtime-notifier.ts';
import { startPriceRevaluation, type PriceRevaluation } from './price-revaluation.ts';
import { startFxReload, type FxReload } from './fx-reload.ts';
import { createRedisClient } from '../runtime/redis-client.ts';

export interface RunningRoles {
  web: HttpServer | undefined;
  /** The metrics server (`METRICS_PORT`), whatever the roles, when configured. */
  metrics: { url: string } | undefined;
  worker: WorkerRuntime<UserPortfolioState> | undefined;
  /** The worker role's price revaluation (its counters), when the worker role runs here. */
  priceRevaluation: PriceRevaluation | undefined;
  /** The worker role's exchange-rate reload, when the worker role runs here. */
  fxReload: FxReload | undefined;
  /** The market role's lease (active or standby), when the market role runs here. */
  market: MarketLease | undefined;
  scheduler: SyncScheduler;
  stop(): Promise<void>;
}

/**
 * Builds the shared clients once, then starts the roles named in `ROLES`. Roles stop in reverse
 * order of starting: the web role stops taking requests before the workers finish their
 * in-flight work, and the workers before the market role.
 */
/** A stop step taking longer than this is named in a warning (the whole stop has 30 s). */
const SLOW_STOP_MS = 5_000;
/** ... and this long in an error: the process is about to be ended without finishing its stop. */
const STUCK_STOP_MS = 25_000;

export async function startRoles(ctx: AppContext): Promise<RunningRoles> {
  const config = ctx.config;
  // Named, so a stop that hangs says which part of the process it is waiting for.
  const stops: [name: string, stop: () => Promise<void>][] = [];
  const stopAll = async () => {
    for (const [name, stop] of stops.splice(0).reverse()) {
      const timers = [
        setTimeout(() => ctx.log.warn({ step: name, waitedMs: SLOW_STOP_MS }, 'stopping is taking long'), SLOW_STOP_MS),
        setTimeout(() => ctx.log.error({ step: name, waitedMs: STUCK_STOP_MS }, 'stopping is stuck'), STUCK_STOP_MS),
      ];
      for (const timer of timers) timer.unref();
      await stop()
        .catch((err: unknown) => ctx.log.error({ err, step: name }, 'error while stopping a role'))
        .finally(() => timers.forEach(clearTimeout));
    }
  };
  const bullPrefix = `{${ctx.keys.namespace}-bull}`;
  const scheduler = new SyncScheduler({
    redisTarget: ctx.redisTarget,
    prefix: bullPrefix,
    debounceMs: config.SYNC_DEBOUNCE_MS,
    log: ctx.log.child({ module: 'sync' }),
  });
  stops.push(['sync scheduler', () => scheduler.close()]);
  const credentials = new CredentialsStore(ctx.db, ctx.secretBox);
  // One budget for every process: the key is shared through Redis. Requests count until a window
  // after they end, so delays between our grant and SnapTrade's count never push us over.
  const limiter = createRateLimiter(ctx.redis, snaptradeBudgetKey(ctx.keys.namespace), {
    limit: config.SNAPTRADE_REQUESTS_PER_MINUTE,
    windowMs: config.SNAPTRADE_RATE_WINDOW_MS,
    maxInFlightMs: SNAPTRADE_TIMEOUT_MS + 1_000,
    perUser: config.SNAPTRADE_USER_SHARE >= 1 ? 0 : Math.max(1, Math.floor(config.SNAPTRADE_REQUESTS_PER_MINUTE * config.SNAPTRADE_USER_SHARE)),
  });
  const snaptrade = new SnapTradeClient({
    clientId: config.SNAPTRADE_CLIENT_ID!,
    consumerKey: config.SNAPTRADE_CONSUMER_KEY!,
    basePath: config.SNAPTRADE_BASE_URL!,
    limiter,
  });
  const alpaca = new AlpacaProvider(credentials, { tradingUrl: config.ALPACA_TRADING_URL, dataUrl: config.ALPACA_DATA_URL });
  const verifier = createUserTokenVerifier(userTokenSettings(config));
  const rtKeys = realtimeKeys(ctx.keys.namespace);

  let web: HttpServer | undefined;
  let metrics: { url: string } | undefined;
  let worker: WorkerRuntime<UserPortfolioState> | undefined;
  let priceRevaluation: PriceRevaluation | undefined;
  let fxReload: FxReload | undefined;
  let market: MarketLease | undefined;
  // Readiness of this process's market role (`/readyz`), read at each request: the role starts
  // after the metrics server.
  const readiness = { market: () => market?.status().state };
  try {
    if (config.METRICS_PORT !== undefined) {
      const metricsServer = await startMetricsServer(ctx, { readiness });
      metrics = { url: metricsServer.url };
      // Pushed first, so it stops last: the final scrape sees the shutdown.
      stops.push(['metrics server', () => metricsServer.close()]);
      ctx.log.info({ url: metricsServer.url }, 'metrics served apart from the public port');
    }
    if (config.ROLES.includes('market')) {
      const marketLog = ctx.log.child({ module: 'market' });
      // Alpaca allows one data connection per key: the process holding the market lease runs the
      // ingester (and the fill listener, one per deployment too); any other market process stands
      // by and takes over when the lease is free (market-lease.ts).
      market = startMarketLease({
        redis: ctx.redis,
        keys: ctx.keys,
        workerId: config.WORKER_ID ?? defaultWorkerId(),
        leaseMs: config.MARKET_LEASE_MS,
        metrics: marketMetrics(ctx.metrics),
        log: marketLog,
        activate: async (tenure) => {
          const ingester = await startMarketIngester(ctx, { token: tenure.token, onFenced: () => tenure.lost('price writes fenced'), log: marketLog });
          // Fills of internal Alpaca accounts arrive on their trade_updates streams: each becomes an
          // event that makes the user's actor sync that account.
          const fills = startAlpacaFillListener({
            db: ctx.db,
            credentials,
            producer: createStreamProducer(ctx.redis, ctx.keys),
            partitionCount: config.PARTITION_COUNT,
            tradingUrl: config.ALPACA_TRADING_URL,
            log: ctx.log.child({ module: 'alpaca-fills' }),
            refreshMs: config.ALPACA_LINK_REFRESH_MS,
            onListening: (userId, accountId) =>
              Promise.all([
                scheduler.scheduleAccountSync(userId, 'alpaca', accountId, 'alpaca-stream-opened'),
                scheduler.scheduleActivitiesSync(userId, 'alpaca', accountId, 'alpaca-stream-opened'),
              ]),
          });
          return {
            async stop(reason) {
              await ingester.stop(reason);
              await fills.stop();
            },
          };
        },
      });
      const lease = market;
      stops.push(['market lease', () => lease.stop()]);
      ctx.log.info({ holder: lease.status().holder }, 'market role started');
    }

    if (config.ROLES.includes('worker')) {
      // Auto-pipelined: what the coalescer and the notifier send around the same time leaves in one write.
      const publisher = createRedisClient(ctx.redisTarget, { name: 'foliostream-realtime-publisher', enableAutoPipelining: true });
      publisher.on('error', (err) => ctx.log.warn({ err }, 'realtime publisher connection error'));
      stops.push(['realtime publisher', async () => publisher.disconnect()]);
      const emitter = createRoomEmitter(publisher, { namespace: ctx.keys.namespace });
      const sequence = createPortfolioSequence(publisher, rtKeys);
      const coalescer = createDeltaCoalescer({
        sender: createDeltaSender(publisher, rtKeys, sequence, emitter),
        windowMs: config.REALTIME_DELTA_WINDOW_MS,
        log: ctx.log,
      });
      stops.push(['delta coalescer', () => coalescer.close()]);
      const collector = createSymbolCollector(ctx.redis, ctx.keys);
      const holders = new TickerHolders();
      const behavior = new UserPortfolioBehavior({
        holders,
        lastPrices: (tickers) => readLastPrices(ctx.redis, ctx.keys, tickers),
        sync: {
          scheduleAccountSync: (userId, provider, accountId, reason) => scheduler.scheduleAccountSync(userId, provider, accountId, reason),
          scheduleUserSync: (userId, reason) => scheduler.scheduleUserSync(userId, reason),
          scheduleActivitiesSync: (userId, provider, accountId, reason) => scheduler.scheduleActivitiesSync(userId, provider, accountId, reason),
        },
        notifier: realtimeNotifier({ coalescer, emitter, collector, redis: ctx.redis, keys: ctx.keys, log: ctx.log, db: ctx.db, sequence }),
        replays: createAdminReplayRunner({ redis: ctx.redis, keys: ctx.keys, partitionCount: config.PARTITION_COUNT }),
      });
      const replayWorker = new ReplayWorker({
        redisTarget: ctx.redisTarget,
        prefix: bullPrefix,
        db: ctx.db,
        producer: createStreamProducer(ctx.redis, ctx.keys),
        partitionCount: config.PARTITION_COUNT,
        log: ctx.log.child({ module: 'replay' }),
        pollMs: 250,
        stallTimeoutMs: config.REPLAY_STALL_TIMEOUT_MS,
      });
      stops.push(['replay worker', () => replayWorker.close()]);
      const maintenance = startStreamMaintenance({
        redis: ctx.redis,
        db: ctx.db,
        keys: ctx.keys,
        partitionCount: config.PARTITION_COUNT,
        snapshotEveryEvents: config.SNAPSHOT_EVERY_EVENTS,
        snapshotEveryMs: config.SNAPSHOT_EVERY_MS,
        retentionMs: config.STREAM_RETENTION_MS,
        intervalMs: config.STREAM_MAINTENANCE_MS,
        log: ctx.log.child({ module: 'stream-maintenance' }),
      });
      stops.push(['stream maintenance', () => maintenance.stop()]);
      const syncWorker = new SyncWorker({
        redisTarget: ctx.redisTarget,
        prefix: bullPrefix,
        namespace: ctx.keys.namespace,
        partitionCount: config.PARTITION_COUNT,
        providers: { snaptrade: new SnapTradeProvider(snaptrade, credentials), alpaca },
        producer: createStreamProducer(ctx.redis, ctx.keys),
        log: ctx.log.child({ module: 'sync' }),
        db: ctx.db,
        snaptrade,
        scheduler,
        requestsPerMinute: Math.floor((config.SNAPTRADE_REQUESTS_PER_MINUTE * 60_000) / config.SNAPTRADE_RATE_WINDOW_MS),
        accountFloorMs: config.SYNC_ACCOUNT_FLOOR_MS,
        backoff: { baseMs: config.SYNC_BACKOFF_BASE_MS, capMs: 5 * 60_000 },
      });
      stops.push(['sync worker', () => syncWorker.close()]);
      // Runs before the close above: jobs waiting for the SnapTrade budget fail (and are
      // retried later) instead of keeping the worker from closing for up to a window.
      stops.push(['SnapTrade budget waits', async () => snaptrade.stopWaiting()]);
      await scheduler.installRepeatingJobs();
      // Prices are followed before the first actor loads, so no tick falls between an actor's
      // load (seeded from the last prices) and the tail.
      const runtimeRef: { current?: WorkerRuntime<UserPortfolioState> } = {};
      const presence = createPresenceView(ctx.redis, ctx.keys.namespace);
      const revaluation = startPriceRevaluation(
        ctx,
        {
          tell: (userId, task) => runtimeRef.current?.tell(userId, task) ?? false,
          activate: (userId) => runtimeRef.current?.activate(userId) ?? Promise.resolve(false),
        },
        holders,
        coalescer,
        // Reads on the coalescing window: a user sent at most one delta per window gets its ticks
        // as one task per window (one totals text, one coalescer push), and the coalescer sends
        // them on its next clock step, so a tick waits at most a window for its read and no more.
        { mode: config.PRICE_REVALUATION_MODE, presence, readIntervalMs: config.REALTIME_DELTA_WINDOW_MS },
      );
      priceRevaluation = revaluation;
      stops.push(['price revaluation', () => revaluation.stop()]);
      // A watched user's actor stays in memory, so live prices keep reaching the open browser.
      worker = await startWorkerRuntime(ctx, { behavior, keepActive: (userId) => presence.isWatched(userId) });
      const runtime = worker;
      runtimeRef.current = runtime;
      stops.push(['actor runtime', () => runtime.stop()]);
      const fx = startFxReload(ctx.db, runtime, coalescer, { pollMs: config.FX_RELOAD_MS, log: ctx.log.child({ module: 'fx' }) });
      fxReload = fx;
      stops.push(['fx reload', async () => fx.stop()]);
      // Value history: intraday points of the watched users here, and the daily-close jobs.
      const intraday = startIntradayRecorder({
        db: ctx.db,
        runtime,
        presence,
        push: (userId, point) => emitter.historyPoint(userId, point),
        everyMs: config.HISTORY_INTRADAY_EVERY_MS,
        log: ctx.log.child({ module: 'history' }),
      });
      stops.push(['intraday history', async () => intraday.stop()]);
      const history = new HistoryJobs({
        redisTarget: ctx.redisTarget,
        prefix: bullPrefix,
        db: ctx.db,
        redis: ctx.redis,
        keys: ctx.keys,
        log: ctx.log.child({ module: 'history' }),
        chunkUsers: config.HISTORY_CHUNK_USERS,
        chunkSpacingMs: config.HISTORY_CHUNK_SPACING_MS,
        intradayRetentionDays: config.HISTORY_INTRADAY_RETENTION_DAYS,
      });
      history.startWorker();
      stops.push(['history worker', () => history.close()]);
      await history.installSchedule(config.HISTORY_DAILY_CLOSE_CRON);
      ctx.log.info({ workerId: worker.workerId }, 'worker role started');
    }

    if (config.ROLES.includes('web')) {
      // QueueEvents blocks (XREAD), so BullMQ runs it on a duplicate of the client given and
      // leaves the given one open: it is closed here after QueueEvents, which closes its own.
      const queueEventsClient = createRedisClient(ctx.redisTarget, { name: 'foliostream-queue-events', maxRetriesPerRequest: null });
      queueEventsClient.on('error', () => undefined);
      const queueEvents = new QueueEvents(SYNC_QUEUE, {
        connection: queueEventsClient,
        prefix: bullPrefix,
      });
      // Every Redis client and BullMQ object has an error listener: without one, ioredis and
      // BullMQ print each error of an outage to stderr as plain text (one line per window here:
      // src/logging/repeat-limiter.ts).
      const syncLog = ctx.log.child({ module: 'sync' });
      queueEvents.on('error', (err) => syncLog.warn({ err }, 'sync queue events error'));
      stops.push([
        'replay queue events',
        async () => {
          await queueEvents.close();
          queueEventsClient.disconnect();
        },
      ]);
      const replays = new ReplayJobs({ redisTarget: ctx.redisTarget, prefix: bullPrefix, db: ctx.db, log: ctx.log.child({ module: 'replay' }) });
      stops.push(['replay queue', () => replays.close()]);
      const orders = new OrderService({
        db: ctx.db,
        producer: createStreamProducer(ctx.redis, ctx.keys),
        partitionCount: config.PARTITION_COUNT,
        brokerages: { alpaca: new AlpacaTrading(alpaca, credentials), snaptrade: new SnapTradeTrading(snaptrade, credentials) },
        leaseMs: config.ORDER_LEASE_MS,
        waitMs: config.ORDER_WAIT_MS,
        log: ctx.log.child({ module: 'orders' }),
        ...(config.ORDER_CRASH_POINT === 'after-brokerage-answer'
          ? { afterBrokerageAnswer: () => process.kill(process.pid, 'SIGKILL') }
          : {}),
      });
      const deletion = {
        db: ctx.db,
        snaptrade,
        credentials,
        producer: createStreamProducer(ctx.redis, ctx.keys),
        partitionCount: config.PARTITION_COUNT,
        waitMs: config.REFRESH_WAIT_MS,
      };
      const webhooks = createWebhookHandler(ctx);
      stops.push(['webhook ingest', () => webhooks.close()]);
      web = await startHttpServer(
        ctx,
        [
          // Before the routers mounted at /api that require a user token for everything under them.
          { path: '/api/auth/dev', router: devSignInRouter({ db: ctx.db, tokens: userTokenSettings(config), enabled: config.AUTH_DEV_SIGN_IN }) },
          { path: '/api/snaptrade', router: snaptradeRouter({ db: ctx.db, verifier, client: snaptrade, credentials, scheduler, queueEvents, refreshWaitMs: config.REFRESH_WAIT_MS, refreshGate: createRefreshGate(ctx.redis, ctx.keys.namespace, config.REFRESH_COOLDOWN_MS) }) },
          { path: '/api/alpaca', router: alpacaRouter({ db: ctx.db, verifier, alpaca, credentials, scheduler }) },
          { path: '/api', router: userRouter({ ...deletion, verifier }) },
          { path: '/api/me', router: settingsRouter({ db: ctx.db, producer: deletion.producer, partitionCount: config.PARTITION_COUNT, waitMs: config.REFRESH_WAIT_MS, verifier }) },
          { path: '/api/admin', router: adminUserRouter({ ...deletion, adminToken: config.ADMIN_TOKEN }) },
          { path: '/api/admin', router: adminReplayRouter({ replays, adminToken: config.ADMIN_TOKEN }) },
          { path: '/api/admin', router: adminStreamRouter({ redis: ctx.redis, keys: ctx.keys, partitionCount: config.PARTITION_COUNT, adminToken: config.ADMIN_TOKEN, log: ctx.log, metrics: ctx.metrics }) },
          { path: '/api/admin', router: adminSessionRouter({ adminToken: config.ADMIN_TOKEN }) },
          { path: ADMIN_SESSION_PATH, router: queueBoardRouter({ adminToken: config.ADMIN_TOKEN, queues: [scheduler.queue, replays.queue] }) },
          { path: '/api', router: portfolioRouter({ db: ctx.db, redis: ctx.redis, keys: ctx.keys, verifier }) },
          { path: '/api/orders', router: orderRouter({ db: ctx.db, verifier, orders }) },
          { path: '/api/activities', router: activityRouter({ db: ctx.db, verifier }) },
          { path: '/api/securities', router: securityRouter({ verifier, orders }) },
          {
            path: '/',
            router: dashboardRouter({ trading: true, signIn: { dev: config.AUTH_DEV_SIGN_IN, providerUrl: config.AUTH_SIGN_IN_URL } }),
          },
        ],
        { fastRoutes: [{ method: 'POST', path: '/api/snaptrade/webhook', handler: webhooks }], readiness },
      );
      const server = web;
      const presenceTracker = createPresenceTracker(ctx.redis, ctx.keys.namespace);
      stops.push(['presence tracker', () => presenceTracker.close()]);
      let gateway: RealtimeGateway | undefined;
      try {
        gateway = await attachRealtimeGateway(server.server, {
          verifier,
          redisTarget: ctx.redisTarget,
          snapshot: async (userId) => (await readPortfolio(ctx.db, ctx.redis, ctx.keys, userId)).snapshot,
          log: ctx.log.child({ module: 'realtime' }),
          metrics: ctx.metrics,
          corsOrigin: config.REALTIME_CORS_ORIGIN,
          namespace: ctx.keys.namespace,
          onSocket: {
            // Presence goes to the watched set only, never to the durable partition stream: the
            // worker owning the user's partition polls the set and activates the actor (with the
            // last prices), which then stays active while watched. A reconnect loop leaves nothing.
            connected: (userId) => presenceTracker.connected(userId),
            disconnected: (userId) => presenceTracker.disconnected(userId),
          },
        });
      } catch (err) {
        await server.close();
        throw err;
      }
      const rt = gateway;
      // The gateway closes first (its sockets ride on the HTTP server), then the server.
      stops.push(['HTTP server', () => server.close()]);
      stops.push(['realtime gateway', () => rt.close()]);
      ctx.log.info({ url: web.url }, 'web role listening');
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { web, metrics, worker, priceRevaluation, fxReload, market, scheduler, stop: stopAll };
}
