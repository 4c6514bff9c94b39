import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildApiServer } from '../../../api/server';
import { httpReporter, otpHash } from '../../../emulator/agent/agent';
import { waitFor } from '../../../scripts/lib/process';
import { deviceWorkflowId } from '../../../workflows/names';
import { createTestDeps, type TestDeps } from '../../support/activity-env';
import { fakeLifecycleActivities } from '../../support/fake-lifecycle';
import { parseDeviceUuid } from '../../../lib/device-uuid';
import { newDeviceUuid } from '../../support/device-uuid';
import { connectTestEnv, createTestWorker, uniqueQueue } from '../../support/temporal';
import { capturingLogger, importDevice, principalWith } from './support';

const run = promisify(execFile);

describe('HTTP API', () => {
  let env: TestWorkflowEnvironment;
  let deps: TestDeps;
  let asOperator: { authorization: string };
  beforeAll(async () => {
    env = await connectTestEnv();
    deps = await createTestDeps({ directory: false });
    asOperator = await principalWith(deps.store, 'alice', [{ collection: '*', role: 'administrator' }]);
  });
  afterAll(async () => {
    await deps?.cleanup();
    await env?.teardown();
  });

  /** The API on an ephemeral port, and a client for it (Fastify's inject pulls an ESM module jest cannot load). */
  async function api(taskQueue: string) {
    const { logger } = capturingLogger();
    const app = await buildApiServer({
      store: deps.store,
      client: env.client,
      crl: () => deps.ca.crl(),
      logger,
      taskQueue,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return {
      base,
      close: () => app.close(),
      async inject(request: { method: string; url: string; headers?: Record<string, string>; payload?: object }) {
        const response = await fetch(base + request.url, {
          method: request.method,
          headers: { ...request.headers, ...(request.payload ? { 'content-type': 'application/json' } : {}) },
          body: request.payload ? JSON.stringify(request.payload) : undefined,
        });
        const raw = Buffer.from(await response.arrayBuffer());
        return {
          statusCode: response.status,
          contentType: response.headers.get('content-type'),
          raw,
          body: raw.toString(),
          // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read any field
          json: (): any => JSON.parse(raw.toString()),
        };
      },
    };
  }

  it('answers health, and serves the CRL as DER that openssl parses, and as PEM', async () => {
    const app = await api(uniqueQueue('api-crl'));
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    const der = await app.inject({ method: 'GET', url: '/crl' });
    expect(der.statusCode).toBe(200);
    expect(der.contentType).toBe('application/pkix-crl');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-crl-'));
    try {
      writeFileSync(path.join(dir, 'crl.der'), der.raw);
      const { stdout } = await run('openssl', [
        'crl',
        '-inform',
        'DER',
        '-in',
        path.join(dir, 'crl.der'),
        '-noout',
        '-text',
      ]);
      expect(stdout).toContain('Certificate Revocation List');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const pem = await app.inject({ method: 'GET', url: '/crl.pem' });
    expect(pem.body).toMatch(/^-----BEGIN X509 CRL-----/);
    await app.close();
  });

  it("requires a principal's token on operator routes, audits the first refusal, and keeps agent and operator tokens apart", async () => {
    const app = await api(uniqueQueue('api-token'));
    const uuid = newDeviceUuid();
    const body = { uuid, hostName: 'pc1', domain: 'corp.example.test' };
    const none = await app.inject({ method: 'POST', url: '/api/v1/devices', payload: body });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ code: 'UNAUTHORIZED', message: expect.stringContaining('API token') });
    // A computer's agent credential opens no operator route.
    const computer = newDeviceUuid();
    await deps.store.devices.importComputer({ uuid: computer, hostName: 'pc2', domain: 'corp.example.test' });
    const issued = await app.inject({
      method: 'POST',
      url: `/api/v1/devices/${computer}/agent-credential`,
      headers: asOperator,
      payload: {},
    });
    const agentToken = { authorization: `Bearer ${issued.json().token}` };
    const wrong = await app.inject({ method: 'GET', url: `/api/v1/devices/${uuid}/progress`, headers: agentToken });
    expect(wrong.statusCode).toBe(401);
    expect(await deps.store.devices.get(uuid)).toBeUndefined();
    // The first refusal of this source in the rate limit's window is audited; the next ones are not
    // (issue 12 §4: a flood of bad tokens must not grow the audit log).
    expect(await deps.store.audit.recent({ actor: 'anonymous', limit: 1 })).toEqual([
      expect.objectContaining({ action: 'api.post /devices', outcome: 'denied', target: 'devices' }),
    ]);
    expect(await deps.store.audit.forTarget(uuid)).toEqual([]);
    const report = { uuid, otpHash: 'ab'.repeat(32), amtVersion: '11.8.50', sku: '16392', wiredIpAddress: '10.0.0.5' };
    // An operator's token does not speak for a computer (issue 9).
    const refused = await app.inject({
      method: 'POST',
      url: `/api/v1/agent/${asOperator.authorization.slice(7)}/reports`,
      payload: report,
    });
    expect(refused.statusCode).toBe(401);
    await app.close();
  });

  it('imports a computer, starts provisioning, shows progress, and refuses a second operation in flight', async () => {
    const taskQueue = uniqueQueue('api-operator');
    const app = await api(taskQueue);
    const uuid = randomUUID().toUpperCase();
    const device = { uuid, hostName: 'pc7', domain: 'corp.example.test' };
    const created = await app.inject({ method: 'POST', url: '/api/v1/devices', headers: asOperator, payload: device });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ uuid: uuid.toLowerCase(), fqdn: 'pc7.corp.example.test' });
    const again = await app.inject({ method: 'POST', url: '/api/v1/devices', headers: asOperator, payload: device });
    expect(again.statusCode).toBe(200);
    const renamed = await app.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: asOperator,
      payload: { ...device, hostName: 'pc8' },
    });
    expect(renamed.statusCode).toBe(409);
    expect(renamed.json().code).toBe('DEVICE_ALREADY_IMPORTED');
    const invalid = await app.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: asOperator,
      payload: { ...device, hostName: 'x)(cn=*' },
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ code: 'INVALID_INPUT', issues: [{ field: 'hostName' }] });
    const unknown = await app.inject({
      method: 'POST',
      url: `/api/v1/devices/${randomUUID()}/provision`,
      headers: asOperator,
      payload: {},
    });
    expect(unknown.json().code).toBe('DEVICE_NOT_FOUND');

    const url = `/api/v1/devices/${uuid}`;
    const noRun = await app.inject({ method: 'GET', url: `${url}/progress`, headers: asOperator });
    expect(noRun.statusCode).toBe(404);
    expect(noRun.json().code).toBe('NO_RUN');
    // No worker yet: the run stays in flight, so a second operation meets it.
    const started = await app.inject({ method: 'POST', url: `${url}/provision`, headers: asOperator, payload: {} });
    expect(started.statusCode).toBe(202);
    expect(started.json()).toEqual({ workflowId: deviceWorkflowId(parseDeviceUuid(uuid)) });
    const second = await app.inject({
      method: 'POST',
      url: `${url}/remove`,
      headers: asOperator,
      payload: { mode: 'full' },
    });
    expect(second.statusCode).toBe(409);
    expect(second.json()).toEqual({ code: 'OPERATION_IN_FLIGHT', message: expect.stringContaining('provision') });
    const badMode = await app.inject({ method: 'POST', url: `${url}/remove`, headers: asOperator, payload: {} });
    expect(badMode.json()).toMatchObject({ code: 'INVALID_REQUEST', issues: [{ field: 'mode' }] });

    const fake = fakeLifecycleActivities();
    const worker = await createTestWorker(env, { taskQueue, activities: fake.activities });
    // Queries are answered by a worker, so the final progress is read while it runs.
    const progress = await worker.runUntil(async () => {
      await waitFor(
        'the run to complete',
        async () => {
          const answer = await app.inject({ method: 'GET', url: `${url}/progress`, headers: asOperator });
          return answer.statusCode === 200 && answer.json().state === 'completed';
        },
        30_000,
        100,
      );
      return (await app.inject({ method: 'GET', url: `${url}/progress`, headers: asOperator })).json();
    });
    expect(progress).toMatchObject({ operation: 'provision', deviceUuid: uuid.toLowerCase(), state: 'completed' });
    expect(progress.steps.find((s: { id: string }) => s.id === 'OOB8.2')).toMatchObject({ status: 'succeeded' });

    const audit = await deps.store.audit.forTarget(uuid.toLowerCase());
    expect(audit.map((a) => [a.actor, a.action, a.outcome])).toEqual(
      expect.arrayContaining([
        ['alice', 'api.post /devices', 'success'],
        ['alice', 'api.post /devices', 'failure'],
        ['alice', 'api.post /devices/:uuid/provision', 'success'],
        ['alice', 'api.post /devices/:uuid/remove', 'failure'],
        ['alice', 'api.get /devices/:uuid/progress', 'success'],
      ]),
    );
    expect(audit.find((a) => a.action === 'api.post /devices/:uuid/remove')?.details).toMatchObject({
      status: 409,
      code: 'OPERATION_IN_FLIGHT',
    });
    await app.close();
  });

  it('takes the agent report as the emulator sends it, records it and starts in-band provisioning', async () => {
    const taskQueue = uniqueQueue('api-agent');
    const app = await api(taskQueue);
    const uuid = await importDevice(deps.store, true);
    // The computer's own credential, issued by an operator (issue 9).
    const issued = await app.inject({
      method: 'POST',
      url: `/api/v1/devices/${uuid}/agent-credential`,
      headers: asOperator,
      payload: {},
    });
    expect(issued.statusCode).toBe(201);
    const { token } = issued.json() as { token: string };
    const reportUrl = `${app.base}/api/v1/agent/${token}/reports`;
    // The agent and the API share the loopback address here: the wired address is the source.
    const report = {
      uuid,
      otpHash: otpHash('K7pQ2xV9mR4tW8zB'),
      amtVersion: '15.0.23',
      sku: '16392',
      wiredIpAddress: '127.0.0.1',
    };

    await expect(httpReporter(reportUrl)({ ...report, otpHash: 'abc' })).rejects.toThrow(/answered 400/);
    await expect(httpReporter(reportUrl)({ ...report, uuid: randomUUID() })).rejects.toThrow(/answered 403/);
    const invalid = await app.inject({
      method: 'POST',
      url: '/api/v1/agent/reports',
      headers: { authorization: `Bearer ${token}` },
      payload: { ...report, otpHash: 'abc', extra: 1 },
    });
    expect(invalid.json()).toMatchObject({
      code: 'INVALID_REQUEST',
      issues: expect.arrayContaining([expect.objectContaining({ field: 'otpHash' })]),
    });
    expect(await deps.store.otp.latest(uuid)).toBeUndefined();

    const fake = fakeLifecycleActivities();
    const worker = await createTestWorker(env, { taskQueue, activities: fake.activities });
    await worker.runUntil(async () => {
      await httpReporter(reportUrl)(report);
      await env.client.workflow.getHandle(deviceWorkflowId(uuid)).result();
    });
    expect(await deps.store.otp.latest(uuid)).toMatchObject({
      algorithm: 'sha256',
      hash: report.otpHash,
      reportedAmtVersion: '15.0.23',
      wiredIp: '127.0.0.1',
    });
    expect(await deps.store.contacts.get(uuid)).toMatchObject({ host: '127.0.0.1', source: 'agent' });
    expect(fake.calls.find((c) => c.name === 'loadImportedDevice')?.input).toEqual({
      deviceUuid: uuid,
      mode: 'in-band',
    });
    await app.close();
  });

  it('refuses a skip of a step the spec does not let an operator skip with 409, then resumes on retry', async () => {
    const taskQueue = uniqueQueue('api-decision');
    const app = await api(taskQueue);
    const uuid = await importDevice(deps.store, false);
    const url = `/api/v1/devices/${uuid}`;
    const asBob = await principalWith(deps.store, 'bob', [{ collection: '*', role: 'manage' }]);
    const fake = fakeLifecycleActivities({ commitSetup: ['fail', 'fail', 'fail'] });
    const worker = await createTestWorker(env, { taskQueue, activities: fake.activities });
    await worker.runUntil(async () => {
      expect((await app.inject({ method: 'POST', url: `${url}/provision`, headers: asOperator })).statusCode).toBe(202);
      await waitFor(
        'the run to park',
        async () => {
          const progress = await app.inject({ method: 'GET', url: `${url}/progress`, headers: asOperator });
          return progress.statusCode === 200 && progress.json().awaiting !== undefined;
        },
        60_000,
        100,
      );
      const decide = (payload: object) =>
        app.inject({ method: 'POST', url: `${url}/decision`, headers: asBob, payload });
      const skip = await decide({ action: 'skip', step: 'OOB8.6' });
      expect(skip.statusCode).toBe(409);
      expect(skip.json()).toEqual({ code: 'DECISION_REFUSED', message: expect.stringContaining('may not be skipped') });
      expect((await decide({ action: 'pause' })).json().code).toBe('INVALID_REQUEST');
      const retry = await decide({ action: 'retry', step: 'OOB8.6', reason: 'device rebooted' });
      expect(retry.statusCode).toBe(200);
      expect(retry.json().state).toBe('running');
      await env.client.workflow.getHandle(deviceWorkflowId(uuid)).result();
    });
    const audit = await deps.store.audit.forTarget(uuid);
    expect(
      audit.filter((a) => a.action === 'api.post /devices/:uuid/decision').map((a) => [a.actor, a.outcome]),
    ).toEqual([
      ['bob', 'failure'],
      ['bob', 'failure'],
      ['bob', 'success'],
    ]);
    await app.close();
  });
});
