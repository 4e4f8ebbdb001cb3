import type { RecordActivityInput } from '../../sandbox/control-client.ts';

/** A quarterly KO dividend on 40 shares, paid into the account's cash (the sandbox's control API input). */
export const KO_DIVIDEND: RecordActivityInput = {
  type: 'DIVIDEND',
  symbol: 'KO',
  units: 40,
  price: 0.51,
  amount: 20.4,
  currency: 'USD',
  description: 'KO CASH DIV ON 40 SHS',
  applyToCash: true,
};
