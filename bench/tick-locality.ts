/**
 * `npm run bench:tick-locality`: what one live tick costs per holding it reprices, by how many
 * portfolios the ticks spread over. The work per tick is the same at every size (each security is
 * held by 5 portfolios, as a tick reaches 5 watched holders in bench:ticks' workload); only the
 * number of portfolios, and with them the memory the ticks touch, grows. The repricing alone, in
 * one process, after a warm-up, by two paths alternated round by round (PATHS below); each size runs in its own child process, alternated BENCH_REPEATS
 * (2) times, because a process's heap layout moves the figure by ±10 %.
 *
 * It measures whether the per-holding cost of bench:tick-path comes from the arithmetic (flat across
 * sizes) or from reaching each portfolio's maps and objects (growing with the portfolios touched).
 * BENCH_SIZES (100,1000,10000) portfolios of 25 holdings; BENCH_WRITE=0 leaves docs/BENCHMARKS.md alone.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadAverage, machineDescription, median, writeBenchmarkSection } from './lib/bench-support.ts';
import { symbolOf, syntheticPortfolio, syntheticSecurities } from './lib/synthetic-portfolios.ts';
import type { UserPortfolioState } from '../actors/portfolio/user-portfolio-behavior.ts';
import { liveSlotOf } from '../src/app/price-revaluation.ts';
import { applyLiveQuote, applyLiveQuoteAt, quoteAt } from '../src/portfolio/valuation.ts';
import { createRandom } from '../sandbox/market/seeded-random.ts';

const HOLDINGS = 25;
const HOLDERS_PER_SECURITY = 5;
const TICKS_PER_ROUND = 40_000;
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000').split(',').map(Number);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
/**
 * How a tick reaches a holding, alternated round by round in each process: `lookups`, through the
 * portfolio's maps (ticker -> key, facet -> key, key -> holding, state -> cache, key -> entry:
 * `applyLiveQuote`, the path before the live slots), and `slots`, through the user's live slot of
 * the ticker (`applyLiveQuoteAt`, the product's path). Both apply the same ticks the same way.
 */
const PATHS = ['lookups', 'slots'] as const;
type TickPath = (typeof PATHS)[number];
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';

/** In a child: µs per repriced holding by path over 5 rounds each after 3 of warm-up, for `portfolios`. */
function measure(portfolios: number): Record<TickPath, number[]> {
  const rand = createRandom(42);
  const market = syntheticSecurities((portfolios * HOLDINGS) / HOLDERS_PER_SECURITY, rand);
  const { prices } = market;
  const securities = prices.length;
  const asOf = new Date(Date.now() - 60_000).toISOString();
  const holdersBy = new Map<string, UserPortfolioState[]>();
  for (let u = 0; u < portfolios; u++) {
    const state = syntheticPortfolio(`user-${u}`, market, HOLDINGS, rand, asOf);
    for (const ticker of state.tickers.keys()) {
      const list = holdersBy.get(ticker);
      if (list) list.push(state);
      else holdersBy.set(ticker, [state]);
    }
  }
  let at = Date.now();
  const round = (path: TickPath): number => {
    let holdings = 0;
    const started = process.cpuUsage();
    for (let i = 0; i < TICKS_PER_ROUND; i++) {
      const s = Math.floor(rand() * securities);
      prices[s] = Math.max(0.01, Math.round(prices[s]! * (1 + (rand() - 0.5) * 0.002) * 100) / 100);
      const quote = quoteAt(prices[s]!, ++at, prices[s]! * 0.99);
      const symbol = symbolOf(s);
      for (const state of holdersBy.get(symbol) ?? []) {
        const moved = path === 'slots' ? applyLiveQuoteAt(liveSlotOf(state, symbol)!, quote) : applyLiveQuote(state.portfolio, state.tickers.get(symbol)!, quote);
        if (moved === null) throw new Error('a live tick was not applied');
        holdings++;
      }
    }
    const cpu = process.cpuUsage(started);
    return (cpu.user + cpu.system) / holdings;
  };
  for (let warm = 0; warm < 3; warm++) for (const path of PATHS) round(path);
  const rounds: Record<TickPath, number[]> = { lookups: [], slots: [] };
  for (let i = 0; i < 5; i++) for (const path of PATHS) rounds[path].push(round(path));
  return rounds;
}

function inChild(portfolios: number): Promise<Record<TickPath, number[]>> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, BENCH_CHILD_PORTFOLIOS: String(portfolios) }, execArgv: ['--max-semi-space-size=64', '--import', 'tsx'] });
    child.once('message', (message) => resolve(message as Record<TickPath, number[]>));
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`bench child for ${portfolios} portfolios exited with ${String(code)}`))));
  });
}

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const runs = new Map<number, Record<TickPath, number[]>>(SIZES.map((size) => [size, { lookups: [], slots: [] }]));
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    for (const size of SIZES) {
      const rounds = await inChild(size);
      for (const path of PATHS) runs.get(size)![path].push(...rounds[path]);
      console.log(JSON.stringify({ portfolios: size, usPerHolding: rounds }));
    }
  }
  const baseline = median(runs.get(SIZES[0]!)!.lookups);
  const lines = [
    '## Live prices, a tick per holding by the portfolios it spreads over (bench:tick-locality)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:tick-locality\` (bench/tick-locality.ts).`,
    '',
    `- Machine: ${machineDescription()}; load average ${loadAtStart} at the start, ${loadAverage()} at the end.`,
    `- Workload: portfolios of ${HOLDINGS} holdings in one USD account, each security held by ${HOLDERS_PER_SECURITY} of them, so a tick reprices ${HOLDERS_PER_SECURITY} holdings at every size; ${TICKS_PER_ROUND} uniform ticks a round, the repricing alone, 5 rounds per path after 3 of warm-up, the paths alternated round by round, each size in its own process, ${REPEATS} processes per size alternated.`,
    '- Paths: `lookups` reaches the holding through the portfolio\'s maps (`applyLiveQuote`, before the live slots); `slots` through the user\'s live slot of the ticker (`applyLiveQuoteAt`, the product\'s path). Ratio: against `lookups` over the fewest portfolios; slots ÷ lookups: at the same size, in the same processes.',
    '',
    '| portfolios | lookups: µs per repriced holding (median) | ratio | slots: µs per repriced holding (median) | ratio | slots ÷ lookups |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...SIZES.map((size) => {
      const { lookups, slots } = runs.get(size)!;
      const [l, s] = [median(lookups), median(slots)];
      return `| ${size} | ${l.toFixed(2)} | ${(l / baseline).toFixed(2)} | ${s.toFixed(2)} | ${(s / baseline).toFixed(2)} | **${(s / l).toFixed(2)}** |`;
    }),
    '',
  ];
  console.log(lines.join('\n'));
  if (WRITE_DOCS) writeBenchmarkSection(lines);
}

const childPortfolios = process.env.BENCH_CHILD_PORTFOLIOS;
if (childPortfolios) {
  process.send!(measure(Number(childPortfolios)));
  process.disconnect();
} else {
  await main();
}
