import { loadConfigOrExit, type Config } from './config/config.ts';
import { startFoliostream } from './app/foliostream.ts';
import { createLogger } from './logging/logger.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { installShutdownHandlers } from './runtime/shutdown.ts';

/** `npm start`: the roles in ROLES (all of them by default) in one process. */
let config: Config = loadConfigOrExit(1);
const log = createLogger('main');
let sandbox: Sandbox | undefined;
if (config.START_SANDBOX) {
  if (config.NODE_ENV === 'production') {
    console.error('START_SANDBOX: the brokerage sandbox cannot run with NODE_ENV=production');
    process.exit(1);
  }
  // Loaded only here: the production image leaves the sandbox out.
  const { startEmbeddedSandbox } = await import('./app/embedded-sandbox.ts').catch((err: unknown) => {
    console.error(`START_SANDBOX: this installation has no brokerage sandbox (the production image leaves it out): ${String(err)}`);
    process.exit(1);
  });
  ({ sandbox, config } = await startEmbeddedSandbox(config, log));
}
const app = await startFoliostream(config, log);
if (sandbox && app.url) await sandbox.control.configureWebhooks({ url: `${app.url}/api/snaptrade/webhook` });
installShutdownHandlers(async () => {
  await app.stop();
  await sandbox?.close();
}, log);
