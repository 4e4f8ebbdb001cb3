import { describe, expect, it } from 'vitest';
import { formatMoney } from '../../src/portfolio/index.ts';

/** What people read (the demo's banner): cents, half-up like a statement, thousands separated. */
describe('formatMoney', () => {
  it('rounds to cents half-up and separates thousands', () => {
    expect(formatMoney('45757.85812355', 'USD')).toBe('45,757.86 USD');
    expect(formatMoney('1234567.005', 'CAD')).toBe('1,234,567.01 CAD');
    expect(formatMoney('999.994', 'USD')).toBe('999.99 USD');
    expect(formatMoney('999.995', 'USD')).toBe('1,000.00 USD');
    expect(formatMoney('12', 'USD')).toBe('12.00 USD');
    expect(formatMoney('0.5', 'EUR')).toBe('0.50 EUR');
  });

  it('keeps the sign of a loss and never writes minus zero', () => {
    expect(formatMoney('-1234.5', 'USD')).toBe('-1,234.50 USD');
    expect(formatMoney('-0.004', 'USD')).toBe('0.00 USD');
    expect(formatMoney('0', 'USD')).toBe('0.00 USD');
  });
});
