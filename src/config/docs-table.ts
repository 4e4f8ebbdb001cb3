import { ERRORS } from '../http/errors.ts';
import { variables, type VariableSpec } from './variables.ts';

/** The README's configuration table, generated from the declarations in `variables.ts`. */
export function configurationTable(): string {
  const rows = (Object.entries(variables) as [string, VariableSpec][]).map(([name, spec]) => {
    const def = spec.default
      ? `\`${spec.default}\``
      : spec.devDefault
        ? spec.secret
          ? 'development value'
          : `\`${spec.devDefault}\` (dev)`
        : '—';
    const required = spec.requiredInProduction && !spec.default ? 'yes' : '';
    return `| \`${name}\` | ${def} | ${required} | ${spec.description.replace(/\|/g, '\\|')} |`;
  });
  return [
    '| variable | default | required in production | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The README's error-code table, generated from `src/http/errors.ts`. */
export function errorTable(): string {
  return [
    '| code | status | meaning |',
    '| --- | --- | --- |',
    ...Object.entries(ERRORS).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.description} |`),
  ].join('\n');
}

function replaceBetween(readme: string, name: string, table: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const start = readme.indexOf(begin);
  const stop = readme.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`README.md needs ${begin} and ${end} markers`);
  return `${readme.slice(0, start + begin.length)}\n${table}\n${readme.slice(stop)}`;
}

/** Rewrites the generated tables between the README's markers (`npm run docs:config`). */
export function withConfigurationTable(readme: string): string {
  return replaceBetween(replaceBetween(readme, 'config-table', configurationTable()), 'error-table', errorTable());
}
