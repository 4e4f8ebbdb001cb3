import type { AppContext } from '../runtime/context.ts';
import { startHttpServer, type HttpServer } from '../http/server.ts';
import { apiRouters } from './routes.ts';

export interface RunningRoles {
  web: HttpServer | undefined;
  stop(): Promise<void>;
}

export interface RoleConnections {
  redisUrl: string;
  databaseUrl: string;
}

/**
 * Starts the roles named in `ROLES`. Each role stops in reverse order of starting, so the web
 * role stops taking requests before the workers finish their in-flight work.
 */
export async function startRoles(ctx: AppContext, _connections: RoleConnections): Promise<RunningRoles> {
  const stops: (() => Promise<void>)[] = [];
  let web: HttpServer | undefined;
  try {
    if (ctx.config.ROLES.includes('web')) {
      web = await startHttpServer(ctx, apiRouters(ctx));
      stops.push(() => web!.close());
      ctx.log.info({ url: web.url }, 'web role listening');
    }
  } catch (err) {
    for (const stop of stops.reverse()) await stop();
    throw err;
  }
  return {
    web,
    async stop() {
      for (const stop of stops.splice(0).reverse()) await stop();
    },
  };
}
