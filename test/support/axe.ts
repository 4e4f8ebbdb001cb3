import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type * as Axe from 'axe-core';

/**
 * axe-core's browser build, run in the page (on its DOM and layout). Evaluated through the
 * DevTools protocol rather than added as a `<script>`: the dashboard's Content-Security-Policy
 * (`script-src 'self'`) refuses inline scripts, and the test keeps that policy on.
 */
const AXE_SCRIPT = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * What axe checks: every WCAG 2.0/2.1 level A and AA rule, and, of its best practices, the page's
 * structure (one main landmark, content inside landmarks, a level-one heading, heading levels in
 * order, no empty table header), which WCAG leaves to judgement.
 */
const AXE_OPTIONS: Axe.RunOptions = {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  rules: {
    'landmark-one-main': { enabled: true },
    region: { enabled: true },
    'page-has-heading-one': { enabled: true },
    'heading-order': { enabled: true },
    'empty-table-header': { enabled: true },
  },
  resultTypes: ['violations'],
};

/** One violation, short enough to read in a failed assertion: the rule, and each element with why. */
export interface AxeViolation {
  rule: string;
  help: string;
  nodes: string[];
}

/** Runs axe on the page as it is now; resolves with its violations (none: an empty list). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SCRIPT);
  return page.evaluate(async (options) => {
    const axe = (window as unknown as { axe: typeof Axe }).axe;
    const result = await axe.run(document, options);
    return result.violations.map((v) => ({
      rule: v.id,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`.replace(/\s+/g, ' ')),
    }));
  }, AXE_OPTIONS);
}
