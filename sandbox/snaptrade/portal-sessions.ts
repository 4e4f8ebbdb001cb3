import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Connection portal sessions created by `POST /snapTrade/login`: a one-time token in the
 * redirect URI, valid for five minutes (as SnapTrade's), bound to the user and the login options.
 */
export interface PortalSession {
  token: string;
  sessionId: string;
  userId: string;
  broker?: string;
  reconnect?: string;
  connectionType: 'read' | 'trade' | 'trade-if-available';
  customRedirect?: string;
  expiresAt: number;
  used: boolean;
}

export const PORTAL_SESSION_TTL_MS = 5 * 60_000;

export class PortalSessions {
  private readonly sessions = new Map<string, PortalSession>();

  constructor(
    private readonly clientId: string,
    private readonly ttlMs = PORTAL_SESSION_TTL_MS,
  ) {}

  create(input: Omit<PortalSession, 'token' | 'sessionId' | 'expiresAt' | 'used'>): PortalSession {
    const session: PortalSession = {
      ...input,
      token: randomBytes(24).toString('base64url'),
      sessionId: randomUUID(),
      expiresAt: Date.now() + this.ttlMs,
      used: false,
    };
    this.sessions.set(session.token, session);
    return session;
  }

  redirectUri(publicUrl: string, session: PortalSession): string {
    const query = new URLSearchParams({ token: session.token, clientId: this.clientId, sessionId: session.sessionId });
    return `${publicUrl}/snapTrade/redeemToken?${query.toString()}`;
  }

  /** The live session of a token: undefined when unknown, expired or already used. */
  get(token: string | undefined): PortalSession | undefined {
    const session = token ? this.sessions.get(token) : undefined;
    if (!session || session.used || session.expiresAt < Date.now()) return undefined;
    return session;
  }

  consume(session: PortalSession): void {
    session.used = true;
  }
}
