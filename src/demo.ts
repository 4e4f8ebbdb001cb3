import { issueUserToken, userTokenSettings } from './auth/user-tokens.ts';
import { loadConfigOrExit, type Config } from './config/config.ts';
import { startFoliostream } from './app/foliostream.ts';
import { createLogger } from './logging/logger.ts';
import { formatMoney } from './portfolio/decimal.ts';
import { installShutdownHandlers } from './runtime/shutdown.ts';
import { startEmbeddedSandbox } from './app/embedded-sandbox.ts';

/**
 * `npm run demo`: the whole product on the brokerage sandbox, in one process, with no
 * configuration. It starts the sandbox (SnapTrade and Alpaca), Redis and Postgres when none are
 * configured, every role of the engine, then connects a demo user to two brokerages and an
 * internal Alpaca account through the real APIs, and prints where to look.
 */
const DEMO_USER = 'demo-user';
const log = createLogger('demo');

async function api(base: string, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// The sign-in page lists the sandbox's users and signs them in without a password.
let config: Config = loadConfigOrExit(1, {
  ...process.env,
  NODE_ENV: process.env.NODE_ENV ?? 'development',
  AUTH_DEV_SIGN_IN: process.env.AUTH_DEV_SIGN_IN ?? 'true',
});
if (config.NODE_ENV === 'production') {
  console.error('npm run demo runs against the brokerage sandbox; it refuses NODE_ENV=production.');
  process.exit(1);
}

const embedded = await startEmbeddedSandbox(config, log);
const sandbox = embedded.sandbox;
config = embedded.config;
let app;
try {
  app = await startFoliostream(config, log);
} catch (err) {
  await sandbox.close();
  throw err;
}
const running = app;
const stopAll = async () => {
  await running.stop();
  await sandbox.close();
};
installShutdownHandlers(stopAll, log);

// A failure while setting up the demo user stops what was started (Redis and Postgres included)
// instead of leaving it running behind an exited process.
try {
  const base = app.url!;
  await sandbox.control.configureWebhooks({ url: `${base}/api/snaptrade/webhook` });

  // Carries AUTH_ISSUER/AUTH_AUDIENCE when they are set; a day, or the longest lifetime accepted.
  const token = await issueUserToken(userTokenSettings(config), DEMO_USER, Math.min(24 * 3600, config.AUTH_MAX_TOKEN_LIFETIME_SECONDS));
  // A fresh demo user each run, deleted the way a person deletes their account: the sandbox forgot
  // last run's users when it stopped, so nothing of them would work anyway.
  if (await app.ctx.db('users').where({ id: DEMO_USER }).first('id')) {
    await api(base, token, 'DELETE', '/api/me');
  }

  // 1. Register with SnapTrade and get a connection portal URL, as a browser client would.
  await api(base, token, 'POST', '/api/snaptrade/connection-url', {});
  // 2. Two brokerages holding some of the same securities (the sandbox sends the webhooks).
  await sandbox.control.connect(DEMO_USER, {
    brokerage: 'QUESTRADE',
    // A trading connection: the dashboard's trade ticket can route orders to it.
    type: 'trade',
    accounts: [
      { name: 'TFSA', currency: 'CAD', cash: { CAD: 2500 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }, { symbol: 'SHOP.TO', units: 20 }, { symbol: 'RY.TO', units: 15 }] },
      { name: 'Margin', currency: 'USD', cash: { USD: 1200 }, positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }, { symbol: 'SPY', units: 5 }] },
    ],
  });
  await sandbox.control.connect(DEMO_USER, {
    brokerage: 'ROBINHOOD',
    accounts: [{ name: 'Individual', currency: 'USD', cash: { USD: 800 }, positions: [{ symbol: 'AAPL', units: 4, averageCost: 170 }, { symbol: 'NVDA', units: 12 }] }],
  });
  // 3. An internal Alpaca account, linked through the API with its own keys.
  const alpacaAccount = sandbox.alpaca.createAccount({ cash: 25_000 });
  sandbox.alpaca.setPositions(alpacaAccount.keyId, [
    { symbol: 'AAPL', qty: 6, avgEntryPrice: 180 },
    { symbol: 'GOOGL', qty: 9 },
  ]);
  await api(base, token, 'POST', '/api/alpaca/accounts', { keyId: alpacaAccount.keyId, secretKey: alpacaAccount.secretKey });

  // Wait until the holdings of all three have been synced and aggregated.
  const deadline = Date.now() + 60_000;
  let portfolio:
    | { baseCurrency?: string; holdings: { symbol: string; quantity: string; accounts: unknown[] }[]; totals: { totalValue: string | null } }
    | undefined;
  while (Date.now() < deadline) {
    portfolio = (await api(base, token, 'GET', '/api/portfolio')) as typeof portfolio;
    const aapl = portfolio?.holdings.find((h) => h.symbol === 'AAPL');
    if (aapl && aapl.accounts.length === 3) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  // 4. An order through the trading API the ticket uses: routing picks the account that holds MSFT.
  let order: { status?: string; routing?: { reason: string } | null } = {};
  try {
    order = (await api(base, token, 'POST', '/api/orders', { symbol: 'MSFT', side: 'buy', quantity: '1', type: 'market' }, {
      'idempotency-key': `demo-${Date.now()}`,
    })) as typeof order;
  } catch (err) {
    log.warn({ err }, 'the demo order was not placed');
  }

  const line = '-'.repeat(78);
  // Money as people read it: the API's exact decimal, rounded to cents, with separators.
  const total = portfolio?.totals.totalValue;
  const totalValue = total ? formatMoney(total, portfolio?.baseCurrency ?? 'USD') : 'n/a';
  console.log(`
${line}
 foliostream demo is running (Ctrl-C to stop)

 Dashboard (live prices):  ${base}/signin   (pick "${DEMO_USER}", or type a new user id)
 Portfolio API:            a token: curl -X POST -H 'content-type: application/json' \\
                             -d '{"userId":"${DEMO_USER}"}' ${base}/api/auth/dev/sign-in
                           then: curl -H "Authorization: Bearer <token>" ${base}/api/portfolio
 Metrics / readiness:      ${base}/metrics   ${base}/readyz

 Demo user "${DEMO_USER}" holds ${portfolio?.holdings.length ?? 0} securities across Questrade, Robinhood and Alpaca;
 total value ${totalValue}. AAPL is held in all three.
 Trade ticket: on the dashboard (Trade, Orders). A first order, 1 MSFT: ${order.status ?? 'not placed'}
   (routing: ${order.routing?.reason ?? 'n/a'}).

 Connect another brokerage: "Connect a brokerage" on the dashboard opens the sandbox portal.
 Script the sandbox:       ${sandbox.snaptradeUrl}/__sandbox  (see README, "Brokerage sandbox")
 SnapTrade keys in use:    clientId=${config.SNAPTRADE_CLIENT_ID}  (SNAPTRADE_CLIENT_ID, SNAPTRADE_CONSUMER_KEY)
${line}
`);
} catch (err) {
  log.error({ err }, 'the demo could not set up its user; stopping');
  await stopAll().catch(() => undefined);
  process.exit(1);
}
