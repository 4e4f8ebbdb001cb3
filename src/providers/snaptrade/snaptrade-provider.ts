import type { CredentialsStore } from '../credentials-store.ts';
import type { HoldingsProvider, ProviderAccountList, ProviderHoldings, RefreshOutcome } from '../holdings-provider.ts';
import { ProviderError } from '../provider-error.ts';
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

  private async user(userId: string): Promise<SnapTradeUser> {
    const creds = await this.credentials.snaptrade(userId);
    if (!creds) {
      throw new ProviderError('snaptrade', 'credentials', 404, 'not_registered', `user ${userId} has no SnapTrade registration`, false);
    }
    return { userId: creds.snaptradeUserId, userSecret: creds.userSecret };
  }

  async listAccounts(userId: string): Promise<ProviderAccountList> {
    const user = await this.user(userId);
    const authorizations = (await this.client.listAuthorizations(user)) as unknown as SnapTradeAuthorization[];
    const accounts = (await this.client.listAccounts(user)) as unknown as SnapTradeAccount[];
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
    const user = await this.user(userId);
    const positions = (await this.client.positions(user, accountExternalId)) as unknown as {
      results?: { instrument?: { symbol?: string }; symbol?: { symbol?: { symbol?: string } } }[];
      data_freshness?: { as_of?: string | null } | null;
    };
    const balances = await this.client.balances(user, accountExternalId);
    const results = positions.results ?? [];
    return {
      positions,
      balances,
      asOf: positions.data_freshness?.as_of ?? new Date().toISOString(),
      positionCount: results.length,
      symbols: results.map((p) => p.instrument?.symbol ?? p.symbol?.symbol?.symbol ?? '').filter(Boolean),
    };
  }

  async refreshConnections(userId: string): Promise<RefreshOutcome[]> {
    const user = await this.user(userId);
    const authorizations = (await this.client.listAuthorizations(user)) as unknown as SnapTradeAuthorization[];
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
