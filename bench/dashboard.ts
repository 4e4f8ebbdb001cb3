/**
 * `npm run bench:dashboard`: the dashboard's bundle size and its time to first render.
 *
 * - Bundle: `buildDashboardBundle()`, the bytes (raw, and gzipped as the server sends them to a
 *   browser that accepts it) of what every page loads first (`dashboard.js` and the chunks it
 *   imports statically) and of what the dashboard loads when it mounts the value chart; what each
 *   package takes (the build's metafile).
 * - First render: the whole engine (`startFoliostream`, every role) on throwaway Redis and
 *   Postgres (or REDIS_URL / DATABASE_URL) against the brokerage sandbox as the demo runs it, with a user the size of
 *   `npm run demo`'s (Questrade TFSA + Margin, Robinhood, an Alpaca account: 7 holdings, AAPL in
 *   3 of the 4 accounts), synced. Headless Chromium (`launchChromium`, the tests' flags) opens the
 *   dashboard BENCH_RUNS (10) times, each in a new context (an empty cache), and records from the
 *   navigation's start: DOMContentLoaded, first contentful paint, the totals drawn (the first
 *   snapshot over the socket), the allocation drawn, and the value chart drawn (after the
 *   history API's answer). Baseline in the same run: the sign-in page (the same bundle, no socket,
 *   no API), so the difference is the dashboard's own work. p50 and max.
 *
 * BENCH_WRITE=0 to skip updating docs/BENCHMARKS.md.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { freshDatabase, startBenchServices, writeBenchmarkSection } from './lib/bench-support.ts';
import { launchChromium, newContext } from '../test/support/browser.ts';
import { startFoliostream, type Foliostream } from '../src/app/foliostream.ts';
import { issueUserToken, userTokenSettings } from '../src/auth/user-tokens.ts';
import { loadConfig } from '../src/config/config.ts';
import { setRootLogger } from '../src/logging/logger.ts';
import { buildDashboardBundle } from '../src/realtime/dashboard/dashboard-bundle.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { startEmbeddedSandbox } from '../src/app/embedded-sandbox.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';
const USER = 'bench-dashboard-user';

setRootLogger(pino({ level: process.env.LOG_LEVEL ?? 'warn' }));
const log = pino({ level: 'warn' });

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

interface FileSize {
  name: string;
  raw: number;
  /** As sent to a browser that accepts gzip. */
  gzip: number;
}

interface BundleReport {
  /** dashboard.js and the chunks it imports statically: what every page loads before it runs. */
  first: FileSize[];
  /** Chunks loaded when needed (the value chart). */
  later: FileSize[];
  /** Raw bytes by package over every file (`ours`: this repository's code). */
  byPackage: [string, number][];
}

async function measureBundle(): Promise<BundleReport> {
  const bundle = await buildDashboardBundle();
  const outputs = bundle.metafile.outputs;
  const mainOutput = Object.keys(outputs).find((path) => path.endsWith('/dashboard.js'))!;
  const staticImports = new Set(outputs[mainOutput]!.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path.replace(/^.*\/chunks\//, 'chunks/')));
  const first: FileSize[] = [{ name: 'dashboard.js', raw: Buffer.byteLength(bundle.code), gzip: bundle.gzip.length }];
  const later: FileSize[] = [];
  for (const [name, file] of bundle.chunks) (staticImports.has(name) ? first : later).push({ name, raw: Buffer.byteLength(file.code), gzip: file.gzip.length });
  const byPackage = new Map<string, number>();
  for (const output of Object.values(outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? 'ours';
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  return { first, later, byPackage: [...byPackage.entries()].sort((a, b) => b[1] - a[1]) };
}

const sum = (files: FileSize[], key: 'raw' | 'gzip') => files.reduce((total, f) => total + f[key], 0);
const sizes = (files: FileSize[]) => files.map((f) => `\`${f.name.replace(/-[A-Z0-9]{8}\.js$/, '-<hash>.js')}\` ${kb(f.raw)} (${kb(f.gzip)} gzipped)`).join(', ');

/** The demo's brokerages (src/demo.ts), for a user of the same size. */
async function connectDemoSizedUser(app: Foliostream, sandbox: Sandbox, token: string): Promise<void> {
  const base = app.url!;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
    return response.json() as Promise<unknown>;
  };
  await call('POST', '/api/snaptrade/connection-url', {});
  await sandbox.control.connect(USER, {
    brokerage: 'QUESTRADE',
    accounts: [
      { name: 'TFSA', currency: 'CAD', cash: { CAD: 2500 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }, { symbol: 'SHOP.TO', units: 20 }, { symbol: 'RY.TO', units: 15 }] },
      { name: 'Margin', currency: 'USD', cash: { USD: 1200 }, positions: [{ symbol: 'MSFT', units: 8, averageCost: 300 }, { symbol: 'SPY', units: 5 }] },
    ],
  });
  await sandbox.control.connect(USER, { brokerage: 'ROBINHOOD', accounts: [{ name: 'Individual', currency: 'USD', cash: { USD: 800 }, positions: [{ symbol: 'AAPL', units: 4, averageCost: 170 }, { symbol: 'NVDA', units: 12 }] }] });
  const alpaca = sandbox.alpaca.createAccount({ cash: 25_000 });
  sandbox.alpaca.setPositions(alpaca.keyId, [{ symbol: 'AAPL', qty: 6, avgEntryPrice: 180 }, { symbol: 'GOOGL', qty: 9 }]);
  await call('POST', '/api/alpaca/accounts', { keyId: alpaca.keyId, secretKey: alpaca.secretKey });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const portfolio = (await call('GET', '/api/portfolio')) as { holdings: { symbol: string; accounts: unknown[]; marketValueBase: string | null }[] };
    const aapl = portfolio.holdings.find((h) => h.symbol === 'AAPL');
    if (aapl?.accounts.length === 3 && portfolio.holdings.length === 7 && portfolio.holdings.every((h) => h.marketValueBase !== null)) return;
    if (Date.now() > deadline) throw new Error(`the demo-sized user did not sync in 120 s (${portfolio.holdings.length} holdings)`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Marks the page records (ms from the navigation's start) when the dashboard's parts first show. */
const MARKS_SCRIPT = `
  window.__marks = {};
  const checks = {
    totals: () => { const v = document.querySelector('[data-total="totalValue"]'); return v && v.textContent !== '—'; },
    allocation: () => document.querySelector('[data-testid="allocation"][data-total]') !== null,
    chart: () => { const c = document.querySelector('[data-testid="history-chart"]'); return c && c.dataset.points !== '0'; },
    signIn: () => document.querySelector('main.login, [data-testid="sign-in"]') !== null,
  };
  new MutationObserver(() => {
    for (const [name, check] of Object.entries(checks)) if (!(name in window.__marks) && check()) window.__marks[name] = performance.now();
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
`;

interface PageTimes {
  domContentLoaded: number;
  firstContentfulPaint: number;
  marks: Record<string, number>;
}

async function timePage(browser: Browser, url: string, waitFor: string[]): Promise<PageTimes> {
  const context = await newContext(browser, { width: 1366, height: 900 });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.addInitScript(MARKS_SCRIPT);
    await page.goto(url);
    await page.waitForFunction((names) => names.every((name) => name in ((window as unknown as { __marks: object }).__marks ?? {})), waitFor, { timeout: 60_000 });
    if (errors.length) throw new Error(`the page failed: ${errors.join('; ')}`);
    return await page.evaluate(() => {
      const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      return { domContentLoaded: navigation.domContentLoadedEventEnd, firstContentfulPaint: paint?.startTime ?? NaN, marks: (window as unknown as { __marks: Record<string, number> }).__marks };
    });
  } finally {
    await context.close();
  }
}

function summary(values: number[]): { p50: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.ceil(sorted.length / 2) - 1]!, max: sorted[sorted.length - 1]! };
}

async function main(): Promise<void> {
  const loadStart = loadavg().map((l) => l.toFixed(2)).join(' ');
  const bundle = await measureBundle();
  console.log(`first: ${sum(bundle.first, 'raw')} B raw, ${sum(bundle.first, 'gzip')} B gzip; later: ${sum(bundle.later, 'raw')} B raw, ${sum(bundle.later, 'gzip')} B gzip`);

  const services = await startBenchServices(log);
  const db = await freshDatabase(services.databaseUrl, { prefix: 'bench_dashboard' });
  // The sandbox as the demo runs it (prices ticking once a second), the configuration pointed at it.
  const embedded = await startEmbeddedSandbox(
    loadConfig({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', REDIS_URL: services.redisUrl, DATABASE_URL: db.url, SYNC_DEBOUNCE_MS: '300', SYNC_ACCOUNT_FLOOR_MS: '0' }),
    log,
  );
  const { sandbox, config } = embedded;
  let app: Foliostream | undefined;
  let browser: Browser | undefined;
  try {
    app = await startFoliostream(config, log, { namespace: `bench-dashboard-${process.pid}` });
    await sandbox.control.configureWebhooks({ url: `${app.url}/api/snaptrade/webhook` });
    const token = await issueUserToken(userTokenSettings(config), USER, 3600);
    await connectDemoSizedUser(app, sandbox, token);
    browser = await launchChromium();

    // One load of each first, not counted: Chromium's own start-up (its first page) is not the dashboard's.
    await timePage(browser, `${app.url}/signin`, ['signIn']);
    await timePage(browser, `${app.url}/#token=${token}`, ['totals', 'allocation', 'chart']);
    const signIn: PageTimes[] = [];
    const dashboard: PageTimes[] = [];
    for (let i = 0; i < RUNS; i++) {
      signIn.push(await timePage(browser, `${app.url}/signin`, ['signIn']));
      dashboard.push(await timePage(browser, `${app.url}/#token=${token}`, ['totals', 'allocation', 'chart']));
    }
    const rows: [string, number[]][] = [
      ['baseline: sign-in page, first contentful paint', signIn.map((t) => t.firstContentfulPaint)],
      ['baseline: sign-in page drawn (the bundle ran)', signIn.map((t) => t.marks.signIn!)],
      ['dashboard: DOMContentLoaded (bundle loaded and run)', dashboard.map((t) => t.domContentLoaded)],
      ['dashboard: first contentful paint', dashboard.map((t) => t.firstContentfulPaint)],
      ['**dashboard: totals drawn (first snapshot over the socket)**', dashboard.map((t) => t.marks.totals!)],
      ['dashboard: allocation drawn', dashboard.map((t) => t.marks.allocation!)],
      ['dashboard: value chart drawn (history API answered)', dashboard.map((t) => t.marks.chart!)],
    ];
    const loadEnd = loadavg().map((l) => l.toFixed(2)).join(' ');
    const table = rows.map(([name, values]) => {
      const { p50, max } = summary(values);
      return `| ${name} | ${p50.toFixed(0)} ms | ${max.toFixed(0)} ms |`;
    });
    for (const line of table) console.log(line);
    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
    const lines = [
      '## Dashboard bundle and first render (bench:dashboard)',
      '',
      `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench:dashboard\`. Machine: ${cpus().length} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Node ${process.version}, Chromium ${browser.version()} headless; engine, sandbox, Redis and Postgres on the same machine. Load average (1, 5, 15 min) at the start ${loadStart}, at the end ${loadEnd}.`,
      '',
      `Bundle (minified ES2020, gzipped level 9 for a browser that accepts it, as the server sends it). Loaded by every page before it runs: **${kb(sum(bundle.first, 'gzip'))} gzipped** (${kb(sum(bundle.first, 'raw'))} raw: ${sizes(bundle.first)}); loaded when the dashboard mounts the value chart: ${kb(sum(bundle.later, 'gzip'))} gzipped (${sizes(bundle.later)}). By package (raw bytes over all files): ${bundle.byPackage.map(([name, bytes]) => `${name} ${kb(bytes)}`).join(', ')}.`,
      '',
      `First render: ${RUNS} loads of each page, each in a new browser context (empty cache), over loopback, user of the demo's size (7 holdings, AAPL in 3 accounts, 4 accounts at 3 brokerages), after one uncounted load of each; times from the navigation's start.`,
      '',
      '| what | p50 | max |',
      '| --- | --- | --- |',
      ...table,
    ];
    if (WRITE_DOCS) writeBenchmarkSection(lines);
    console.log(lines.join('\n'));
  } finally {
    await browser?.close();
    await app?.stop();
    await sandbox.close();
    await db.drop();
    await services.stop();
  }
}

await main();
