import { readFileSync } from 'node:fs';
import type { Metric, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { actorMetrics } from '../../actors/runtime-metrics.ts';
import { settledCounter } from '../../src/api/admin-stream-routes.ts';
import { marketMetrics } from '../../src/market/market-metrics.ts';
import { createMetricsRegistry } from '../../src/metrics/registry.ts';
import { realtimeMetrics } from '../../src/realtime/realtime-metrics.ts';
import { webhookMetrics } from '../../src/webhooks/webhook-metrics.ts';

/**
 * `ops/grafana/foliostream-dashboard.json` charts what the engine exports: every metric a panel
 * queries is registered by the code (a rename would leave a silently empty panel), every label it
 * groups by is one of the metric's, and every foliostream metric has a panel.
 */
interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/foliostream-dashboard.json', import.meta.url), 'utf8')) as { panels: Panel[] };

/** A registry holding every metric the roles register (one process running them all). */
function everyMetric(): Registry {
  const registry = createMetricsRegistry();
  webhookMetrics(registry);
  actorMetrics(registry, 'dashboard-test');
  realtimeMetrics(registry);
  marketMetrics(registry);
  settledCounter(registry);
  return registry;
}

const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;
// Labels Prometheus adds (target) or histograms carry, not the code's.
const SCRAPE_LABELS = new Set(['le', 'instance', 'job', 'service']);

describe('the Grafana dashboard', () => {
  const registry = everyMetric();
  const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it('queries only metrics the engine registers, grouped only by their labels', () => {
    expect(queries.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const { panel, expr } of queries) {
      const names = expr.match(/\b(foliostream|process|nodejs)_[a-z0-9_]+/g) ?? [];
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const series of names) {
        const metric = (registry.getSingleMetric(series) ?? registry.getSingleMetric(series.replace(HISTOGRAM_SERIES, ''))) as
          | (Metric & { labelNames?: string[] })
          | undefined;
        if (!metric) {
          problems.push(`${panel}: ${series} is not registered`);
          continue;
        }
        for (const group of expr.matchAll(/by \(([^)]*)\)/g)) {
          for (const label of group[1]!.split(',').map((l) => l.trim())) {
            if (!SCRAPE_LABELS.has(label) && !(metric.labelNames ?? []).includes(label)) problems.push(`${panel}: ${series} has no label ${label}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('has a panel for every foliostream metric', async () => {
    const charted = new Set(queries.flatMap(({ expr }) => (expr.match(/\bfoliostream_[a-z0-9_]+/g) ?? []).map((s) => s.replace(HISTOGRAM_SERIES, ''))));
    const exported = (await registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('foliostream_'));
    expect(exported.filter((name) => !charted.has(name))).toEqual([]);
  });
});
