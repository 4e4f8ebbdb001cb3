import type { PriceBook, SandboxSecurity } from '../market/price-book.types.ts';

/**
 * Which of the price book's listings Alpaca carries, and how Alpaca names them: Alpaca is a
 * US-equities broker, so only USD listings on US venues are assets here (TSX listings and
 * the money-market fund are not).
 */

/** Alpaca's exchange names by MIC. */
const ALPACA_EXCHANGE_BY_MIC: Record<string, string> = {
  XNAS: 'NASDAQ',
  XNYS: 'NYSE',
  ARCX: 'ARCA',
  XASE: 'AMEX',
  BATS: 'BATS',
};

/** SIP tape by listing venue: A = NYSE, B = ARCA/AMEX/other, C = NASDAQ. */
const TAPE_BY_MIC: Record<string, string> = {
  XNAS: 'C',
  XNYS: 'A',
  ARCX: 'B',
  XASE: 'B',
  BATS: 'B',
};

export function alpacaExchange(security: SandboxSecurity): string | undefined {
  return ALPACA_EXCHANGE_BY_MIC[security.exchangeMic];
}

export function tapeOf(security: SandboxSecurity): string {
  return TAPE_BY_MIC[security.exchangeMic] ?? 'B';
}

/** True when Alpaca lists this security (a USD listing on a US exchange, not a fund). */
export function isAlpacaAsset(security: SandboxSecurity): boolean {
  return security.currency === 'USD' && !security.cashEquivalent && alpacaExchange(security) !== undefined;
}

/** Find an Alpaca asset by symbol or by Alpaca asset id. */
export function findAlpacaAsset(book: PriceBook, symbolOrId: string): SandboxSecurity | undefined {
  const bySymbol = book.security(symbolOrId) ?? book.security(symbolOrId.toUpperCase());
  if (bySymbol) return isAlpacaAsset(bySymbol) ? bySymbol : undefined;
  return book.securities().find((s) => s.alpacaAssetId === symbolOrId && isAlpacaAsset(s));
}

/** `GET /v2/assets/{symbol}` body. */
export function assetJson(security: SandboxSecurity): Record<string, unknown> {
  return {
    id: security.alpacaAssetId,
    class: 'us_equity',
    exchange: alpacaExchange(security),
    symbol: security.symbol,
    name: security.description,
    status: 'active',
    tradable: true,
    marginable: true,
    maintenance_margin_requirement: 30,
    margin_requirement_long: '30',
    margin_requirement_short: '100',
    shortable: true,
    easy_to_borrow: true,
    fractionable: true,
    attributes: ['fractional_eh_enabled', 'has_options'],
  };
}
