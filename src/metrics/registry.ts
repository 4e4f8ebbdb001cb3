import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One Prometheus registry per process (prom-client). Modules register their own counters and
 * histograms on it; `GET /metrics` serves it.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'foliostream' });
  collectDefaultMetrics({ register: registry });
  return registry;
}
