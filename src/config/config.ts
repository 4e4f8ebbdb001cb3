import type { z } from 'zod';
import { variables, type VariableName, type VariableSpec } from './variables.ts';

type Vars = typeof variables;
type Output<K extends VariableName> = z.output<Vars[K]['schema']>;
type HasValue<K extends VariableName> = Vars[K] extends { default: string } | { devDefault: string }
  ? true
  : false;

/** Parsed configuration: a variable with a default (or dev default) is always present. */
export type Config = {
  [K in VariableName]: HasValue<K> extends true ? Output<K> : Output<K> | undefined;
};

/** Thrown when the environment is invalid; `problems` names every bad or missing variable. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * `loadConfig` for an entry point: a configuration problem is the operator's to fix, so it is
 * printed without a stack trace and the process exits with `exitCode`.
 */
export function loadConfigOrExit(exitCode: number, env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(exitCode);
  }
}

/**
 * Reads and validates the whole environment at once, so one start-up reports every problem.
 * Empty strings count as unset (a common artefact of `.env` templates).
 */
export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const problems: { variable: string; message: string }[] = [];
  const out: Record<string, unknown> = {};

  for (const [name, spec] of Object.entries(variables) as [VariableName, VariableSpec][]) {
    const raw = env[name]?.trim() ? env[name] : undefined;
    const value = raw ?? spec.default ?? (production ? undefined : spec.devDefault);
    if (value === undefined) {
      if (production && spec.requiredInProduction) {
        problems.push({ variable: name, message: 'is required in production' });
      }
      out[name] = undefined;
      continue;
    }
    const parsed = spec.schema.safeParse(value);
    if (parsed.success) {
      out[name] = parsed.data;
    } else {
      const shown = spec.secret ? '' : ` (got ${JSON.stringify(value)})`;
      problems.push({
        variable: name,
        message: `${parsed.error.issues.map((i) => i.message).join('; ')}${shown}`,
      });
    }
  }

  if (out.REDIS_NODES) {
    // The cluster's nodes name Redis: REDIS_URL is not needed beside them.
    const missing = problems.findIndex((p) => p.variable === 'REDIS_URL' && p.message === 'is required in production');
    if (missing >= 0) problems.splice(missing, 1);
  } else if (out.REDIS_CLUSTER && !out.REDIS_URL && !problems.some((p) => p.variable === 'REDIS_URL')) {
    // A locally started redis-server is one server, never a cluster.
    problems.push({ variable: 'REDIS_CLUSTER', message: 'needs REDIS_URL (a node of the cluster) or REDIS_NODES' });
  }
  if (production && !out.AUTH_SECRET && !out.AUTH_JWKS_URL) {
    problems.push({ variable: 'AUTH_SECRET', message: 'AUTH_SECRET or AUTH_JWKS_URL is required in production' });
  }
  if (production && out.AUTH_JWKS_URL) {
    // An identity provider signs tokens for many applications: without these, a token it issued
    // for another of them would be accepted here.
    for (const variable of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
      if (!out[variable] && !problems.some((p) => p.variable === variable)) {
        problems.push({ variable, message: 'is required in production with AUTH_JWKS_URL' });
      }
    }
  }
  if (out.AUTH_DEV_SIGN_IN && production) {
    problems.push({ variable: 'AUTH_DEV_SIGN_IN', message: 'signs anyone in without a password and must be false in production' });
  } else if (out.AUTH_DEV_SIGN_IN && out.AUTH_JWKS_URL) {
    problems.push({ variable: 'AUTH_DEV_SIGN_IN', message: 'issues AUTH_SECRET tokens, which are not accepted with AUTH_JWKS_URL' });
  }
  if (production && out.ORDER_CRASH_POINT !== 'none') {
    problems.push({ variable: 'ORDER_CRASH_POINT', message: 'is for tests only and must be none in production' });
  }
  if (production && out.METRICS_PORT === undefined && !out.METRICS_TOKEN && !problems.some((p) => p.variable.startsWith('METRICS_'))) {
    problems.push({
      variable: 'METRICS_TOKEN',
      message: 'METRICS_TOKEN or METRICS_PORT is required in production (metrics are never public on PORT there)',
    });
  }
  if (out.METRICS_PORT !== undefined && out.METRICS_PORT !== 0 && out.METRICS_PORT === out.PORT) {
    problems.push({ variable: 'METRICS_PORT', message: 'must differ from PORT' });
  }
  checkEncryptionKeys(out, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Config;
}

/**
 * The previous encryption keys against the newest one: every version names one key, so a value's
 * `v<n>.` prefix picks exactly one. Names versions, never key material.
 */
function checkEncryptionKeys(out: Record<string, unknown>, problems: { variable: string; message: string }[]): void {
  const current = out.ENCRYPTION_KEY as Buffer | undefined;
  const version = out.ENCRYPTION_KEY_VERSION as number | undefined;
  const previous = out.ENCRYPTION_KEYS_PREVIOUS as { version: number; key: Buffer }[] | undefined;
  if (!previous) return;
  for (const old of previous) {
    if (old.version === version) {
      problems.push({
        variable: 'ENCRYPTION_KEYS_PREVIOUS',
        message: `version ${old.version} is ENCRYPTION_KEY_VERSION, the newest key's: give the new ENCRYPTION_KEY the next version (ENCRYPTION_KEY_VERSION=${Math.max(...previous.map((k) => k.version)) + 1})`,
      });
    } else if (current && old.key.equals(current)) {
      problems.push({
        variable: 'ENCRYPTION_KEYS_PREVIOUS',
        message: `version ${old.version} is the same key as ENCRYPTION_KEY (version ${version}): a rotation needs a new key`,
      });
    }
  }
}
