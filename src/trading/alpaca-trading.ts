import type { trading } from '@alpacahq/alpaca-trade-api';
import type { OrderRequest, SecurityMatch } from '../api/schemas.ts';
import { ApiError } from '../http/errors.ts';
import { alpacaCall, toWireShape, type AlpacaProvider } from '../providers/alpaca/alpaca-provider.ts';
import type { CredentialsStore } from '../providers/credentials-store.ts';
import { ProviderError } from '../providers/provider-error.ts';
import { money, SEARCH_LIMIT, searchError, upstreamError, type BrokerageOrder, type BrokerageTrading, type PreparedOrder, type TradeAccount } from './brokerage-trading.ts';
import { alpacaStatus, type AlpacaWireOrder } from './order-state.ts';

/** How long a listing of Alpaca's assets answers searches. */
const ASSET_LIST_TTL_MS = 15 * 60_000;
type AlpacaAsset = trading.Assets;

/**
 * Orders of internal accounts, at Alpaca through the official SDK. The idempotency key is the
 * order's `client_order_id`, which Alpaca keeps unique per account: a second submission with it
 * is refused (422), and `GET /v2/orders:by_client_order_id` finds the first. So a request that
 * lost its answer (or whose web node died) never places twice.
 */
export class AlpacaTrading implements BrokerageTrading {
  readonly provider = 'alpaca' as const;

  constructor(
    private readonly alpaca: AlpacaProvider,
    private readonly credentials: CredentialsStore,
  ) {}

  private async client(account: TradeAccount) {
    const creds = await this.credentials.alpacaByAccount(account.userId, account.externalId);
    if (!creds) throw new ApiError('FS_CONNECTION_BROKEN', 'This Alpaca account is no longer linked: link it again.');
    return this.alpaca.client(creds).sdk;
  }

  /** Alpaca's active assets as last listed (the same for every account, and large): kept a while per process. */
  private assetList: { until: number; assets: Promise<AlpacaAsset[]> } | undefined;

  /**
   * Alpaca's active, tradable assets whose symbol starts with `query` or whose name has it:
   * the exact symbol first, then symbol prefixes, then names (Alpaca has no search endpoint,
   * so this lists the assets, at most once per `ASSET_LIST_TTL_MS`, and filters them).
   */
  async search(account: TradeAccount, query: string): Promise<SecurityMatch[]> {
    const sdk = await this.client(account);
    if (!this.assetList || this.assetList.until <= Date.now()) {
      const listing = alpacaCall('listAssets', () => sdk.trading.assets.getV2Assets({ status: 'active' }));
      this.assetList = { until: Date.now() + ASSET_LIST_TTL_MS, assets: listing };
      // A failed listing is not kept: the next search asks again.
      listing.catch(() => {
        if (this.assetList?.assets === listing) this.assetList = undefined;
      });
    }
    let assets;
    try {
      assets = await this.assetList.assets;
    } catch (err) {
      throw searchError('alpaca', err);
    }
    const q = query.toUpperCase();
    const rank = (a: { symbol: string; name?: string | null }) => (a.symbol === q ? 0 : a.symbol.startsWith(q) ? 1 : (a.name ?? '').toUpperCase().includes(q) ? 2 : 3);
    return assets
      .filter((a) => a.tradable && a.symbol && rank(a) < 3)
      .sort((a, b) => rank(a) - rank(b) || a.symbol.localeCompare(b.symbol))
      .slice(0, SEARCH_LIMIT)
      .map((a) => ({ symbol: a.symbol, name: a.name ?? null, universalSymbolId: null, exchange: a.exchange ?? null, currency: 'USD' }));
  }

  async prepare(account: TradeAccount, form: OrderRequest): Promise<PreparedOrder> {
    if (!form.symbol) {
      throw new ApiError('FS_UNKNOWN_SECURITY', 'Alpaca accounts trade by symbol: give `symbol` (universalSymbolId is a SnapTrade id).');
    }
    const symbol = form.symbol;
    const sdk = await this.client(account);
    let asset;
    try {
      asset = await alpacaCall('getAsset', () => sdk.trading.assets.getV2AssetsSymbolOrAssetId({ symbolOrAssetId: symbol }));
    } catch (err) {
      if (err instanceof ProviderError && err.status === 404) throw new ApiError('FS_UNKNOWN_SECURITY', `Alpaca does not know ${symbol}.`);
      throw upstreamError('alpaca', err, 'looking up the security');
    }
    if (!asset.tradable) throw new ApiError('FS_SECURITY_NOT_TRADABLE', `Alpaca does not trade ${symbol}.`);
    const fractional = form.notional !== undefined || (form.quantity !== undefined && !/^\d+$/.test(form.quantity));
    if (fractional && !asset.fractionable) {
      throw new ApiError('FS_SECURITY_NOT_TRADABLE', `Alpaca trades ${symbol} in whole shares only: no fractional quantity or notional amount.`);
    }
    if (fractional && (form.type !== 'market' || form.timeInForce !== 'day')) {
      throw new ApiError('FS_ORDER_NOT_SUPPORTED', 'Alpaca takes fractional quantities only on market orders with timeInForce day.');
    }
    const [clock, accountInfo, price] = await Promise.all([
      alpacaCall('getClock', () => sdk.trading.clock.legacyClock()).catch((err: unknown) => {
        throw upstreamError('alpaca', err, 'reading the market clock');
      }),
      alpacaCall('getAccount', () => sdk.trading.account.getAccount()).catch((err: unknown) => {
        throw upstreamError('alpaca', err, 'reading the account');
      }),
      this.lastPrice(sdk, symbol),
    ]);
    const warnings: string[] = [];
    if (!clock.isOpen) {
      if (form.type === 'market' || form.timeInForce === 'ioc' || form.timeInForce === 'fok') {
        throw new ApiError(
          'FS_MARKET_CLOSED',
          `The market is closed (it opens ${clock.nextOpen.toISOString()}): a ${form.type} order with timeInForce ${form.timeInForce} needs it open.`,
        );
      }
      warnings.push(`The market is closed: the order waits for the open (${clock.nextOpen.toISOString()}).`);
    }
    const wire = toWireShape(accountInfo) as { buying_power?: string; currency?: string; trading_blocked?: boolean };
    if (wire.trading_blocked) throw new ApiError('FS_TRADING_NOT_ALLOWED', 'Alpaca has blocked trading on this account.');
    const estimatePrice = Number(form.limitPrice ?? form.stopPrice ?? price ?? Number.NaN);
    const quantity = form.quantity !== undefined ? Number(form.quantity) : Number(form.notional) / estimatePrice;
    const cost = form.notional !== undefined ? Number(form.notional) : quantity * estimatePrice;
    const buyingPower = wire.buying_power === undefined ? null : Number(wire.buying_power);
    if (form.side === 'buy' && buyingPower !== null && Number.isFinite(cost) && cost > buyingPower + 1e-9) {
      throw new ApiError(
        'FS_INSUFFICIENT_BUYING_POWER',
        `This order costs about ${money(cost)} ${wire.currency ?? 'USD'}; the account's buying power is ${money(buyingPower)}.`,
      );
    }
    if (form.side === 'sell') {
      const held = await this.heldQuantity(sdk, symbol);
      if (Number.isFinite(quantity) && quantity > held + 1e-9) {
        throw new ApiError('FS_INSUFFICIENT_POSITION', `The account holds ${held} ${symbol}; this order sells ${form.quantity ?? `about ${quantity.toFixed(4)}`}.`);
      }
    }
    const signedCost = Number.isFinite(cost) ? cost : null;
    return {
      symbol,
      warnings,
      impact: {
        currency: (wire.currency ?? 'USD').toUpperCase(),
        price: Number.isFinite(estimatePrice) ? String(estimatePrice) : null,
        estimatedQuantity: Number.isFinite(quantity) ? String(Math.round(quantity * 1e9) / 1e9) : null,
        estimatedCost: signedCost === null ? null : money(signedCost),
        commissions: '0.00',
        fees: '0.00',
        buyingPowerBefore: buyingPower === null ? null : money(buyingPower),
        buyingPowerAfter:
          buyingPower === null || signedCost === null ? null : money(form.side === 'buy' ? buyingPower - signedCost : buyingPower + signedCost),
      },
    };
  }

  async place(account: TradeAccount, form: OrderRequest, prepared: PreparedOrder, clientOrderId: string): Promise<BrokerageOrder> {
    const sdk = await this.client(account);
    try {
      const order = await alpacaCall('postOrder', () =>
        sdk.trading.orders.postOrder({
          postOrderRequest: {
            symbol: prepared.symbol,
            side: form.side,
            type: form.type,
            timeInForce: form.timeInForce,
            clientOrderId,
            ...(form.quantity !== undefined ? { qty: form.quantity } : { notional: form.notional! }),
            ...(form.limitPrice !== undefined ? { limitPrice: form.limitPrice } : {}),
            ...(form.stopPrice !== undefined ? { stopPrice: form.stopPrice } : {}),
          },
        }),
      );
      return fromAlpaca(toWireShape(order) as AlpacaWireOrder);
    } catch (err) {
      if (err instanceof ProviderError && err.status === 422 && /client_order_id/i.test(err.message)) {
        // Alpaca already has an order with this key: an earlier attempt placed it. That one is ours.
        const found = await this.byClientOrderId(sdk, clientOrderId);
        if (found) return found;
      }
      throw placementError(err);
    }
  }

  async find(account: TradeAccount, _form: OrderRequest, clientOrderId: string): Promise<BrokerageOrder | null> {
    return this.byClientOrderId(await this.client(account), clientOrderId);
  }

  async cancel(account: TradeAccount, brokerageOrderId: string): Promise<BrokerageOrder> {
    const sdk = await this.client(account);
    try {
      await alpacaCall('deleteOrder', () => sdk.trading.orders.deleteOrderByOrderID({ orderId: brokerageOrderId }));
    } catch (err) {
      if (err instanceof ProviderError && err.status === 422) {
        throw new ApiError('FS_ORDER_NOT_CANCELABLE', `Alpaca cannot cancel it: ${err.message}`);
      }
      if (err instanceof ProviderError && err.status === 404) throw new ApiError('FS_NOT_FOUND', 'Alpaca does not know this order.');
      throw upstreamError('alpaca', err, 'canceling the order');
    }
    const order = await alpacaCall('getOrder', () => sdk.trading.orders.getOrderByOrderID({ orderId: brokerageOrderId })).catch(
      (err: unknown) => {
        throw upstreamError('alpaca', err, 'reading the canceled order');
      },
    );
    return fromAlpaca(toWireShape(order) as AlpacaWireOrder);
  }

  private async byClientOrderId(sdk: Awaited<ReturnType<AlpacaTrading['client']>>, clientOrderId: string): Promise<BrokerageOrder | null> {
    try {
      const order = await alpacaCall('getOrderByClientOrderId', () => sdk.trading.orders.getOrderByClientOrderId({ clientOrderId }));
      return fromAlpaca(toWireShape(order) as AlpacaWireOrder);
    } catch (err) {
      if (err instanceof ProviderError && err.status === 404) return null;
      throw upstreamError('alpaca', err, 'looking the order up by its client order id');
    }
  }

  private async heldQuantity(sdk: Awaited<ReturnType<AlpacaTrading['client']>>, symbol: string): Promise<number> {
    try {
      const position = await alpacaCall('getPosition', () => sdk.trading.positions.getOpenPosition({ symbolOrAssetId: symbol }));
      const wire = toWireShape(position) as { qty_available?: string; qty?: string };
      return Number(wire.qty_available ?? wire.qty ?? 0);
    } catch (err) {
      if (err instanceof ProviderError && err.status === 404) return 0;
      throw upstreamError('alpaca', err, 'reading the position');
    }
  }

  private async lastPrice(sdk: Awaited<ReturnType<AlpacaTrading['client']>>, symbol: string): Promise<number | null> {
    try {
      const response = await sdk.marketData.stocks.stockLatestTrades({ symbols: symbol });
      const price = response.trades?.[symbol]?.p;
      return typeof price === 'number' && Number.isFinite(price) ? price : null;
    } catch {
      // An estimate without a price says so (null); the order itself does not need one.
      return null;
    }
  }
}

function fromAlpaca(order: AlpacaWireOrder): BrokerageOrder {
  if (!order.id) throw new ApiError('FS_BROKERAGE_UNAVAILABLE', 'Alpaca answered an order without an id; retry with the same Idempotency-Key.');
  return {
    brokerageOrderId: order.id,
    status: alpacaStatus(order.status),
    filledQuantity: order.filled_qty ?? '0',
    averageFillPrice: order.filled_avg_price ?? null,
    submittedAt: order.submitted_at ?? null,
  };
}

function placementError(err: unknown): ApiError {
  if (err instanceof ProviderError && err.status === 403) {
    if (/buying power/i.test(err.message)) return new ApiError('FS_INSUFFICIENT_BUYING_POWER', `Alpaca: ${err.message}`);
    if (/qty|quantity|position/i.test(err.message)) return new ApiError('FS_INSUFFICIENT_POSITION', `Alpaca: ${err.message}`);
  }
  if (err instanceof ProviderError && err.status === 422) return new ApiError('FS_ORDER_REJECTED', `Alpaca refused the order: ${err.message}`);
  return upstreamError('alpaca', err, 'placing the order');
}
