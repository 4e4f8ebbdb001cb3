/**
 * The top allocation sites of a sampling heap profile (`.heapprofile`, as bench:ticks writes with
 * BENCH_PROFILE_KIND=survivors or allocations): bytes by the function that allocated, and by the
 * innermost frame of this project's code on the stack (where library code allocated on our behalf).
 *
 *   npm run bench:heap-top -- <file.heapprofile> [rows (25)]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  callFrame: CallFrame;
  selfSize: number;
  children: ProfileNode[];
}

const [file, rowsText] = process.argv.slice(2);
if (!file) {
  console.error('usage: npm run bench:heap-top -- <file.heapprofile> [rows]');
  process.exit(2);
}
const rows = Number(rowsText ?? 25);
const root = fileURLToPath(new URL('..', import.meta.url));
const head = (JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode }).head;

const ours = (frame: CallFrame) => frame.url.startsWith('file://') && !frame.url.includes('/node_modules/') && frame.url.includes(root);
const where = (frame: CallFrame) => {
  const url = frame.url.startsWith('file://') ? relative(root, fileURLToPath(frame.url)) : frame.url || '(native)';
  return `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`;
};

const bySite = new Map<string, number>();
const byOurFrame = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode, ourFrame: string) => {
  const frame = ours(node.callFrame) ? where(node.callFrame) : ourFrame;
  if (node.selfSize > 0) {
    total += node.selfSize;
    const site = where(node.callFrame);
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    byOurFrame.set(frame, (byOurFrame.get(frame) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, frame);
};
walk(head, '(no frame of ours)');

const table = (title: string, sizes: Map<string, number>) => {
  console.log(`\n${title}`);
  console.log('| share | MB | where |\n| ---: | ---: | --- |');
  for (const [site, size] of [...sizes].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(`| ${((100 * size) / total).toFixed(1)} % | ${(size / 2 ** 20).toFixed(1)} | ${site} |`);
  }
};
console.log(`${file}: ${(total / 2 ** 20).toFixed(1)} MB sampled`);
table('By the function that allocated', bySite);
table("By the innermost frame of this project's code", byOurFrame);
