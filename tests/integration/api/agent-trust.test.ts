import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createHelloService } from '../../../api/hello-service';
import { buildApiServer } from '../../../api/server';
import { otpHash } from '../../../emulator/agent/agent';
import { parseDeviceUuid } from '../../../lib/device-uuid';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import { deviceWorkflowId } from '../../../workflows/names';
import { createTestDeps, type TestDeps } from '../../support/activity-env';
import { connectTestEnv, uniqueQueue } from '../../support/temporal';
import { capturingLogger, importDevice, principalWith } from './support';

const PLACEHOLDERS = ['00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'];

/**
 * Issue 9 at the front doors: an in-band agent speaks only for its own computer (a credential
 * issued to that computer, revocable on its own; the wired address is the connection's source
 * unless a trusted proxy says otherwise; no redirecting a run in flight), an operator can clear
 * "client installed", and placeholder UUIDs are refused at import and at the hello.
 */
describe('agents and hellos speak only for their own computer', () => {
  let env: TestWorkflowEnvironment;
  let deps: TestDeps;
  /** An operator with Manage management controllers on every collection (P7). */
  let asOperator: { authorization: string };
  beforeAll(async () => {
    env = await connectTestEnv();
    deps = await createTestDeps({ directory: false });
    asOperator = await principalWith(deps.store, 'alice', [{ collection: '*', role: 'manage' }]);
  });
  afterAll(async () => {
    await deps?.cleanup();
    await env?.teardown();
  });

  async function api(trustedProxies?: string[]) {
    const app = await buildApiServer({
      store: deps.store,
      client: env.client,
      crl: () => deps.ca.crl(),
      logger: capturingLogger().logger,
      taskQueue: uniqueQueue('agent-trust'),
      ...(trustedProxies ? { trustedProxies } : {}),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return {
      close: () => app.close(),
      async post(url: string, payload: object, headers: Record<string, string> = {}) {
        const response = await fetch(base + url, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      },
      async remove(url: string, headers: Record<string, string>) {
        return (await fetch(base + url, { method: 'DELETE', headers })).status;
      },
    };
  }
  type Api = Awaited<ReturnType<typeof api>>;

  const reportOf = (uuid: string, wiredIpAddress: string) => ({
    uuid,
    otpHash: otpHash('K7pQ2xV9mR4tW8zB'),
    amtVersion: '15.0.23',
    sku: '16392',
    wiredIpAddress,
  });
  const credential = async (app: Api, uuid: string) => {
    const issued = await app.post(`/api/v1/devices/${uuid}/agent-credential`, {}, asOperator);
    expect(issued.status).toBe(201);
    return issued.body.token as string;
  };

  it('refuses a report for another computer, from another address, or with a revoked token', async () => {
    const app = await api();
    const [a, b] = [await importDevice(deps.store, false), await importDevice(deps.store, false)];
    const [tokenA, tokenB] = [await credential(app, a), await credential(app, b)];
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    // B's agent forging a report for A: refused, nothing recorded for A.
    const forged = await app.post('/api/v1/agent/reports', reportOf(a, '127.0.0.1'), bearer(tokenB));
    expect(forged).toMatchObject({ status: 403, body: { code: 'AGENT_NOT_FOR_DEVICE' } });
    // A's own agent naming a wired address that is not where the report comes from.
    const moved = await app.post('/api/v1/agent/reports', reportOf(a, '10.9.9.9'), bearer(tokenA));
    expect(moved).toMatchObject({ status: 403, body: { code: 'AGENT_ADDRESS_MISMATCH' } });
    expect(await deps.store.otp.latest(a)).toBeUndefined();
    expect(await deps.store.contacts.get(a)).toBeUndefined();

    // A's own report is taken; once A's credential is revoked it is not, and B's still is.
    expect((await app.post(`/api/v1/agent/${tokenA}/reports`, reportOf(a, '127.0.0.1'))).status).toBe(202);
    expect(await deps.store.contacts.get(a)).toMatchObject({ host: '127.0.0.1', source: 'agent' });
    expect(await app.remove(`/api/v1/devices/${a}/agent-credential`, asOperator)).toBe(200);
    expect((await app.post(`/api/v1/agent/${tokenA}/reports`, reportOf(a, '127.0.0.1'))).status).toBe(401);
    expect((await app.post(`/api/v1/agent/${tokenB}/reports`, reportOf(b, '127.0.0.1'))).status).toBe(202);
    await app.close();
  });

  it('takes the address a trusted proxy forwards, and a report cannot redirect a run in flight', async () => {
    const app = await api(['127.0.0.1']);
    const uuid = await importDevice(deps.store, false);
    const token = await credential(app, uuid);
    const via = (address: string) => ({ 'x-forwarded-for': address });
    expect((await app.post(`/api/v1/agent/${token}/reports`, reportOf(uuid, '10.1.2.3'), via('10.1.2.3'))).status).toBe(
      202,
    );
    expect(await deps.store.contacts.get(uuid)).toMatchObject({ host: '10.1.2.3', source: 'agent' });

    // A run in flight (on a queue no worker polls, so it stays in flight) uses 10.1.2.3.
    const run = await startLifecycle(
      env.client,
      'provision',
      { deviceUuid: uuid, mode: 'in-band', requestedBy: 'alice' },
      { taskQueue: uniqueQueue('agent-trust-idle') },
    );
    try {
      const redirect = await app.post(`/api/v1/agent/${token}/reports`, reportOf(uuid, '10.6.6.6'), via('10.6.6.6'));
      expect(redirect).toMatchObject({ status: 409, body: { code: 'RUN_IN_FLIGHT' } });
      expect(await deps.store.contacts.get(uuid)).toMatchObject({ host: '10.1.2.3' });
      expect(await deps.store.contacts.openConflicts(uuid)).toEqual([
        expect.objectContaining({
          host: '10.6.6.6',
          knownHost: '10.1.2.3',
          source: 'agent',
          workflowId: run.workflowId,
        }),
      ]);
      expect((await deps.store.audit.forTarget(uuid)).map((a) => a.action)).toContain('agent.duplicate-uuid');
      const cleared = await app.post(`/api/v1/devices/${uuid}/identity-conflicts/clear`, {}, asOperator);
      expect(cleared).toMatchObject({ status: 200, body: { cleared: 1 } });
      expect(await deps.store.contacts.openConflicts(uuid)).toEqual([]);
    } finally {
      await env.client.workflow.getHandle(deviceWorkflowId(uuid)).terminate('test over');
    }
    await app.close();
  });

  it('keeps and audits a hello from another address during an in-band run, as out of band, and never uses it', async () => {
    const uuid = await importDevice(deps.store, false);
    await deps.store.contacts.recordAgentReport(uuid, { host: '10.1.2.4' });
    const run = await startLifecycle(
      env.client,
      'provision',
      { deviceUuid: uuid, mode: 'in-band', requestedBy: 'alice' },
      { taskQueue: uniqueQueue('agent-trust-idle') },
    );
    try {
      const { logger, lines } = capturingLogger();
      const hellos = createHelloService({ store: deps.store, client: env.client, logger });
      const hello = { version: 3 as const, adminCredentialsSet: false, retryCount: 0, uuid, rootHashes: [] };
      await hellos.onHello(hello, '127.20.1.7');
      expect(String(lines.at(-1)?.msg)).toMatch(/^hello discarded: DUPLICATE_UUID/);
      expect(await deps.store.contacts.get(uuid)).toMatchObject({ host: '10.1.2.4', source: 'agent' });
      expect(await deps.store.contacts.openConflicts(uuid)).toEqual([
        expect.objectContaining({
          host: '127.20.1.7',
          knownHost: '10.1.2.4',
          source: 'hello',
          workflowId: run.workflowId,
        }),
      ]);
      expect(await deps.store.audit.forTarget(uuid)).toContainEqual(
        expect.objectContaining({
          actor: 'hello-listener',
          action: 'hello.duplicate-uuid',
          outcome: 'denied',
          details: expect.objectContaining({ host: '127.20.1.7', knownHost: '10.1.2.4' }),
        }),
      );
    } finally {
      await env.client.workflow.getHandle(deviceWorkflowId(uuid)).terminate('test over');
    }
  });

  it('lets an operator clear "client installed", after which the computer\'s hellos count again', async () => {
    const app = await api();
    const uuid = await importDevice(deps.store, false);
    await deps.store.contacts.recordAgentReport(uuid, { host: '10.0.0.5' });
    const { logger, lines } = capturingLogger();
    const hellos = createHelloService({ store: deps.store, client: env.client, logger });
    const hello = { version: 3 as const, adminCredentialsSet: false, retryCount: 0, uuid, rootHashes: [] };
    await hellos.onHello(hello, '127.20.1.9');
    expect(lines.map((l) => l.msg)).toEqual(['hello discarded: the in-band agent reported for this device (IB7)']);

    const cleared = await app.post(`/api/v1/devices/${uuid}/client-installed/clear`, {}, asOperator);
    expect(cleared).toMatchObject({ status: 200, body: { cleared: true } });
    await hellos.onHello(hello, '127.20.1.9');
    expect(lines.map((l) => l.msg).at(-1)).toBe('hello recorded; automatic provisioning is off for this device');
    expect(await deps.store.contacts.get(uuid)).toMatchObject({ host: '127.20.1.9', source: 'hello' });
    await app.close();
  });

  it.each(PLACEHOLDERS)('refuses the placeholder UUID %s at import and at the hello', async (placeholder) => {
    const app = await api();
    const imported = await app.post(
      '/api/v1/devices',
      { uuid: placeholder, hostName: 'oem-image', domain: 'corp.example.test' },
      asOperator,
    );
    expect(imported).toMatchObject({ status: 400, body: { code: 'PLACEHOLDER_DEVICE_UUID' } });
    const uuid = parseDeviceUuid(placeholder);
    expect(await deps.store.devices.get(uuid)).toBeUndefined();

    const { logger, lines } = capturingLogger();
    const hellos = createHelloService({ store: deps.store, client: env.client, logger });
    await hellos.onHello({ version: 3, adminCredentialsSet: false, retryCount: 0, uuid, rootHashes: [] }, '127.20.1.8');
    expect(String(lines.at(-1)?.msg)).toMatch(/^hello discarded: PLACEHOLDER_DEVICE_UUID/);
    expect(await deps.store.contacts.get(uuid)).toBeUndefined();
    await app.close();
  });
});
