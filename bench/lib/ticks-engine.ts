/**
 * The engine under test for `npm run bench:ticks`: `startFoliostream` with the roles of
 * `ROLES` (the bench runs one process with `worker` and one with `web`, as the Procfile does; the
 * market role is replaced by the bench's own price writer), in a child process so the tick writer
 * and the socket.io clients do not share its event loop. Configuration comes from the environment, as `npm start` takes it.
 *
 * IPC: sends `{type: 'ready', url}`; answers `{cmd: 'stats'}` with `{type: 'stats', ...}`
 * (CPU time, revaluation counters, active actors, event-loop delay); `{cmd: 'passivate'}` passivates
 * every idle actor nobody watches (`{type: 'passivated', ...}`); `{cmd: 'heap'}` forces full GCs (the
 * bench starts the engine with `--expose-gc`) and answers `{type: 'heap', heapUsed, activeActors}`;
 * `{cmd: 'profile-start'}` /
 * `{cmd: 'profile-stop', file}` record a CPU profile (inspector) of what happens in between;
 * `{cmd: 'stop'}` stops and exits.
 */
import pino from 'pino';
import { startFoliostream } from '../../src/app/foliostream.ts';
import { loadConfig } from '../../src/config/config.ts';
import { setRootLogger } from '../../src/logging/logger.ts';
import { createPauseMonitor } from './pause-monitor.ts';
import { handleProfilerMessage } from './step-profiler.ts';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
setRootLogger(log);
const config = loadConfig(process.env);
const app = await startFoliostream(config, log, { namespace: process.env.BENCH_NAMESPACE ?? 'bench-ticks' });
const pauses = createPauseMonitor();

process.on('message', (message: { cmd: string; file?: string; reset?: boolean }) => {
  if (handleProfilerMessage(message)) return;
  if (message.cmd === 'stats') {
    const revaluation = app.roles.priceRevaluation?.stats();
    process.send!({
      type: 'stats',
      now: Date.now(),
      cpu: process.cpuUsage(),
      rss: process.memoryUsage().rss,
      activeActors: app.roles.worker?.activeActors() ?? 0,
      ownedPartitions: app.roles.worker?.ownedPartitions().length ?? 0,
      revaluation,
      ...pauses.read(),
    });
    // The mid-step look must not cut the step's pause record in two.
    if (message.reset !== false) pauses.reset();
  } else if (message.cmd === 'heap') {
    // Several full GCs: one can leave garbage that only a finalizer or weak callback frees.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('the heap figure needs the engine started with --expose-gc');
    for (let i = 0; i < 4; i++) gc();
    process.send!({ type: 'heap', heapUsed: process.memoryUsage().heapUsed, activeActors: app.roles.worker?.activeActors() ?? 0 });
  } else if (message.cmd === 'passivate') {
    // As the idle sweep would after ACTOR_IDLE_MS: every idle actor nobody watches leaves memory.
    const passivated = app.roles.worker?.passivateIdle(0) ?? 0;
    process.send!({ type: 'passivated', passivated, activeActors: app.roles.worker?.activeActors() ?? 0 });
  } else if (message.cmd === 'stop') {
    void app.stop().finally(() => process.exit(0));
  }
});
process.on('disconnect', () => void app.stop().finally(() => process.exit(0)));
process.send!({ type: 'ready', url: app.url });
