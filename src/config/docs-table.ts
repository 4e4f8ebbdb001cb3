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

const BEGIN = '<!-- config-table:begin -->';
const END = '<!-- config-table:end -->';

/** Rewrites the table between the README's markers (`npm run docs:config`). */
export function withConfigurationTable(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md needs ${BEGIN} and ${END} markers`);
  return `${readme.slice(0, start + BEGIN.length)}\n${configurationTable()}\n${readme.slice(end)}`;
}
