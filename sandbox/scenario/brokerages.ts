import { seededUuid } from '../market/seeded-random.ts';

/**
 * The brokerages the sandbox lets a user connect, with the account types each offers. Ids are
 * fixed (not seeded) so a brokerage is the same across runs, as SnapTrade's brokerage ids are.
 */
export interface SandboxBrokerage {
  id: string;
  slug: string;
  name: string;
  displayName: string;
  /** Base currency of the brokerage's accounts. */
  currency: 'USD' | 'CAD';
  allowsTrading: boolean;
  /** Account kinds created when a user connects; each becomes one SnapTrade account. */
  accountTypes: ReadonlyArray<{ rawType: string; name: string; currency: 'USD' | 'CAD' }>;
}

function brokerage(
  slug: string,
  name: string,
  currency: 'USD' | 'CAD',
  accountTypes: SandboxBrokerage['accountTypes'],
  allowsTrading = true,
): SandboxBrokerage {
  return { id: seededUuid('brokerage', slug), slug, name, displayName: name, currency, allowsTrading, accountTypes };
}

export const SANDBOX_BROKERAGES: readonly SandboxBrokerage[] = [
  brokerage('QUESTRADE', 'Questrade', 'CAD', [
    { rawType: 'TFSA', name: 'Questrade TFSA', currency: 'CAD' },
    { rawType: 'Margin', name: 'Questrade Margin USD', currency: 'USD' },
  ]),
  brokerage('WEALTHSIMPLE', 'Wealthsimple', 'CAD', [
    { rawType: 'RRSP', name: 'Wealthsimple RRSP', currency: 'CAD' },
    { rawType: 'Non-registered', name: 'Wealthsimple Personal', currency: 'CAD' },
  ]),
  brokerage('ROBINHOOD', 'Robinhood', 'USD', [{ rawType: 'Individual', name: 'Robinhood Individual', currency: 'USD' }]),
  brokerage('INTERACTIVE-BROKERS-FLEX', 'Interactive Brokers', 'USD', [
    { rawType: 'Margin', name: 'IBKR Margin', currency: 'USD' },
  ]),
  brokerage('SCHWAB', 'Charles Schwab', 'USD', [
    { rawType: 'Brokerage', name: 'Schwab Individual Brokerage', currency: 'USD' },
    { rawType: 'IRA', name: 'Schwab Roth IRA', currency: 'USD' },
  ]),
  brokerage('FIDELITY', 'Fidelity', 'USD', [{ rawType: 'Individual', name: 'Fidelity Individual', currency: 'USD' }], false),
];

export function findBrokerage(slugOrId: string): SandboxBrokerage | undefined {
  const key = slugOrId.toUpperCase();
  return SANDBOX_BROKERAGES.find((b) => b.slug === key || b.id === slugOrId.toLowerCase());
}
