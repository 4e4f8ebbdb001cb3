import type { ReturnsResponse } from '../../../api/schemas.ts';
import type { PortfolioSocket } from '../../client/portfolio-store.ts';
import { money, sign } from './format.ts';
import { el } from './view.ts';

/**
 * The returns panel, under the value chart: `GET /api/portfolio/returns` for the chart's selected
 * range (the chart calls `show` when its range changes): time- and money-weighted return, the
 * simple return, net flows, income, unrealized and realized P/L (with a word when sells were left
 * out of it), and the answer's marks in words (why a figure is missing or what it assumes). Asked again when a new value point (`portfolio:history`)
 * or new activities (`activities:update`) arrive, at most once a second.
 */

const percentFormat = new Intl.NumberFormat(undefined, { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });

/** A return fraction as a percentage (`0.0512` -> `+5.12%`); a dash without one. */
export function percent(fraction: string | null | undefined): string {
  return fraction === null || fraction === undefined ? '—' : percentFormat.format(Number(fraction));
}

/** The realized P/L of the range, saying how many sells it leaves out (their cost or rate unknown). */
export function realizedWords(realized: ReturnsResponse['realized'], currency: string): string {
  const pl = money(realized.pl, currency);
  if (realized.sells === 0) return `${pl} (no sells)`;
  if (realized.notValued === 0) return `${pl} (${realized.sells} ${realized.sells === 1 ? 'sell' : 'sells'})`;
  return `${pl} (${realized.notValued} of ${realized.sells} sells left out: cost unknown)`;
}

/** The figures' rows, in order: name and test id (the placeholders before the answer, then the answer's figures). */
const FIGURES = [
  ['Time-weighted', 'returns-twr'],
  ['Money-weighted', 'returns-mwr'],
  ['Simple', 'returns-simple'],
  ['Net deposits', 'returns-flows'],
  ['Income', 'returns-income'],
  ['Unrealized P/L', 'returns-unrealized'],
  ['Realized P/L', 'returns-realized'],
] as const;

export interface ReturnsPanel {
  show(range: string): void;
}

export function renderReturnsPanel(container: HTMLElement, socket: PortfolioSocket, token: string): ReturnsPanel {
  const figures = el('dl', { class: 'returns', style: 'display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0' });
  const marks = el('ul', { class: 'meta', 'data-testid': 'returns-marks' });
  // The caption and the figures' rows are there before the answer (a dash each), so its arrival
  // changes text, not the height of everything under the panel.
  const caption = el('div', { class: 'meta', 'data-testid': 'returns-caption' }, 'Loading returns…');
  container.append(el('section', { 'data-testid': 'returns' }, el('h2', {}, 'Returns'), caption, figures, marks));
  let shown = '';

  const row = (name: string, testId: string, text: string, signed: string | null = null) =>
    [el('dt', {}, name), el('dd', { 'data-testid': testId, class: sign(signed) }, text)] as const;

  /** The figures' rows with these texts (and signs), in FIGURES' order. */
  const fill = (values: readonly (readonly [text: string, signed?: string | null])[]) =>
    figures.replaceChildren(...FIGURES.flatMap(([name, testId], i) => row(name, testId, values[i]![0], values[i]![1] ?? null)));

  fill(FIGURES.map(() => ['—'] as const));

  const draw = (body: ReturnsResponse) => {
    const c = body.baseCurrency;
    const mwr = body.mwr ? `${percent(body.mwr.period)} for the period${body.mwr.annual === null ? '' : ` (${percent(body.mwr.annual)} a year)`}` : '—';
    const income = `${money(body.income.total, c)} (dividends ${money(body.income.dividends, c)}, interest ${money(body.income.interest, c)})`;
    fill([
      [percent(body.twr), body.twr],
      [mwr, body.mwr?.period ?? null],
      [percent(body.simpleReturn), body.simpleReturn],
      [body.flows.known ? money(body.flows.net, c) : 'unknown'],
      [income],
      [money(body.unrealizedPl, c), body.unrealizedPl],
      [realizedWords(body.realized, c), body.realized.pl],
    ]);
    marks.replaceChildren(...body.marks.map((mark) => el('li', { 'data-mark': mark.code }, mark.message)));
    caption.textContent = body.start
      ? `${body.range}: ${money(body.start.value, c)} on ${new Date(body.start.at).toLocaleDateString()} to ${money(body.end.value, c)} now`
      : `${body.range}: ${money(body.end.value, c)} now`;
  };

  const load = (range: string) => {
    shown = range;
    void (async () => {
      const response = await fetch(`/api/portfolio/returns?range=${encodeURIComponent(range)}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await response.json()) as ReturnsResponse & { error?: { message: string } };
      if (shown !== range) return; // an answer for a range no longer shown
      if (!response.ok) {
        caption.textContent = body.error?.message ?? `returns unavailable (${response.status})`;
        return;
      }
      draw(body);
    })().catch((err: unknown) => {
      if (shown === range) caption.textContent = `returns unavailable (${String(err)})`;
    });
  };
  let again: ReturnType<typeof setTimeout> | undefined;
  const askAgain = () => {
    if (again !== undefined || shown === '') return;
    again = setTimeout(() => {
      again = undefined;
      load(shown);
    }, 1_000);
  };
  socket.on('portfolio:history', askAgain);
  socket.on('activities:update', askAgain);
  return { show: load };
}
