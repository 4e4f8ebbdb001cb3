import { AreaSeries, createChart, type IChartApi, type ISeriesApi, type Time, type UTCTimestamp } from 'lightweight-charts';
import type { PortfolioSocket } from '../../client/portfolio-store.ts';
import type { HistoryPointUpdate } from '../../events.ts';
import { money } from './format.ts';
import { renderReturnsPanel } from './returns-panel.ts';
import { el } from './view.ts';

/**
 * The value-history panel: range buttons (1D ... ALL), `GET /api/portfolio/history` drawn by
 * lightweight-charts (an area series of the total value, on a canvas), and on 1D today's moving
 * point appended from `portfolio:history`; the returns panel below it follows the selected range.
 * The series' point count is on the chart's box as `data-points` (what the browser test reads).
 */

const RANGES = ['1D', '1W', '1M', '3M', 'YTD', '1Y', 'ALL'] as const;
type Range = (typeof RANGES)[number];
const HEIGHT = 200;

interface Point {
  at: string;
  totalValue: string;
}
interface HistoryAnswer {
  baseCurrency: string;
  points: Point[];
  live: Point;
  /** Bases of points in the range left out (taken before the user changed their base currency). */
  otherBaseCurrencies?: string[];
  error?: { message: string };
}

export interface SeriesPoint {
  time: UTCTimestamp;
  value: number;
}

/**
 * The chart's data for points over time: whole seconds, ascending, one point a second (the
 * library refuses equal times; of two in one second the later one given wins). Display only: the
 * values become numbers here, the decimals stay exact everywhere else.
 */
export function seriesPoints(points: readonly Point[]): SeriesPoint[] {
  const bySecond = new Map<number, number>();
  for (const point of points) {
    const ms = Date.parse(point.at);
    const value = Number(point.totalValue);
    if (Number.isNaN(ms) || !Number.isFinite(value)) continue;
    bySecond.set(Math.floor(ms / 1000), value);
  }
  return [...bySecond.entries()].sort(([a], [b]) => a - b).map(([time, value]) => ({ time: time as UTCTimestamp, value }));
}

/** The palette of the page (dashboard-page.ts), read from its CSS variables. */
function palette(): { text: string; line: string; accent: string } {
  const style = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return { text: read('--muted', '#8593a3'), line: read('--line', '#26303b'), accent: read('--accent', '#58a6ff') };
}

/** Local date and time of a chart time (the library's own labels are in UTC). */
function localLabel(time: Time, withTime: boolean): string {
  const date = new Date((time as number) * 1000);
  return withTime ? date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : date.toLocaleDateString(undefined, { month: 'short', day: 'numeric', year: 'numeric' });
}

function createValueChart(box: HTMLElement): { chart: IChartApi; series: ISeriesApi<'Area'>; setCurrency(currency: string): void } {
  const colors = palette();
  let currency = 'USD';
  const chart = createChart(box, {
    autoSize: true,
    layout: { background: { color: 'transparent' }, textColor: colors.text, fontFamily: 'system-ui, -apple-system, "Segoe UI", sans-serif' },
    grid: { vertLines: { visible: false }, horzLines: { color: colors.line } },
    // The price axis keeps room for a 7-figure amount: one growing with its labels (a total going
    // from $9,990 to $10,010) would move the axis and narrow the plot, a shift of the page.
    rightPriceScale: { borderVisible: false, scaleMargins: { top: 0.15, bottom: 0.1 }, minimumWidth: 96 },
    timeScale: { borderVisible: false, timeVisible: true, secondsVisible: false, tickMarkFormatter: (time: Time, type: number) => localLabel(time, type >= 3).replace(/, \d{4}$/, '') },
    localization: { priceFormatter: (value: number) => money(String(value), currency), timeFormatter: (time: Time) => localLabel(time, true) },
    // A summary chart inside a scrolling page: dragging and wheeling scroll the page, not the chart.
    handleScroll: false,
    handleScale: false,
  });
  const series = chart.addSeries(AreaSeries, {
    lineColor: colors.accent,
    topColor: `${colors.accent}55`,
    bottomColor: `${colors.accent}05`,
    lineWidth: 2,
    priceLineVisible: false,
  });
  return {
    chart,
    series,
    setCurrency(next) {
      currency = next;
    },
  };
}

export function renderHistoryChart(container: HTMLElement, socket: PortfolioSocket, token: string): void {
  let range: Range = '1M';
  // The stored points of the range, and the value now (the answer's, then the deltas' totals).
  let stored: Point[] = [];
  let live: Point | undefined;
  let currency = 'USD';
  let leftOut: string[] = [];
  let loaded = false;
  // A fixed height so the page does not move when the chart draws or the caption changes.
  // A figure, not an image: the library puts its attribution link inside, and an image's content
  // cannot hold a control.
  const box = el('div', { class: 'history-chart', 'data-testid': 'history-chart', 'data-points': '0', role: 'figure', 'aria-label': 'portfolio value over time', style: `height:${HEIGHT}px` });
  // Its line is taken from the first paint: a caption that appeared with the answer moved every
  // section under the chart.
  const caption = el('div', { class: 'meta', 'data-testid': 'history-caption', 'aria-live': 'polite' }, 'Loading the value history…');
  const buttons = RANGES.map((r) => el('button', { type: 'button', 'data-range': r, 'aria-pressed': String(r === range) }, r));
  container.append(el('section', { 'data-testid': 'history' }, el('h2', {}, 'Value over time'), el('div', { class: 'ranges' }, ...buttons), box, caption));
  const { chart, series, setCurrency } = createValueChart(box);

  const draw = () => {
    const points = live ? [...stored, live] : stored;
    const data = seriesPoints(points);
    series.setData(data);
    chart.timeScale().fitContent();
    // What the chart holds, read back from the library (the browser test compares it with the API's points).
    box.dataset.points = String(series.data().length);
    const last = points[points.length - 1];
    box.setAttribute('aria-label', last ? `portfolio value over ${range}: ${data.length} points, now ${money(last.totalValue, currency)}` : 'portfolio value over time');
    // One point draws no line: say why the chart is empty instead of showing a blank box.
    caption.textContent =
      data.length < 2
        ? leftOut.length
          ? `No history in ${currency} for ${range} yet: the points kept before the base currency changed are in ${leftOut.join(' and ')} and are left out; new ones are kept in ${currency} from now on.`
          : `Not enough history for ${range} yet: a point is kept each minute while this page is open, and a close each trading day.`
        : `${range} · ${data.length} points · ${money(last!.totalValue, currency)}`;
  };
  const load = async () => {
    const asked = range;
    const response = await fetch(`/api/portfolio/history?range=${asked}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as HistoryAnswer;
    if (asked !== range) return;
    if (!response.ok) {
      caption.textContent = body.error?.message ?? `history unavailable (${response.status})`;
      return;
    }
    currency = body.baseCurrency;
    leftOut = body.otherBaseCurrencies ?? [];
    loaded = true;
    setCurrency(currency);
    stored = body.points;
    live = body.live;
    draw();
  };
  // A failed request (the server gone, say) is said under the chart, not thrown at the page.
  const reload = () => {
    const asked = range;
    load().catch((err: unknown) => {
      if (asked === range) caption.textContent = `history unavailable (${String(err)})`;
    });
  };
  for (const button of buttons) {
    button.addEventListener('click', () => {
      range = button.dataset.range as Range;
      for (const b of buttons) b.setAttribute('aria-pressed', String(b === button));
      reload();
      returns.show(range);
    });
  }
  socket.on('portfolio:history', (point: HistoryPointUpdate) => {
    if (range !== '1D' || point.baseCurrency !== currency) return;
    stored = [...stored.filter((p) => p.at < point.at), point];
    if (live && live.at <= point.at) live = undefined;
    draw();
  });
  // The line ends at the total the deltas bring (a point is stored only each minute), so the chart
  // never shows another value than the totals above it; drawn at most once a frame.
  let drawing = false;
  socket.on('portfolio:delta', (delta) => {
    if (!loaded || delta.totals.totalValue === null || (delta.baseCurrency ?? currency) !== currency) return;
    live = { at: delta.asOf, totalValue: delta.totals.totalValue };
    if (drawing) return;
    drawing = true;
    requestAnimationFrame(() => {
      drawing = false;
      draw();
    });
  });
  // The user changed the base currency (here or in another tab): the range and its returns again, in it.
  socket.on('portfolio:snapshot', (snapshot) => {
    if (!loaded || snapshot.baseCurrency === currency) return;
    reload();
    returns.show(range);
  });
  const returns = renderReturnsPanel(container, socket, token);
  reload();
  returns.show(range);
}
