import type { SecurityRef } from './security-identity.ts';

/**
 * The asset class of a security, for allocation: a few classes a person reads at a glance, from
 * the brokerage's security type code (SnapTrade's `SecurityType.code`, or the instrument's `kind`).
 * Alpaca's `us_equity` (stocks and ETFs alike) is the one class the normalisers leave without a
 * code, so a security without one counts as equity.
 */
export const ASSET_CLASSES = ['equity', 'etf', 'fund', 'bond', 'cash_equivalent', 'crypto', 'derivative', 'commodity', 'other'] as const;

export type AssetClass = (typeof ASSET_CLASSES)[number];

/** SnapTrade's type codes (`cs`, `et`, ...) and its instrument kinds (`stock`, `etf`, ...: used when a position has no type). */
const BY_TYPE_CODE: Readonly<Record<string, AssetClass>> = {
  stock: 'equity',
  adr: 'equity',
  etf: 'etf',
  mutualfund: 'fund',
  cfd: 'derivative',
  cs: 'equity',
  ad: 'equity',
  ps: 'equity',
  wi: 'equity',
  et: 'etf',
  oef: 'fund',
  cef: 'fund',
  ut: 'fund',
  bnd: 'bond',
  crypto: 'crypto',
  option: 'derivative',
  future: 'derivative',
  wt: 'derivative',
  rt: 'derivative',
  pm: 'commodity',
};

/** The class of `security`: a cash equivalent (a money-market fund the brokerage counts as cash) first, then by type code. */
export function assetClassOf(security: Pick<SecurityRef, 'type' | 'cashEquivalent'>): AssetClass {
  if (security.cashEquivalent) return 'cash_equivalent';
  if (security.type === undefined) return 'equity';
  return BY_TYPE_CODE[security.type.toLowerCase()] ?? 'other';
}
