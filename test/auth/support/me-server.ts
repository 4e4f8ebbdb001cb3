import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import pino from 'pino';
import { requireUser } from '../../../src/auth/middleware.ts';
import { createUserTokenVerifier, userTokenSettings } from '../../../src/auth/user-tokens.ts';
import type { Config } from '../../../src/config/config.ts';
import { errorHandler } from '../../../src/http/error-handler.ts';

export interface MeServer {
  url: string;
  close(): Promise<void>;
}

/**
 * An Express app on a free local port with `GET /me` behind `requireUser` (the verifier the web
 * role builds from `config`), answering the signed-in user id, and the API's error handler; `mount`
 * adds the routes under test first.
 */
export async function startMeServer(config: Config, mount: (app: Express) => void = () => {}): Promise<MeServer> {
  const app = express();
  mount(app);
  app.get('/me', requireUser(createUserTokenVerifier(userTokenSettings(config))), (req, res) => {
    res.json({ userId: req.userId });
  });
  app.use(errorHandler(pino({ level: 'silent' })));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
