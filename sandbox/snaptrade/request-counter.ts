/**
 * Counts the SnapTrade API requests the sandbox received, by operation, account and user, so
 * tests can assert "exactly one positions request for this account". Every request that matched
 * an operation counts, whatever its outcome (a 429 or an injected 503 is still a request).
 * `outcome` tells the sandbox's own rate-limit 429 (`rate_limited`) from a 429 a fault rule
 * injected (`injected`): both carry SnapTrade's `throttled` code on the wire.
 */
export type RequestOutcome = 'ok' | 'error' | 'rate_limited' | 'injected';

export interface RequestRecord {
  operationId: string;
  method: string;
  pathTemplate: string;
  status: number;
  outcome: RequestOutcome;
  userId?: string;
  accountId?: string;
  at: number;
}

export interface RequestCountFilter {
  operationId?: string;
  accountId?: string;
  userId?: string;
  status?: number;
  outcome?: RequestOutcome;
}

export interface RequestCounts {
  total: number;
  byOperation: Record<string, number>;
  byStatus: Record<string, number>;
  /** ok (2xx), error (any other answer of the API), rate_limited (the sandbox's rate limit), injected (a fault rule). */
  byOutcome: Partial<Record<RequestOutcome, number>>;
  /** accountId -> operationId -> count. */
  byAccount: Record<string, Record<string, number>>;
  /** userId -> operationId -> count. */
  byUser: Record<string, Record<string, number>>;
}

export class RequestCounter {
  private records: RequestRecord[] = [];

  record(entry: RequestRecord): void {
    this.records.push(entry);
  }

  count(filter: RequestCountFilter = {}): number {
    return this.filtered(filter).length;
  }

  summary(filter: RequestCountFilter = {}): RequestCounts {
    const out: RequestCounts = { total: 0, byOperation: {}, byStatus: {}, byOutcome: {}, byAccount: {}, byUser: {} };
    for (const r of this.filtered(filter)) {
      out.total += 1;
      out.byOperation[r.operationId] = (out.byOperation[r.operationId] ?? 0) + 1;
      out.byStatus[String(r.status)] = (out.byStatus[String(r.status)] ?? 0) + 1;
      out.byOutcome[r.outcome] = (out.byOutcome[r.outcome] ?? 0) + 1;
      if (r.accountId) {
        const perAccount = (out.byAccount[r.accountId] ??= {});
        perAccount[r.operationId] = (perAccount[r.operationId] ?? 0) + 1;
      }
      if (r.userId) {
        const perUser = (out.byUser[r.userId] ??= {});
        perUser[r.operationId] = (perUser[r.operationId] ?? 0) + 1;
      }
    }
    return out;
  }

  /** The matching requests in arrival order (each with its time), for rate checks. */
  log(filter: RequestCountFilter = {}): RequestRecord[] {
    return this.filtered(filter).map((r) => ({ ...r }));
  }

  reset(): void {
    this.records = [];
  }

  private filtered(filter: RequestCountFilter): RequestRecord[] {
    return this.records.filter(
      (r) =>
        (filter.operationId === undefined || r.operationId === filter.operationId) &&
        (filter.accountId === undefined || r.accountId === filter.accountId) &&
        (filter.userId === undefined || r.userId === filter.userId) &&
        (filter.status === undefined || r.status === filter.status) &&
        (filter.outcome === undefined || r.outcome === filter.outcome),
    );
  }
}
