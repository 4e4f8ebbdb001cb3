/**
 * The engine under test for `npm run bench:sync`, run as a child process: `startFoliostream`
 * exactly as `npm start` composes it (here with `ROLES=worker`: the sync workers and the per-user
 * actors), with the key namespace the parent picked (`BENCH_NAMESPACE`; `npm start` has no
 * variable for it). Configuration comes from the environment, validated by `loadConfig`.
 *
 * Parent protocol (IPC): the child sends `{type: 'ready', workerId}` once started; answers
 * `{type: 'cpu'}` with `{type: 'cpu', usage}` (process.cpuUsage, µs); on `{type: 'stop'}` it
 * stops the engine gracefully and exits 0. It exits as well when the parent disconnects.
 */
import pino from 'pino';
import { startFoliostream } from '../../src/app/foliostream.ts';
import { loadConfig } from '../../src/config/config.ts';
import { loggerOptions, setRootLogger } from '../../src/logging/logger.ts';

type ParentMessage = { type: 'cpu' } | { type: 'stop' };

const log = pino(loggerOptions(process.env.LOG_LEVEL ?? 'warn'));
setRootLogger(log);
const config = loadConfig(process.env);
const app = await startFoliostream(config, log, { namespace: process.env.BENCH_NAMESPACE! });

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  try {
    await app.stop();
  } finally {
    process.exit(code);
  }
};

process.on('message', (message: ParentMessage) => {
  if (message.type === 'cpu') process.send!({ type: 'cpu', usage: process.cpuUsage() });
  if (message.type === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(1));
process.send!({ type: 'ready', workerId: app.roles.worker?.workerId });
