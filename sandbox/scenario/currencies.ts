import { seededUuid } from '../market/seeded-random.ts';

/**
 * Currencies the sandbox knows and the exchange rates between them. Rates start from plausible
 * fixed values and can be moved through the control API; the cross rate of a pair is derived
 * from USD rates, so `USD-CAD` and `CAD-USD` always agree.
 */
export interface SandboxCurrency {
  id: string;
  code: string;
  name: string;
}

const NAMES: Record<string, string> = {
  USD: 'US Dollar',
  CAD: 'Canadian Dollar',
  EUR: 'Euro',
  GBP: 'British Pound',
};

/** Units of each currency per 1 USD. */
const INITIAL_PER_USD: Record<string, number> = { USD: 1, CAD: 1.37, EUR: 0.92, GBP: 0.79 };

export function currencyOf(code: string): SandboxCurrency {
  const upper = code.toUpperCase();
  return { id: seededUuid('currency', upper), code: upper, name: NAMES[upper] ?? upper };
}

export class ExchangeRates {
  private readonly perUsd = new Map<string, number>(Object.entries(INITIAL_PER_USD));

  codes(): string[] {
    return [...this.perUsd.keys()];
  }

  /** Units of `dst` for one unit of `src`, or undefined for an unknown currency. */
  rate(src: string, dst: string): number | undefined {
    const a = this.perUsd.get(src.toUpperCase());
    const b = this.perUsd.get(dst.toUpperCase());
    if (a === undefined || b === undefined) return undefined;
    return Math.round((b / a) * 1e6) / 1e6;
  }

  /** Set the rate of a pair (`src` -> `dst`), keeping every other currency's USD rate. */
  setRate(src: string, dst: string, rate: number): void {
    if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`rate must be a positive number, got ${rate}`);
    const s = src.toUpperCase();
    const d = dst.toUpperCase();
    if (s === 'USD') this.perUsd.set(d, rate);
    else if (d === 'USD') this.perUsd.set(s, 1 / rate);
    else {
      const srcPerUsd = this.perUsd.get(s);
      if (srcPerUsd === undefined) throw new RangeError(`unknown currency ${s}`);
      this.perUsd.set(d, srcPerUsd * rate);
    }
  }

  /** Every ordered pair of distinct currencies. */
  pairs(): Array<{ src: string; dst: string; rate: number }> {
    const out: Array<{ src: string; dst: string; rate: number }> = [];
    for (const src of this.codes()) {
      for (const dst of this.codes()) if (src !== dst) out.push({ src, dst, rate: this.rate(src, dst)! });
    }
    return out;
  }
}
