import { z } from 'zod';

/**
 * Every environment variable foliostream reads, declared once with its meaning and default.
 * The README's configuration table is generated from this list (`npm run docs:config`), and a
 * test checks that the two agree.
 *
 * `devDefault` applies only outside production (NODE_ENV !== 'production'): it is what makes
 * `npm run demo` work with no configuration. In production a variable without `default` and
 * marked `required` must be set.
 */
export interface VariableSpec<T extends z.ZodType = z.ZodType> {
  schema: T;
  description: string;
  /** Default in every environment. */
  default?: string;
  /** Default outside production only (sandbox credentials, development secrets). */
  devDefault?: string;
  /** Must be set in production (when it has no `default`). */
  requiredInProduction?: boolean;
  /** Never printed (README shows no default value; logs redact it). */
  secret?: boolean;
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const url = z.url({ message: 'must be a URL' });
const boolFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** 32 bytes, given as 64 hex characters or as base64; undefined for anything else. */
function decodeEncryptionKey(value: string): Buffer | undefined {
  const trimmed = value.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

const KEY_FORMAT = '32 bytes as 64 hex characters or base64 (try: openssl rand -hex 32)';

const encryptionKey = z.string().transform((value, ctx) => {
  const bytes = decodeEncryptionKey(value);
  if (!bytes) {
    ctx.addIssue({ code: 'custom', message: `must be ${KEY_FORMAT}` });
    return z.NEVER;
  }
  return bytes;
});

/** A key version: the number written in front of every value the key seals (`v<n>.`). */
const keyVersion = z.coerce
  .number({ message: 'must be a whole number from 1 to 9999' })
  .int('must be a whole number from 1 to 9999')
  .min(1, 'must be a whole number from 1 to 9999')
  .max(9999, 'must be a whole number from 1 to 9999');

/**
 * Older keys, comma-separated `<version>:<key>`. Messages name the entry by position and version,
 * never by its value.
 */
const previousEncryptionKeys = z.string().transform((value, ctx) => {
  const keys: { version: number; key: Buffer }[] = [];
  const entries = value.split(',').map((e) => e.trim()).filter(Boolean);
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const match = /^([^:]*):(.*)$/.exec(entry);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `${where} must be <version>:<key> (e.g. 1:<the old ENCRYPTION_KEY>)` });
      return;
    }
    const version = /^\s*\d{1,4}\s*$/.test(match[1]!) ? Number(match[1]) : 0;
    if (version < 1) {
      ctx.addIssue({ code: 'custom', message: `${where}: the version before ':' must be a whole number from 1 to 9999` });
      return;
    }
    const key = decodeEncryptionKey(match[2]!);
    if (!key) {
      ctx.addIssue({ code: 'custom', message: `${where} (version ${version}): the key must be ${KEY_FORMAT}` });
      return;
    }
    const same = keys.find((k) => k.version === version);
    if (same) {
      ctx.addIssue({ code: 'custom', message: `${where}: version ${version} appears twice (each key needs its own version)` });
      return;
    }
    const twin = keys.find((k) => k.key.equals(key));
    if (twin) {
      ctx.addIssue({ code: 'custom', message: `${where} (version ${version}): the same key as version ${twin.version}` });
      return;
    }
    keys.push({ version: version, key });
  });
  if (entries.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one <version>:<key>' });
  }
  return keys;
});

export const DEV_ENCRYPTION_KEY = 'ZGV2ZWxvcG1lbnQtb25seS1rZXktZm9saW9zdHJlYW0='; // "development-only-key-foliostream"
export const SANDBOX_CLIENT_ID = 'FOLIOSTREAM-SANDBOX';
export const SANDBOX_CONSUMER_KEY = 'sandbox-consumer-key-not-a-secret';
export const SANDBOX_ALPACA_KEY_ID = 'SANDBOXKEYID';
export const SANDBOX_ALPACA_SECRET = 'sandbox-alpaca-secret-not-a-secret';

export const variables = {
  NODE_ENV: {
    schema: z.enum(['development', 'production', 'test']),
    default: 'development',
    description: 'Runtime mode. `production` removes every development default and requires real secrets.',
  },
  LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    description: 'pino log level.',
  },
  HOST: {
    schema: z.string().min(1),
    default: '127.0.0.1',
    description: 'Interface the HTTP server binds to (use 0.0.0.0 in a container).',
  },
  PORT: {
    schema: port,
    default: '3000',
    description: 'HTTP port for the API, webhooks, socket.io and (unless `METRICS_PORT` is set) metrics.',
  },
  METRICS_PORT: {
    schema: port,
    description:
      'Serve `GET /metrics` on this port instead of the public one, on `METRICS_HOST`, in every role (worker and market processes included), with `/healthz` and `/readyz` beside it (the probes of a process without the web role). Production needs this or `METRICS_TOKEN`.',
  },
  METRICS_HOST: {
    schema: z.string().min(1),
    default: '127.0.0.1',
    description: 'Interface the metrics server of `METRICS_PORT` binds to (a private one; `0.0.0.0` only behind a network policy).',
  },
  METRICS_TOKEN: {
    schema: z.string().min(16, 'must be at least 16 characters'),
    secret: true,
    description:
      'Bearer token `GET /metrics` requires (on the public port, and on `METRICS_PORT` when both are set). Unset outside production: metrics are public on `PORT`.',
  },
  ROLES: {
    schema: z
      .string()
      .transform((v) => v.split(',').map((r) => r.trim()).filter(Boolean))
      .pipe(z.array(z.enum(['web', 'worker', 'market'])).min(1, 'must name at least one role')),
    default: 'web,worker,market',
    description: 'Roles `npm start` runs in this process: any of `web`, `worker`, `market`.',
  },
  DATABASE_URL: {
    schema: url,
    requiredInProduction: true,
    description:
      'Postgres connection string. Unset outside production: a local Postgres is started under `.foliostream/`.',
  },
  REDIS_URL: {
    schema: url,
    requiredInProduction: true,
    description:
      'Redis connection string (AOF persistence recommended). Unset outside production: a local `redis-server` is started.',
  },
  REDIS_CLUSTER: {
    schema: boolFlag,
    default: 'false',
    description:
      'Whether `REDIS_URL` names one node of a Redis Cluster (the others are discovered from it). Every multi-key command stays in one hash slot (docs/KEYS.md); socket.io then uses the sharded adapter (Redis 7 `SSUBSCRIBE`).',
  },
  REDIS_NODES: {
    schema: z
      .string()
      .transform((value) => value.split(',').map((node) => node.trim()).filter((node) => node !== ''))
      .pipe(z.array(z.string().regex(/^(rediss?:\/\/)?[^\s,:/]+:\d+\/?$/, 'must be host:port or redis://host:port, comma-separated')).min(1, 'must list at least one node')),
    description:
      'Redis Cluster nodes to discover the cluster from, comma-separated (`host:port` or `redis://host:port`). Set: the engine runs on a cluster (as with `REDIS_CLUSTER=true`) and `REDIS_URL` may be left unset.',
  },
  LOCAL_SERVICES_DIR: {
    schema: z.string().min(1),
    default: '.foliostream',
    description: 'Folder for the data of locally started Redis and Postgres (demo and tests).',
  },
  SNAPTRADE_CLIENT_ID: {
    schema: z.string().min(1),
    devDefault: SANDBOX_CLIENT_ID,
    requiredInProduction: true,
    description: 'SnapTrade client id.',
  },
  SNAPTRADE_CONSUMER_KEY: {
    schema: z.string().min(8, 'must be at least 8 characters'),
    devDefault: SANDBOX_CONSUMER_KEY,
    requiredInProduction: true,
    secret: true,
    description: 'SnapTrade consumer key: signs API requests and verifies webhook signatures.',
  },
  SNAPTRADE_PREVIOUS_CONSUMER_KEY: {
    schema: z.string().min(8, 'must be at least 8 characters'),
    secret: true,
    description: 'The previous consumer key, still accepted for webhook signatures during a key rotation.',
  },
  SNAPTRADE_BASE_URL: {
    schema: url,
    devDefault: 'http://127.0.0.1:4010',
    requiredInProduction: true,
    description: 'SnapTrade API base URL, no trailing slash. Defaults to the local sandbox.',
  },
  ALPACA_KEY_ID: {
    schema: z.string().min(1),
    devDefault: SANDBOX_ALPACA_KEY_ID,
    requiredInProduction: true,
    description: 'Alpaca API key id (market data, and the broker account of internal users).',
  },
  ALPACA_SECRET_KEY: {
    schema: z.string().min(1),
    devDefault: SANDBOX_ALPACA_SECRET,
    requiredInProduction: true,
    secret: true,
    description: 'Alpaca API secret key.',
  },
  ALPACA_TRADING_URL: {
    schema: url,
    devDefault: 'http://127.0.0.1:4020',
    requiredInProduction: true,
    description: 'Alpaca trading REST base URL (paper or live). Defaults to the local sandbox.',
  },
  ALPACA_DATA_URL: {
    schema: url,
    devDefault: 'http://127.0.0.1:4020',
    requiredInProduction: true,
    description: 'Alpaca market-data REST base URL. Defaults to the local sandbox.',
  },
  ALPACA_STREAM_URL: {
    schema: url,
    devDefault: 'ws://127.0.0.1:4020',
    requiredInProduction: true,
    description: 'Alpaca market-data WebSocket base URL, without the feed path (`wss://stream.data.alpaca.markets`).',
  },
  ALPACA_FEED: {
    schema: z.enum(['iex', 'sip', 'test']),
    default: 'iex',
    description: 'Alpaca market-data feed: `/v2/<feed>` is appended to `ALPACA_STREAM_URL`.',
  },
  AUTH_SECRET: {
    schema: z.string().min(32, 'must be at least 32 characters (HS256 key)'),
    devDefault: 'development-only-auth-secret-change-me-0123456789',
    secret: true,
    description: 'HS256 secret for user tokens. Production needs this or `AUTH_JWKS_URL`.',
  },
  AUTH_JWKS_URL: {
    schema: url,
    description: 'JWKS URL of the identity provider that signs user tokens (instead of `AUTH_SECRET`).',
  },
  AUTH_ISSUER: {
    schema: z.string().min(1),
    description:
      'Issuer a user token must carry exactly as `iss`. Unset: not checked. Required in production with `AUTH_JWKS_URL`. Tokens foliostream issues itself (demo, tests) carry it.',
  },
  AUTH_AUDIENCE: {
    schema: z.string().min(1),
    description:
      'Audience a user token\'s `aud` must be or include. Unset: not checked. Required in production with `AUTH_JWKS_URL`. Tokens foliostream issues itself carry it.',
  },
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: {
    schema: positiveInt,
    default: '86400',
    description:
      'Longest lifetime (`exp - iat`) of a user token accepted; a token without `iat`, or issued in the future, is refused.',
  },
  AUTH_DEV_SIGN_IN: {
    schema: boolFlag,
    default: 'false',
    description:
      'Development sign-in: `/signin` lists the users the engine knows and signs anyone in by user id, no password (`POST /api/auth/dev/sign-in`). For the demo (`npm run demo` turns it on) and the sandbox; refused in production and with `AUTH_JWKS_URL`.',
  },
  AUTH_SIGN_IN_URL: {
    schema: url,
    description:
      "The identity provider's sign-in page, linked from `/signin`. After signing in it must send the browser to `<this server>/auth/callback#token=<user JWT>`: the page keeps the token for the tab and removes it from the address bar at once.",
  },
  ADMIN_TOKEN: {
    schema: z.string().min(16, 'must be at least 16 characters'),
    devDefault: 'development-admin-token',
    requiredInProduction: true,
    secret: true,
    description: 'Bearer token for the admin API (replay, diff).',
  },
  ENCRYPTION_KEY: {
    schema: encryptionKey,
    devDefault: DEV_ENCRYPTION_KEY,
    requiredInProduction: true,
    secret: true,
    description:
      'AES-256-GCM key for stored brokerage secrets: 32 bytes as hex or base64 (`openssl rand -hex 32`). The newest key: it seals every secret stored from now on. See "Rotating ENCRYPTION_KEY".',
  },
  ENCRYPTION_KEY_VERSION: {
    schema: keyVersion,
    default: '1',
    description:
      'Version of `ENCRYPTION_KEY` (1 to 9999), written at the front of every value it seals (`v<version>.`) so the right key opens it. Give each new key the next version. Secrets stored before key versions existed are version 1.',
  },
  ENCRYPTION_KEYS_PREVIOUS: {
    schema: previousEncryptionKeys,
    secret: true,
    description:
      'Older encryption keys that still open stored secrets but never seal: comma-separated `<version>:<key>` (e.g. `1:<the old ENCRYPTION_KEY>`), each version and key once and none the same as `ENCRYPTION_KEY_VERSION`. Remove a key once `npm run secrets:reseal` has moved every secret off it.',
  },
  PARTITION_COUNT: {
    schema: positiveInt.max(4096),
    default: '16',
    description: 'Number of user partitions (stream keys). Fixed for the life of a deployment.',
  },
  WEBHOOK_MAX_AGE_SECONDS: {
    schema: positiveInt,
    default: '21600',
    description:
      'Oldest `eventTimestamp` accepted. SnapTrade retries 30 minutes and more later; 6 hours covers its 3 retries.',
  },
  WEBHOOK_MIN_REPLICAS: {
    schema: z.coerce.number().int().min(0).max(16),
    default: '0',
    description:
      'Replicas that must hold a webhook before it is answered 200 (Redis `WAIT`); fewer within `WEBHOOK_REPLICA_TIMEOUT_MS` answers 503 and SnapTrade retries. 0 answers once the primary has it: a failover before the replica copied it can lose it. See Operations, "Webhook durability".',
  },
  WEBHOOK_REPLICA_TIMEOUT_MS: {
    schema: positiveInt,
    default: '1000',
    description: 'How long a webhook waits for `WEBHOOK_MIN_REPLICAS` replicas before it is answered 503.',
  },
  WEBHOOK_MAX_BYTES: {
    schema: positiveInt,
    default: '262144',
    description: 'Largest webhook body accepted, in bytes.',
  },
  SNAPTRADE_REQUESTS_PER_MINUTE: {
    schema: positiveInt,
    default: '250',
    description:
      'SnapTrade request budget shared by all workers, per rolling window of `SNAPTRADE_RATE_WINDOW_MS` (a minute, as SnapTrade counts it).',
  },
  SNAPTRADE_RATE_WINDOW_MS: {
    schema: positiveInt,
    default: '60000',
    description:
      'Length of the rolling window SnapTrade counts the budget over. The engine counts each request from its grant until one window after its answer, so network and scheduling delays never push SnapTrade\'s count past the limit. Only tests and sandboxes change it.',
  },
  SNAPTRADE_USER_SHARE: {
    schema: z.coerce.number().gt(0).max(1),
    default: '0.25',
    description:
      'Largest fraction of the SnapTrade budget one user may take within a window (fair share): a user past it waits, everyone else goes on. 1 turns the share off.',
  },
  SYNC_DEBOUNCE_MS: {
    schema: z.coerce.number().int().min(0),
    default: '2000',
    description: 'Debounce window for account syncs: webhooks within it make one sync.',
  },
  WORKER_ID: {
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 letters, digits, dot, dash or underscore'),
    description:
      'Name of this worker in the partition membership and its Redis consumer name. Unset: `<hostname>-<pid>-<random>`.',
  },
  LEASE_TTL_MS: {
    schema: z.coerce.number().int().min(200).max(600_000),
    default: '10000',
    description:
      'Partition lease and worker heartbeat lifetime. A dead worker\'s partitions are taken over after it; renewals run every third of it.',
  },
  MAX_ACTIVE_ACTORS: {
    schema: positiveInt,
    default: '20000',
    description: 'Most user actors held in memory per worker; the least recently used idle one is passivated first.',
  },
  ACTOR_IDLE_MS: {
    schema: positiveInt,
    default: '60000',
    description: 'An actor with no event for this long is passivated (its state dropped from memory).',
  },
  ACTOR_MAX_BATCH: {
    schema: positiveInt.max(10_000),
    default: '200',
    description: 'Most queued events of one user applied in one Postgres transaction.',
  },
  PARTITION_MAX_IN_FLIGHT: {
    schema: positiveInt.max(100_000),
    default: '2000',
    description:
      'Most events of one partition read but not yet committed and acked: bounds memory and how far a slow user holds up its partition.',
  },
  MAX_DELIVERIES: {
    schema: positiveInt.max(1000),
    default: '5',
    description: 'Attempts at an event whose handler keeps failing before it moves to the dead-letter stream.',
  },
  SNAPSHOT_EVERY_EVENTS: {
    schema: positiveInt.max(1_000_000),
    default: '500',
    description: "A user gets a `snapshot` event (their whole projection, folded from the stream) once this many of their events follow their last one.",
  },
  SNAPSHOT_EVERY_MS: {
    schema: positiveInt,
    default: '3600000',
    description: 'A user with any event after their last snapshot gets a new one when that snapshot is older than this.',
  },
  STREAM_RETENTION_MS: {
    schema: positiveInt,
    default: '604800000',
    description:
      'Partition stream entries younger than this are never trimmed. Older ones are cut (XTRIM MINID) once every user with entries below the cut has a newer snapshot that covers them and the actors applied them; an idle user gets a fresh snapshot so they cannot hold the stream.',
  },
  STREAM_MAINTENANCE_MS: {
    schema: positiveInt,
    default: '60000',
    description: 'How often a worker writes due snapshots and trims the partition streams it owns.',
  },
  REPLAY_STALL_TIMEOUT_MS: {
    schema: positiveInt,
    default: '120000',
    description: 'A replay job fails when no user report arrives for this long (no worker owns some partition); restarted, it resumes.',
  },
  REPLAY_THREADS: {
    schema: positiveInt.max(64),
    default: '2',
    description:
      'Worker threads that fold the partition streams in a dry run of 5,000 users or more (`npm run replay -- --dry-run`; `--threads` overrides it and applies to any run); each has its own Redis connection. 1 still moves the fold off the thread that reads Postgres.',
  },
  PRICE_SHARDS: {
    schema: positiveInt.max(1024),
    default: '8',
    description:
      'Number of price-tick streams; a security always lands on the same one. Fixed for the life of a deployment (readers tail them all).',
  },
  PRICE_STREAM_MAXLEN: {
    schema: positiveInt,
    default: '100000',
    description: 'Approximate length each price-tick stream is trimmed to (`XADD MAXLEN ~`). Last prices are kept apart, untrimmed.',
  },
  MARKET_REST_CHUNK_SIZE: {
    schema: positiveInt.max(1000),
    default: '100',
    description:
      'Symbols per Alpaca REST request when the market role refetches latest trades (after a (re)connect) and previous closes (snapshots, at start and at each session open).',
  },
  HISTORY_DAILY_CLOSE_CRON: {
    schema: z.string().regex(/^\S+( \S+){4}$/, 'a five-field cron pattern'),
    default: '30 21 * * 1-5',
    description: "When the daily-close job runs (cron, UTC): each user's value for the New York market day, in `portfolio_daily_closes`.",
  },
  HISTORY_INTRADAY_EVERY_MS: {
    schema: z.coerce.number().int().min(1_000).max(3_600_000),
    default: '60000',
    description: "How often each worker writes an intraday value point for every watched user whose actor it runs (and pushes it as `portfolio:history`).",
  },
  HISTORY_INTRADAY_RETENTION_DAYS: {
    schema: z.coerce.number().int().min(1).max(90),
    default: '8',
    description: 'Intraday value points are kept this many days (thinned to one per 15 minutes after the first day) by the daily-close job.',
  },
  HISTORY_CHUNK_USERS: {
    schema: positiveInt.max(10_000),
    default: '200',
    description: 'Users valued per daily-close chunk job.',
  },
  HISTORY_CHUNK_SPACING_MS: {
    schema: z.coerce.number().int().min(0).max(600_000),
    default: '2000',
    description: 'Delay between consecutive daily-close chunk jobs, so the day\'s valuations spread over time (10,000 users: 50 chunks over 100 s).',
  },
  MARKET_RECONNECT_MAX_MS: {
    schema: z.coerce.number().int().min(100).max(600_000),
    default: '30000',
    description:
      'Longest wait between market-data stream reconnect attempts (backoff doubles from 1 s up to it, jittered; attempts never stop).',
  },
  MARKET_LEASE_MS: {
    schema: z.coerce.number().int().min(200).max(600_000),
    default: '10000',
    description:
      'Lease of the active `market` process (the one Alpaca data connection), renewed every third of it. A standby `market` process takes over within about this long after the active one dies (at once after a graceful stop), and backfills the latest prices over REST.',
  },
  MARKET_STALE_AFTER_MS: {
    schema: positiveInt,
    default: '60000',
    description: 'A subscribed security with no tick for this long counts as stale in the `foliostream_market_stale_symbols` gauge.',
  },
  REALTIME_DELTA_WINDOW_MS: {
    schema: z.coerce.number().int().min(0).max(10_000),
    default: '100',
    description:
      'Coalescing window of live portfolio pushes: at most one `portfolio:delta` per user per window (a change after a quiet window leaves at once; later ones wait for the window and go out together). Workers read the price streams once per window, so a read batch folds a window of ticks into one task per user.',
  },
  FX_RELOAD_MS: {
    schema: positiveInt,
    default: '30000',
    description:
      'How often each worker checks for newly stored exchange rates (the hourly FX job): on new rates, every portfolio in memory is revalued and open browsers get the new figures, without a restart.',
  },
  PRICE_REVALUATION_MODE: {
    schema: z.enum(['incremental', 'naive']),
    default: 'incremental',
    description:
      'How the worker revalues a portfolio on a price tick: `incremental` (one holding and the totals\' difference, exact) or `naive` (the whole portfolio recomputed on every tick: the baseline of `npm run bench:ticks`, not for production).',
  },
  REALTIME_CORS_ORIGIN: {
    schema: z
      .string()
      .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
      .pipe(z.array(z.url({ message: 'must be a comma-separated list of origins' })).min(1)),
    description:
      'Origins (comma-separated) allowed to open socket.io long-polling connections cross-origin. Unset: same origin only.',
  },
  SYNC_ACCOUNT_FLOOR_MS: {
    schema: z.coerce.number().int().min(0),
    default: '5000',
    description:
      'Minimum time between two fetches of one account; a sync asked for sooner is delayed to the end of it, and syncs asked for while one waits join it.',
  },
  SYNC_BACKOFF_BASE_MS: {
    schema: positiveInt,
    default: '1000',
    description:
      'Base of the jittered exponential backoff between attempts of a failed sync job: retry n waits a random time in [base, min(5 min, base x 2^(n-1))].',
  },
  REFRESH_WAIT_MS: {
    schema: z.coerce.number().int().positive(),
    default: '20000',
    description:
      'Longest `POST /api/snaptrade/refresh` waits for its sync to be fetched and applied; also how long `DELETE /api/me` and `PUT /api/me/settings` wait for their event to be applied (then 202).',
  },
  REFRESH_COOLDOWN_MS: {
    schema: z.coerce.number().int().min(0),
    default: '60000',
    description:
      'Shortest time between two refreshes one user starts (connection refreshes are billed). A refresh asked for while one runs joins it; one asked for sooner after it answers 429 with `Retry-After`.',
  },
  ALPACA_LINK_REFRESH_MS: {
    schema: z.coerce.number().int().positive(),
    default: '15000',
    description: 'How often the market role re-reads linked Alpaca accounts to open (or close) their trade-update streams.',
  },
  ORDER_LEASE_MS: {
    schema: z.coerce.number().int().min(500),
    default: '10000',
    description:
      'Lease of a request placing an order on its Idempotency-Key, renewed every third of it while the request runs. A web node that dies mid-placement loses it after this long; the next request with the key then looks the order up at the brokerage before placing.',
  },
  ORDER_WAIT_MS: {
    schema: z.coerce.number().int().positive(),
    default: '15000',
    description:
      'Longest an order request waits for its event to be applied (then it answers with the brokerage\'s answer), and a request whose key another request holds waits for that one (then 409 `FS_ORDER_IN_PROGRESS`).',
  },
  ORDER_CRASH_POINT: {
    schema: z.enum(['none', 'after-brokerage-answer']),
    default: 'none',
    description:
      'Testing only (refused in production): `after-brokerage-answer` kills the process (SIGKILL) right after the brokerage accepted an order and before anything is written, to prove recovery.',
  },
  MIGRATE_ON_START: {
    schema: boolFlag,
    default: 'true',
    description:
      'Bring the database schema up to date at start-up (processes starting together take turns). Set false where a release step migrates once per deploy (the Procfile\'s `release`, the compose `migrate` service): a process then refuses to start while migrations are pending.',
  },
  START_SANDBOX: {
    schema: boolFlag,
    default: 'false',
    description: 'Run the brokerage sandbox inside this process (the demo sets it).',
  },
} satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof variables;
