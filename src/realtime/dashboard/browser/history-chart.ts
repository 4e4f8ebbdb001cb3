import type { PortfolioSocket } from '../../client/portfolio-store.ts';
import type { HistoryPointUpdate } from '../../events.ts';
import { money } from './format.ts';
import { renderReturnsPanel } from './returns-panel.ts';
import { el } from './view.ts';

/**
 * The value-history panel: range buttons (1D ... ALL), `GET /api/portfolio/history` drawn as an
 * SVG line of the total value, and on 1D today's moving point appended from `portfolio:history`;
 * the returns panel below it follows the selected range.
 */

const RANGES = ['1D', '1W', '1M', '3M', 'YTD', '1Y', 'ALL'] as const;
type Range = (typeof RANGES)[number];
const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const HEIGHT = 160;

interface Point {
  at: string;
  totalValue: string;
}
interface HistoryAnswer {
  baseCurrency: string;
  points: Point[];
  live: Point;
  error?: { message: string };
}

/** The polyline's points for values over time, scaled into the chart's box. */
export function linePoints(points: readonly Point[]): string {
  if (points.length === 0) return '';
  const times = points.map((p) => Date.parse(p.at));
  const values = points.map((p) => Number(p.totalValue));
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const [v0, v1] = [Math.min(...values), Math.max(...values)];
  const x = (t: number) => (t1 === t0 ? WIDTH / 2 : ((t - t0) / (t1 - t0)) * WIDTH);
  const y = (v: number) => (v1 === v0 ? HEIGHT / 2 : HEIGHT - ((v - v0) / (v1 - v0)) * HEIGHT);
  return points.map((_, i) => `${x(times[i]!).toFixed(1)},${y(values[i]!).toFixed(1)}`).join(' ');
}

export function renderHistoryChart(container: HTMLElement, socket: PortfolioSocket, token: string): void {
  let range: Range = '1M';
  let points: Point[] = [];
  let currency = 'USD';
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', 'currentColor');
  line.setAttribute('stroke-width', '2');
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'portfolio value over time');
  svg.setAttribute('style', 'width:100%;height:160px');
  svg.append(line);
  const caption = el('div', { class: 'meta', 'data-testid': 'history-caption' }, '');
  const buttons = RANGES.map((r) => el('button', { type: 'button', 'data-range': r, 'aria-pressed': String(r === range) }, r));

  const draw = () => {
    line.setAttribute('points', linePoints(points));
    const last = points[points.length - 1];
    // One point draws no line: say why the chart is empty instead of showing a blank box.
    caption.textContent =
      points.length < 2
        ? `Not enough history for ${range} yet: a point is kept each minute while this page is open, and a close each trading day.`
        : `${range} · ${points.length} points · ${money(last!.totalValue, currency)}`;
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
    points = [...body.points, body.live];
    draw();
  };
  for (const button of buttons) {
    button.addEventListener('click', () => {
      range = button.dataset.range as Range;
      for (const b of buttons) b.setAttribute('aria-pressed', String(b === button));
      void load();
      returns.show(range);
    });
  }
  socket.on('portfolio:history', (point: HistoryPointUpdate) => {
    if (range !== '1D' || point.baseCurrency !== currency) return;
    points = [...points.filter((p) => p.at < point.at), point];
    draw();
  });
  container.append(el('section', { 'data-testid': 'history' }, el('h2', {}, 'Value over time'), el('div', { class: 'ranges' }, ...buttons), svg, caption));
  const returns = renderReturnsPanel(container, socket, token);
  void load();
  returns.show(range);
}
