import type { CredentialsStore, SnapTradeCredentials } from '../credentials-store.ts';
import type { HoldingsProvider, ProviderAccountList, ProviderActivities, ProviderHoldings, RefreshOutcome } from '../holdings-provider.ts';
import { INVALID_REGISTRATION_MESSAGE, isInvalidSnapTradeUser, ProviderError } from '../provider-error.ts';
import type { SnapTradeClient, SnapTradeUser } from './client.ts';

interface SnapTradeAuthorization {
  id: string;
  disabled?: boolean;
  name?: string;
  type?: string;
  brokerage?: { slug?: string; name?: string; display_name?: string; allows_trading?: boolean };
}

interface SnapTradeAccount {
  id: string;
  brokerage_authorization: string;
  name?: string | null;
  number?: string | null;
  institution_name?: string;
  balance?: { total?: { amount?: number; currency?: string } | null };
}

/** SnapTrade's largest (and default) page of activities. */
export const ACTIVITY_PAGE_SIZE = 1000;

function maskNumber(number: string | null | undefined): string | null {
  if (!number) return null;
  return number.length <= 4 ? number : `••${number.slice(-4)}`;
}

/** SnapTrade as a HoldingsProvider: the user's SnapTrade user id is our user id. */
export class SnapTradeProvider implements HoldingsProvider {
  readonly name = 'snaptrade' as const;

  constructor(
    private readonly client: SnapTradeClient,
    private readonly credentials: CredentialsStore,
  ) {}

  private async credentialsOf(userId: string): Promise<SnapTradeCredentials> {
    const creds = await this.credentials.snaptrade(userId);
    if (!creds) {
      throw new ProviderError('snaptrade', 'credentials', 404, 'not_registered', `user ${userId} has no SnapTrade registration`, false);
    }
    if (creds.invalidSince) {
      // Known to fail: spend none of the shared budget on it until the user registers again.
      const err = new ProviderError('snaptrade', 'credentials', 401, '1083', INVALID_REGISTRATION_MESSAGE, false);
      err.registrationGeneration = creds.generation;
      throw err;
    }
    return creds;
  }

  /**
   * Runs SnapTrade calls as the user. A 401 for the user's secret is tried once more with the
   * credentials read afresh (another process may have registered the user again since they were
   * cached); if it still fails, the error names the registration generation that failed.
   */
  private async asUser<T>(userId: string, run: (user: SnapTradeUser) => Promise<T>): Promise<T> {
    let creds = await this.credentialsOf(userId);
    for (let attempt = 0; ; attempt++) {
      try {
        return await run({ userId: creds.snaptradeUserId, userSecret: creds.userSecret });
      } catch (err) {
        if (!isInvalidSnapTradeUser(err)) throw err;
        this.credentials.forget(userId);
        const fresh = await this.credentialsOf(userId).catch(() => undefined);
        if (attempt === 0 && fresh && fresh.generation !== creds.generation) {
          creds = fresh;
          continue;
        }
        err.registrationGeneration = creds.generation;
        // Not cached: the next call reads the invalid mark the actor is about to write.
        this.credentials.forget(userId);
        throw err;
      }
    }
  }

  async listAccounts(userId: string): Promise<ProviderAccountList> {
    const [authorizations, accounts] = await this.asUser(userId, async (user) => [
      (await this.client.listAuthorizations(user)) as unknown as SnapTradeAuthorization[],
      (await this.client.listAccounts(user)) as unknown as SnapTradeAccount[],
    ] as const);
    const byId = new Map(authorizations.map((a) => [a.id, a]));
    return {
      connections: authorizations.map((a) => ({
        externalId: a.id,
        brokerageSlug: a.brokerage?.slug ?? null,
        brokerageName: a.brokerage?.display_name ?? a.brokerage?.name ?? a.name ?? null,
        status: a.disabled ? 'broken' : 'active',
      })),
      accounts: accounts.map((account) => {
        const auth = byId.get(account.brokerage_authorization);
        return {
          externalId: account.id,
          connectionExternalId: account.brokerage_authorization,
          name: account.name ?? null,
          numberMasked: maskNumber(account.number),
          institutionName: account.institution_name ?? auth?.brokerage?.name ?? 'Unknown institution',
          currency: account.balance?.total?.currency ?? 'USD',
          tradingAllowed: Boolean(auth?.brokerage?.allows_trading) && auth?.type !== 'read',
        };
      }),
    };
  }

  async fetchHoldings(userId: string, accountExternalId: string): Promise<ProviderHoldings> {
    const [positions, balances] = await this.asUser(userId, async (user) => [
      (await this.client.positions(user, accountExternalId)) as unknown as {
        results?: { instrument?: { symbol?: string }; symbol?: { symbol?: { symbol?: string } } }[];
        data_freshness?: { as_of?: string | null } | null;
      },
      await this.client.balances(user, accountExternalId),
    ] as const);
    const results = positions.results ?? [];
    return {
      positions,
      balances,
      asOf: positions.data_freshness?.as_of ?? new Date().toISOString(),
      positionCount: results.length,
      symbols: results.map((p) => p.instrument?.symbol ?? p.symbol?.symbol?.symbol ?? '').filter(Boolean),
    };
  }

  /**
   * Pages `GET /accounts/{id}/activities` (newest first, up to `ACTIVITY_PAGE_SIZE` a page, each
   * page one request through the shared budget) until SnapTrade's `pagination.total` is reached
   * or a page comes back short.
   */
  async fetchActivities(userId: string, accountExternalId: string, since: string | null): Promise<ProviderActivities> {
    const activities: unknown[] = [];
    let requests = 0;
    await this.asUser(userId, async (user) => {
      activities.length = 0;
      for (let offset = 0; ; ) {
        const page = (await this.client.accountActivities(user, accountExternalId, {
          offset,
          limit: ACTIVITY_PAGE_SIZE,
          ...(since ? { startDate: since } : {}),
        })) as unknown as { data?: unknown[]; pagination?: { total?: number } };
        requests += 1;
        const data = page.data ?? [];
        activities.push(...data);
        offset += data.length;
        const total = page.pagination?.total;
        if (data.length < ACTIVITY_PAGE_SIZE || (typeof total === 'number' && offset >= total)) return;
      }
    });
    return { activities, requests };
  }

  async refreshConnections(userId: string): Promise<RefreshOutcome[]> {
    const creds = await this.credentialsOf(userId);
    const user = { userId: creds.snaptradeUserId, userSecret: creds.userSecret };
    const authorizations = (await this.asUser(userId, (u) => this.client.listAuthorizations(u))) as unknown as SnapTradeAuthorization[];
    const outcomes: RefreshOutcome[] = [];
    for (const auth of authorizations) {
      try {
        await this.client.refreshAuthorization(user, auth.id);
        outcomes.push({ connectionExternalId: auth.id, ok: true });
      } catch (err) {
        outcomes.push({
          connectionExternalId: auth.id,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
          retryable: err instanceof ProviderError ? err.retryable : true,
        });
      }
    }
    return outcomes;
  }
}
