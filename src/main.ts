import { ConfigError, loadConfig } from './config/config.ts';
import { startFoliostream } from './app/foliostream.ts';
import { createLogger } from './logging/logger.ts';
import { installShutdownHandlers } from './runtime/shutdown.ts';

/** `npm start`: the roles in ROLES (all of them by default) in one process. */
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
const log = createLogger('main');
const app = await startFoliostream(config, log);
installShutdownHandlers(app.stop, log);
