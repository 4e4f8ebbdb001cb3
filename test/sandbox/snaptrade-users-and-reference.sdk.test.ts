import { describe, expect, it } from 'vitest';
import { SANDBOX_BROKERAGES } from '../../sandbox/scenario/brokerages.ts';
import { CLIENT_ID, sdkError, useSnaptradeSandbox } from './snaptrade-sdk-fixture.ts';

const t = useSnaptradeSandbox();

describe('SnapTrade sandbox user secrets', () => {
  it('rotates the user secret: the old one then gets 401 code 1083 and the new one works', async () => {
    const user = await t.user('ada');
    await t.sandbox.control.connect('ada', { brokerage: 'ROBINHOOD', webhooks: false });

    const { data: rotated } = await t.snaptrade.authentication.resetSnapTradeUserSecret(user);
    t.expectConforms('Authentication_resetSnapTradeUserSecret', rotated);
    expect(rotated.userId).toBe('ada');
    expect(rotated.userSecret).toEqual(expect.any(String));
    expect(rotated.userSecret).not.toBe(user.userSecret);

    const stale = await sdkError(t.snaptrade.accountInformation.listUserAccounts(user));
    expect(stale.status).toBe(401);
    expect(stale.responseBody).toEqual({ detail: 'Invalid userID or userSecret provided', status_code: 401, code: '1083' });
    const { data: accounts } = await t.snaptrade.accountInformation.listUserAccounts({ userId: 'ada', userSecret: rotated.userSecret! });
    expect(accounts).toHaveLength(1);

    // Rotating needs the current secret: the old one, or an unknown user, is refused the same way.
    for (const credentials of [user, { userId: 'nobody', userSecret: rotated.userSecret! }]) {
      const refused = await sdkError(t.snaptrade.authentication.resetSnapTradeUserSecret(credentials));
      expect(refused.status).toBe(401);
      expect(refused.responseBody).toMatchObject({ status_code: 401, code: '1083' });
    }
  });
});

describe('SnapTrade sandbox reference data', () => {
  it("describes the client's partner configuration with every sandbox brokerage", async () => {
    const { data: partner } = await t.snaptrade.referenceData.getPartnerInfo();
    t.expectConforms('ReferenceData_getPartnerInfo', partner);
    expect(partner).toMatchObject({ slug: CLIENT_ID, can_access_trades: true, can_access_account_history: true });
    expect(partner.allowed_brokerages?.map((b) => b.slug)).toEqual(SANDBOX_BROKERAGES.map((b) => b.slug));
  });

  it('lists a read authorization type per brokerage and a trade type where trading is allowed, filtered by brokerage', async () => {
    const { data: types } = await t.snaptrade.referenceData.listAllBrokerageAuthorizationType();
    t.expectConforms('ReferenceData_listAllBrokerageAuthorizationType', types);
    const fidelity = types.filter((x) => x.brokerage?.slug === 'FIDELITY');
    expect(fidelity.map((x) => x.type)).toEqual(['read']);
    const { data: questrade } = await t.snaptrade.referenceData.listAllBrokerageAuthorizationType({ brokerage: 'QUESTRADE' });
    expect(questrade.map((x) => [x.brokerage?.slug, x.type])).toEqual([
      ['QUESTRADE', 'read'],
      ['QUESTRADE', 'trade'],
    ]);
  });

  it('lists security types and exchanges whose ids are the ones universal symbols carry', async () => {
    const { data: types } = await t.snaptrade.referenceData.getSecurityTypes();
    t.expectConforms('ReferenceData_getSecurityTypes', types);
    const { data: exchanges } = await t.snaptrade.referenceData.getStockExchanges();
    t.expectConforms('ReferenceData_getStockExchanges', exchanges);
    for (const ticker of ['AAPL', 'SPY', 'SHOP.TO', 'SWVXX']) {
      const { data: symbol } = await t.snaptrade.referenceData.getSymbolsByTicker({ query: ticker });
      expect(types, ticker).toContainEqual(symbol.type);
      expect(exchanges, ticker).toContainEqual(symbol.exchange);
    }
    expect(exchanges.map((e) => e.mic_code)).toEqual(expect.arrayContaining(['XNAS', 'XNYS', 'ARCX', 'XTSE']));
  });
});
