/** Display formatting of the decimal strings the server sends (display only; the data stays exact). */

const DASH = '—';
const moneyFormats = new Map<string, Intl.NumberFormat>();

export function money(value: string | null, currency: string): string {
  if (value === null) return DASH;
  let format = moneyFormats.get(currency);
  if (!format) {
    try {
      format = new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 });
    } catch {
      format = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    moneyFormats.set(currency, format);
  }
  return format.format(Number(value));
}

const priceFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 4 });

export function price(value: string | null, currency: string): string {
  return value === null ? DASH : `${priceFormat.format(Number(value))} ${currency}`;
}

/** Quantities as sent, without trailing zeros (`10.500000` -> `10.5`). */
export function quantity(value: string): string {
  return value.includes('.') ? value.replace(/\.?0+$/, '') : value;
}

/** `pos` / `neg` / `` for colouring a signed amount. */
export function sign(value: string | null): string {
  if (value === null) return '';
  const n = Number(value);
  return n > 0 ? 'pos' : n < 0 ? 'neg' : '';
}

export function time(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

/** A price in its listing currency with the code in front (`CAD 52.10`), where a symbol could mislead (`$` for CAD). */
export function listingPrice(value: string | null, currency: string): string {
  return value === null ? DASH : `${currency} ${priceFormat.format(Number(value))}`;
}

const percentFormat = new Intl.NumberFormat(undefined, { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });

/** `part / whole` as a signed percentage (`+1.25%`); a dash when either is unknown or the whole is 0. */
export function percentOf(part: string | null, whole: string | null): string {
  if (part === null || whole === null || Number(whole) === 0) return DASH;
  return percentFormat.format(Number(part) / Math.abs(Number(whole)));
}

/** A time of today as `14:02`, of another day as `Jun 2, 14:02` (`now` for tests). */
export function shortWhen(iso: string | null, now = new Date()): string {
  if (!iso) return DASH;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const clock = date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  return date.toDateString() === now.toDateString() ? clock : `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}, ${clock}`;
}
