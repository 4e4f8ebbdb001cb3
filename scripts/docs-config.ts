import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigurationTable } from '../src/config/docs-table.ts';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, withConfigurationTable(readFileSync(path, 'utf8')));
console.log('README.md configuration table updated');
