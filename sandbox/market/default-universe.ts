/**
 * The sandbox's default universe: about forty real listings with plausible prices, so demos and
 * tests look like a real portfolio (US stocks and ETFs in USD, Canadian listings in CAD on the
 * TSX, one money-market fund that counts as cash).
 */
export interface UniverseEntry {
  symbol: string;
  price: number;
  exchangeMic: string;
  currency: string;
  description: string;
  typeCode: string;
  cashEquivalent?: boolean;
  /** Per-step log-return standard deviation; defaults to the book's `stepVolatility`. */
  volatility?: number;
}

const us = (symbol: string, exchangeMic: string, price: number, description: string, typeCode = 'cs'): UniverseEntry => ({
  symbol,
  price,
  exchangeMic,
  currency: 'USD',
  description,
  typeCode,
});

const ca = (symbol: string, price: number, description: string, typeCode = 'cs'): UniverseEntry => ({
  symbol,
  price,
  exchangeMic: 'XTSE',
  currency: 'CAD',
  description,
  typeCode,
});

export const DEFAULT_UNIVERSE: readonly UniverseEntry[] = [
  us('AAPL', 'XNAS', 227.5, 'Apple Inc.'),
  us('MSFT', 'XNAS', 415.2, 'Microsoft Corporation'),
  us('GOOGL', 'XNAS', 165.3, 'Alphabet Inc. Class A'),
  us('AMZN', 'XNAS', 185.1, 'Amazon.com, Inc.'),
  us('NVDA', 'XNAS', 121.4, 'NVIDIA Corporation'),
  us('META', 'XNAS', 510.9, 'Meta Platforms, Inc. Class A'),
  us('TSLA', 'XNAS', 241.05, 'Tesla, Inc.'),
  us('NFLX', 'XNAS', 684.3, 'Netflix, Inc.'),
  us('ADBE', 'XNAS', 512.75, 'Adobe Inc.'),
  us('COST', 'XNAS', 881.2, 'Costco Wholesale Corporation'),
  us('PEP', 'XNAS', 170.45, 'PepsiCo, Inc.'),
  us('INTC', 'XNAS', 22.1, 'Intel Corporation'),
  us('AMD', 'XNAS', 151.3, 'Advanced Micro Devices, Inc.'),
  us('CSCO', 'XNAS', 50.2, 'Cisco Systems, Inc.'),
  us('QQQ', 'XNAS', 478.6, 'Invesco QQQ Trust, Series 1', 'et'),
  us('JPM', 'XNYS', 210.4, 'JPMorgan Chase & Co.'),
  us('V', 'XNYS', 279.9, 'Visa Inc. Class A'),
  us('JNJ', 'XNYS', 160.15, 'Johnson & Johnson'),
  us('WMT', 'XNYS', 80.3, 'Walmart Inc.'),
  us('PG', 'XNYS', 170.1, 'The Procter & Gamble Company'),
  us('XOM', 'XNYS', 115.6, 'Exxon Mobil Corporation'),
  us('KO', 'XNYS', 70.25, 'The Coca-Cola Company'),
  us('DIS', 'XNYS', 95.4, 'The Walt Disney Company'),
  us('BAC', 'XNYS', 39.8, 'Bank of America Corporation'),
  us('HD', 'XNYS', 381.7, 'The Home Depot, Inc.'),
  us('UNH', 'XNYS', 583.2, 'UnitedHealth Group Incorporated'),
  us('BRK.B', 'XNYS', 452.3, 'Berkshire Hathaway Inc. Class B'),
  us('IBM', 'XNYS', 221.6, 'International Business Machines Corporation'),
  us('SPY', 'ARCX', 561.2, 'SPDR S&P 500 ETF Trust', 'et'),
  us('VOO', 'ARCX', 515.8, 'Vanguard S&P 500 ETF', 'et'),
  us('VTI', 'ARCX', 276.4, 'Vanguard Total Stock Market ETF', 'et'),
  us('IWM', 'ARCX', 215.3, 'iShares Russell 2000 ETF', 'et'),
  us('GLD', 'ARCX', 240.9, 'SPDR Gold Shares', 'et'),
  us('TLT', 'XNAS', 97.2, 'iShares 20+ Year Treasury Bond ETF', 'et'),
  ca('SHOP.TO', 105.4, 'Shopify Inc.'),
  ca('RY.TO', 165.2, 'Royal Bank of Canada'),
  ca('TD.TO', 80.15, 'The Toronto-Dominion Bank'),
  ca('ENB.TO', 56.3, 'Enbridge Inc.'),
  ca('CNR.TO', 160.7, 'Canadian National Railway Company'),
  ca('BNS.TO', 68.4, 'The Bank of Nova Scotia'),
  ca('XIU.TO', 36.2, 'iShares S&P/TSX 60 Index ETF', 'et'),
  ca('VFV.TO', 140.5, 'Vanguard S&P 500 Index ETF (CAD)', 'et'),
  {
    symbol: 'SWVXX',
    price: 1,
    exchangeMic: 'XNAS',
    currency: 'USD',
    description: 'Schwab Value Advantage Money Fund - Investor Shares',
    typeCode: 'oef',
    cashEquivalent: true,
    volatility: 0,
  },
];
