/**
 * The SDK client factory lives with the product's Alpaca provider (it is the same client the
 * product uses against real Alpaca); re-exported here for sandbox users.
 */
export { createAlpacaClient } from '../../src/providers/alpaca/client.ts';
export type { AlpacaClient, AlpacaClientConfig, StockFeed } from '../../src/providers/alpaca/client.ts';
