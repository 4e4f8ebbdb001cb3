/**
 * Counts the SnapTrade API requests the sandbox received, by operation, account and user, so
 * tests can assert "exactly one positions request for this account". Every request that matched
 * an operation counts, whatever its outcome (a 429 or an injected 503 is still a request).
 */
export interface RequestRecord {
  operationId: string;
  method: string;
  pathTemplate: string;
  status: number;
  userId?: string;
  accountId?: string;
  at: number;
}

export interface RequestCountFilter {
  operationId?: string;
  accountId?: string;
  userId?: string;
  status?: number;
}

export interface RequestCounts {
  total: number;
  byOperation: Record<string, number>;
  byStatus: Record<string, number>;
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
    const out: RequestCounts = { total: 0, byOperation: {}, byStatus: {}, byAccount: {}, byUser: {} };
    for (const r of this.filtered(filter)) {
      out.total += 1;
      out.byOperation[r.operationId] = (out.byOperation[r.operationId] ?? 0) + 1;
      out.byStatus[String(r.status)] = (out.byStatus[String(r.status)] ?? 0) + 1;
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

  reset(): void {
    this.records = [];
  }

  private filtered(filter: RequestCountFilter): RequestRecord[] {
    return this.records.filter(
      (r) =>
        (filter.operationId === undefined || r.operationId === filter.operationId) &&
        (filter.accountId === undefined || r.accountId === filter.accountId) &&
        (filter.userId === undefined || r.userId === filter.userId) &&
        (filter.status === undefined || r.status === filter.status),
    );
  }
}
