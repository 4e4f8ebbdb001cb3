import { eventually, type TestEngine } from './engine.ts';

/** An order as the API answers it (the fields tests read). */
export interface OrderBody {
  id: string;
  accountId: string;
  provider: 'snaptrade' | 'alpaca';
  clientOrderId: string;
  brokerageOrderId: string | null;
  symbol: string;
  side: string;
  type: string;
  status: string;
  quantity: string | null;
  filledQuantity: string;
  averageFillPrice: string | null;
  routing: { accountId: string; provider: string; reason: string } | null;
  impact: Record<string, unknown> | null;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** `POST /api/orders` as `userId` with an Idempotency-Key, against `baseUrl` (another web node, say). */
export async function placeOrder(
  engine: TestEngine,
  userId: string,
  key: string | null,
  body: unknown,
  baseUrl = engine.url,
): Promise<{ status: number; body: OrderBody & ErrorBody; replayed: string | null }> {
  const token = await engine.token(userId, 600);
  const response = await fetch(`${baseUrl}/api/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key === null ? {} : { 'idempotency-key': key }) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as OrderBody & ErrorBody, replayed: response.headers.get('idempotent-replayed') };
}

/** The user's accounts by institution and provider (after their sync landed). */
export async function accountsOf(engine: TestEngine, userId: string, count: number) {
  return eventually(
    async () => {
      const { body } = await engine.api<{ accounts: { id: string; provider: string; externalId: string; institutionName: string; tradingAllowed: boolean }[] }>(
        userId,
        'GET',
        '/api/accounts',
      );
      return body.accounts?.length === count ? body.accounts : undefined;
    },
    30_000,
    `${count} accounts of ${userId}`,
  );
}

/** Waits until `GET /api/orders/:id` shows the order with `status`. */
export function orderReaches(engine: TestEngine, userId: string, orderId: string, status: string, timeoutMs = 20_000) {
  return eventually(
    async () => {
      const { body } = await engine.api<OrderBody>(userId, 'GET', `/api/orders/${orderId}`);
      return body?.status === status ? body : undefined;
    },
    timeoutMs,
    `order ${orderId} ${status}`,
  );
}
