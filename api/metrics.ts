/**
 * The front door's Prometheus metrics (`GET /metrics`, text format 0.0.4, prom-client), on a
 * registry of its own so several servers in one process (tests) never share one:
 *
 * - `amtflow_api_request_duration_seconds{method,route,status}` — API latency, by route pattern;
 * - `amtflow_runs_started_total{operation}` — lifecycle runs this process started (API and hellos);
 * - `amtflow_hellos_total{outcome}` — hellos `received` (well-formed) and `rejected` by the listener;
 * - `amtflow_runs_finished{operation,outcome,stage}` — runs finished, by flow, outcome and the step
 *   reached, read from the site database's results at each scrape, so every worker's runs count;
 * - `amtflow_devices{provisioning_state}` — devices by provisioning state.
 *
 * The worker's own SDK metrics (task slots, poll latency, activity and workflow counts) are the
 * Temporal SDK's, exposed by each worker process (`metrics.workerAddress`, workers/main.ts).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../lib/store';

export interface ApiMetrics {
  registry: Registry;
  requestDuration: Histogram<'method' | 'route' | 'status'>;
  runsStarted: Counter<'operation'>;
  hellos: Counter<'outcome'>;
}

export function createApiMetrics(store: Pick<Store, 'results' | 'devices'>): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'amtflow_api_' });
  const requestDuration = new Histogram({
    name: 'amtflow_api_request_duration_seconds',
    help: 'HTTP API latency by route pattern',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const runsStarted = new Counter({
    name: 'amtflow_runs_started_total',
    help: 'Lifecycle runs started by this front door, by operation',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const hellos = new Counter({
    name: 'amtflow_hellos_total',
    help: 'Hellos received by the hello listener, by what became of them',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'amtflow_runs_finished',
    help: 'Lifecycle runs finished, by operation, outcome and the step reached (from the site database)',
    labelNames: ['operation', 'outcome', 'stage'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await store.results.countByStep()) {
        this.set({ operation: row.operation, outcome: row.outcome, stage: row.stage ?? 'none' }, row.count);
      }
    },
  });
  new Gauge({
    name: 'amtflow_devices',
    help: 'Devices by provisioning state',
    labelNames: ['provisioning_state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await store.devices.countByState()) this.set({ provisioning_state: row.state }, row.count);
    },
  });
  return { registry, requestDuration, runsStarted, hellos };
}
