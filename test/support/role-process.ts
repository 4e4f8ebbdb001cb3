import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Sandbox } from '../../sandbox/sandbox.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One engine process started as `npm start` runs it, with the roles in `ROLES`. */
export interface RoleProcess {
  name: string;
  pid: number;
  /** The web role's base URL (web processes only). */
  url: string | undefined;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The settings that point an engine process at the brokerage sandbox (SnapTrade and Alpaca). */
export function sandboxEnv(sandbox: Sandbox): Record<string, string> {
  return {
    SNAPTRADE_BASE_URL: sandbox.snaptradeUrl,
    SNAPTRADE_CLIENT_ID: sandbox.clientId,
    SNAPTRADE_CONSUMER_KEY: sandbox.consumerKey,
    ALPACA_TRADING_URL: sandbox.alpacaUrl,
    ALPACA_DATA_URL: sandbox.alpacaUrl,
    ALPACA_STREAM_URL: sandbox.alpacaWsUrl,
  };
}

/** The log line each role writes once it runs. */
const READY: Record<string, string> = { web: 'web role listening', worker: 'worker role started', market: 'market role started' };

/**
 * Starts `src/main.ts` (node --import tsx, as `npm start`) with `env` and resolves once every
 * role in `env.ROLES` has said it runs; rejects with the output if it exits first.
 */
export async function startRoleProcess(name: string, env: Record<string, string>, timeoutMs = 60_000): Promise<RoleProcess> {
  const roles = (env.ROLES ?? 'web,worker,market').split(',').map((role) => role.trim());
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string | undefined>((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const said = new Map<string, { url?: string }>();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg) said.set(entry.msg, entry);
      }
      if (roles.every((role) => said.has(READY[role]!))) {
        clearInterval(timer);
        resolve(said.get(READY.web!)?.url);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        child.kill('SIGKILL');
        reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${out.slice(-3000)}`));
      }
    }, 50);
    void exited.then(({ code, signal }) => {
      clearInterval(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it ran:\n${out.slice(-3000)}`));
    });
  });
  return { name, pid: child.pid!, url, output: () => out, exited };
}

/** Sends SIGKILL to every process still running and waits for them to go. */
export async function killRoleProcesses(processes: readonly RoleProcess[]): Promise<void> {
  for (const p of processes) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all(processes.map((p) => p.exited));
}

/**
 * The environment of a role process on the given Redis and Postgres (migrated by the test) against
 * the sandbox, logging at `info` (startRoleProcess reads the ready lines); `extra` adds or overrides.
 */
export function roleProcessEnv(
  services: { redisUrl: string; databaseUrl: string; sandbox: Sandbox },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: services.redisUrl,
    DATABASE_URL: services.databaseUrl,
    MIGRATE_ON_START: 'false',
    ...sandboxEnv(services.sandbox),
    ...extra,
  };
}

/** Processes of a test, started by name and tracked while they run. */
export interface RoleProcessGroup {
  /** Running processes by name. */
  running: Map<string, RoleProcess>;
  /**
   * Starts `<role>-<suffix>` with `ROLES=<role>`: worker and market processes with the name as
   * `WORKER_ID`, market processes with a metrics server of their own (`METRICS_PORT=0`, where
   * their /readyz says active or standby).
   */
  start(name: string): Promise<RoleProcess>;
  /**
   * Sends `signal` to the running process `name` and resolves with its exit. It stays in `running`
   * until it has exited, as a load balancer's health check lags: deliveries keep going to it.
   */
  stop(name: string, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The base URLs of the running web processes. */
  webUrls(): string[];
  /** SIGKILL to every process the group ever started that still runs. */
  killAll(): Promise<void>;
}

export function roleProcessGroup(env: Record<string, string>): RoleProcessGroup {
  const running = new Map<string, RoleProcess>();
  const every: RoleProcess[] = [];
  return {
    running,
    async start(name) {
      const role = name.split('-')[0]!;
      const started = await startRoleProcess(name, {
        ...env,
        ROLES: role,
        ...(role === 'web' ? {} : { WORKER_ID: name }),
        ...(role === 'market' ? { METRICS_PORT: '0' } : {}),
      });
      running.set(name, started);
      every.push(started);
      return started;
    },
    async stop(name, signal) {
      const stopping = running.get(name);
      if (!stopping) throw new Error(`${name} is not running`);
      process.kill(stopping.pid, signal);
      const exit = await stopping.exited;
      running.delete(name);
      return exit;
    },
    webUrls: () => [...running.values()].flatMap((p) => (p.url ? [p.url] : [])),
    killAll: () => killRoleProcesses(every),
  };
}
