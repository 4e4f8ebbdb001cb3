/**
 * `npm run bench:tick-locality`: what one live tick costs per holding it reprices, by how many
 * portfolios the ticks spread over. The work per tick is the same at every size (each security is
 * held by 5 portfolios, as a tick reaches 5 watched holders in bench:ticks' workload); only the
 * number of portfolios, and with them the memory the ticks touch, grows. `applyLiveQuote` alone, in
 * one process, after a warm-up; each size runs in its own child process, alternated BENCH_REPEATS
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
import { applyLiveQuote, quoteAt } from '../src/portfolio/valuation.ts';
import { createRandom } from '../sandbox/market/seeded-random.ts';

const HOLDINGS = 25;
const HOLDERS_PER_SECURITY = 5;
const TICKS_PER_ROUND = 40_000;
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000').split(',').map(Number);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const WRITE_DOCS = process.env.BENCH_WRITE !== '0';

/** In a child: µs per repriced holding over 5 rounds after 3 of warm-up, for `portfolios`. */
function measure(portfolios: number): number[] {
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
  const round = (): number => {
    let holdings = 0;
    const started = process.cpuUsage();
    for (let i = 0; i < TICKS_PER_ROUND; i++) {
      const s = Math.floor(rand() * securities);
      prices[s] = Math.max(0.01, Math.round(prices[s]! * (1 + (rand() - 0.5) * 0.002) * 100) / 100);
      const quote = quoteAt(prices[s]!, ++at, prices[s]! * 0.99);
      const symbol = symbolOf(s);
      for (const state of holdersBy.get(symbol) ?? []) {
        if (applyLiveQuote(state.portfolio, state.tickers.get(symbol)!, quote) === null) throw new Error('a live tick was not applied');
        holdings++;
      }
    }
    const cpu = process.cpuUsage(started);
    return (cpu.user + cpu.system) / holdings;
  };
  for (let warm = 0; warm < 3; warm++) round();
  return Array.from({ length: 5 }, round);
}

function inChild(portfolios: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, BENCH_CHILD_PORTFOLIOS: String(portfolios) }, execArgv: ['--max-semi-space-size=64', '--import', 'tsx'] });
    child.once('message', (message) => resolve(message as number[]));
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`bench child for ${portfolios} portfolios exited with ${String(code)}`))));
  });
}

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const bySize = new Map<number, number[]>(SIZES.map((size) => [size, []]));
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    for (const size of SIZES) {
      const rounds = await inChild(size);
      bySize.get(size)!.push(...rounds);
      console.log(JSON.stringify({ portfolios: size, usPerHolding: rounds }));
    }
  }
  const baseline = median(bySize.get(SIZES[0]!)!);
  const lines = [
    '## Live prices, a tick per holding by the portfolios it spreads over (bench:tick-locality)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:tick-locality\` (bench/tick-locality.ts).`,
    '',
    `- Machine: ${machineDescription()}; load average ${loadAtStart} at the start, ${loadAverage()} at the end.`,
    `- Workload: portfolios of ${HOLDINGS} holdings in one USD account, each security held by ${HOLDERS_PER_SECURITY} of them, so a tick reprices ${HOLDERS_PER_SECURITY} holdings at every size; ${TICKS_PER_ROUND} uniform ticks a round, \`applyLiveQuote\` alone, 5 rounds after 3 of warm-up, each size in its own process, ${REPEATS} processes per size alternated.`,
    '',
    '| portfolios | µs per repriced holding (median) | ratio | rounds |',
    '| ---: | ---: | ---: | --- |',
    ...SIZES.map((size) => {
      const values = bySize.get(size)!;
      return `| ${size} | ${median(values).toFixed(2)} | ${(median(values) / baseline).toFixed(2)} | ${values.map((v) => v.toFixed(2)).join(', ')} |`;
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
