import { spawn } from 'node:child_process';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse as parseCsv } from 'csv-parse/sync';
import { ALL_COLLECTIONS } from '../../../lib/rights';
import { deviceWorkflowId } from '../../../workflows/names';
import { createTestDeps, type TestDeps } from '../../support/activity-env';
import { newDeviceUuid } from '../../support/device-uuid';
import { connectTestEnv, uniqueQueue } from '../../support/temporal';
import { apiCaller, listenApi, principalWith } from './support';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Issue 11 §2, §5–§6 against a real API over PGlite and a real Temporal server: the OPS4 reports as
 * JSON and CSV, filtered by the caller's rights; collections, profiles and principals created, read,
 * changed and deleted, with typed errors naming the field; and the `amtflow` CLI end to end against
 * the running API (a child process, as an operator runs it).
 */
describe('reports, configuration routes and the CLI', () => {
  let env: TestWorkflowEnvironment;
  let deps: TestDeps;
  let origin: string;
  let close: () => Promise<void>;
  let admin: { authorization: string };
  const started: string[] = [];

  beforeAll(async () => {
    env = await connectTestEnv();
    deps = await createTestDeps({ directory: false });
    ({ origin, close } = await listenApi(deps, env.client, { taskQueue: uniqueQueue('surface') }));
    admin = await principalWith(deps.store, 'site-admin', [{ collection: ALL_COLLECTIONS, role: 'administrator' }]);
  });
  afterAll(async () => {
    for (const id of started)
      await env.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    await close?.();
    await deps?.cleanup();
    await env?.teardown();
  });

  const call = apiCaller(() => `${origin}/api/v1`);

  async function device(collection: string, amtVersion?: string) {
    const uuid = newDeviceUuid();
    await deps.store.devices.importComputer({
      uuid,
      hostName: `r-${uuid.slice(0, 8)}`,
      domain: 'corp.example.test',
      collection,
    });
    if (amtVersion) await deps.store.devices.update(uuid, { amtVersion, discoveryStatus: 'provisioned' });
    return uuid;
  }

  describe('reports (OPS4)', () => {
    beforeAll(async () => {
      await deps.store.profiles.save('reports', {});
      for (const name of ['north', 'south'])
        await deps.store.collections.save({ name, automaticProvisioning: false, settingsProfile: 'reports' });
      await device('north', '11.8.50');
      await device('north', '11.8.50');
      const failed = await device('south', '15.0.23');
      await deps.store.results.record(
        {
          device: failed,
          operation: 'provision',
          workflowId: deviceWorkflowId(failed),
          outcome: 'failed',
          stageReached: 'stage-one',
          summary: 'failed at OOB8.6',
        },
        `${deviceWorkflowId(failed)}/run/OOB10`,
      );
    });

    it('counts devices by status, collection and AMT version over the collections the caller may view', async () => {
      const viewer = await principalWith(deps.store, 'north-viewer', [{ collection: 'north', role: 'view' }]);
      const json = await call(viewer, 'GET', '/reports/devices');
      expect(json.status).toBe(200);
      expect(json.json().report).toBe('devices');
      const rows = json.json().rows as Array<Record<string, unknown>>;
      expect(rows.every((r) => r.collection === 'north')).toBe(true);
      expect(rows).toEqual([expect.objectContaining({ collection: 'north', amtVersion: '11.8.50', count: 2 })]);

      // The same rows as CSV, by query or by Accept.
      const csv = await call(viewer, 'GET', '/reports/devices?format=csv');
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(csv.headers.get('content-disposition')).toContain('amtflow-devices.csv');
      const records = parseCsv(csv.text, { columns: true }) as Array<Record<string, string>>;
      expect(records).toEqual([expect.objectContaining({ collection: 'north', amtVersion: '11.8.50', count: '2' })]);
      const accepted = await fetch(`${origin}/api/v1/reports/devices`, {
        headers: { ...viewer, accept: 'text/csv' },
      });
      expect(await accepted.text()).toBe(csv.text);

      const everything = (await call(admin, 'GET', '/reports/devices')).json().rows as Array<{ collection: string }>;
      expect(new Set(everything.map((r) => r.collection))).toEqual(new Set(['north', 'south']));
    });

    it('reports runs by step and expiring certificates to a caller with View on *, and refuses one without', async () => {
      const viewer = await principalWith(deps.store, 'north-viewer-2', [{ collection: 'north', role: 'view' }]);
      const refused = await call(viewer, 'GET', '/reports/runs');
      expect(refused.status).toBe(403);
      expect(refused.json()).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining('north-viewer-2') });
      expect((await call(viewer, 'GET', '/reports/certificates')).status).toBe(403);

      const siteViewer = await principalWith(deps.store, 'site-viewer', [
        { collection: ALL_COLLECTIONS, role: 'view' },
      ]);
      const runs = await call(siteViewer, 'GET', '/reports/runs?days=7');
      expect(runs.status).toBe(200);
      expect(runs.json().rows).toEqual([
        expect.objectContaining({ operation: 'provision', outcome: 'failed', stage: 'stage-one', count: 1 }),
      ]);
      const runsCsv = parseCsv((await call(siteViewer, 'GET', '/reports/runs?days=7&format=csv')).text, {
        columns: true,
      }) as Array<Record<string, string>>;
      expect(runsCsv).toEqual([expect.objectContaining({ operation: 'provision', outcome: 'failed', count: '1' })]);
      expect(runsCsv[0]?.since).toMatch(/^\d{4}-\d\d-\d\dT/);
      const certificates = await call(siteViewer, 'GET', '/reports/certificates?days=42');
      expect(certificates.json()).toEqual({ report: 'certificates', rows: [] });

      const bad = await call(siteViewer, 'GET', '/reports/runs?days=0');
      expect(bad.status).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'INVALID_REQUEST', issues: [{ field: 'days' }] });
      expect((await call(siteViewer, 'GET', '/reports/devices?format=xml')).json()).toMatchObject({
        code: 'INVALID_REQUEST',
        issues: [{ field: 'format' }],
      });
    });

    it('reads the audit log (P7) for one target to a caller with View on *, as JSON and CSV, and refuses one without', async () => {
      const target = 'b2d5c0e1-7a44-4f3b-9c1d-0e2f3a4b5c6d';
      await deps.store.audit.append({
        actor: 'alice',
        action: 'provision.retry',
        target,
        outcome: 'success',
        details: { step: 'OOB8.6' },
      });
      await deps.store.audit.append({ actor: 'bob', action: 'provision.abort', target, outcome: 'success' });
      await deps.store.audit.append({
        actor: 'alice',
        action: 'provision.retry',
        target: 'elsewhere',
        outcome: 'success',
      });
      const viewer = await principalWith(deps.store, 'north-viewer-3', [{ collection: 'north', role: 'view' }]);
      expect((await call(viewer, 'GET', `/reports/audit?target=${target}`)).status).toBe(403);

      const siteViewer = await principalWith(deps.store, 'site-viewer-audit', [
        { collection: ALL_COLLECTIONS, role: 'view' },
      ]);
      const rows = (await call(siteViewer, 'GET', `/reports/audit?target=${target}`)).json().rows;
      expect(rows.map((r: { actor: string; action: string }) => [r.actor, r.action])).toEqual([
        ['bob', 'provision.abort'],
        ['alice', 'provision.retry'],
      ]);
      const csv = parseCsv(
        (await call(siteViewer, 'GET', `/reports/audit?target=${target}&actor=alice&format=csv`)).text,
        {
          columns: true,
        },
      ) as Array<Record<string, string>>;
      expect(csv).toEqual([expect.objectContaining({ actor: 'alice', target, details: '{"step":"OOB8.6"}' })]);
      expect((await call(siteViewer, 'GET', '/reports/audit?limit=0')).json()).toMatchObject({
        code: 'INVALID_REQUEST',
        issues: [{ field: 'limit' }],
      });
    });
  });

  describe('collections, profiles and principals', () => {
    it('creates, reads, changes and deletes a collection and its profile, naming the field at fault', async () => {
      const badProfile = await call(admin, 'PUT', '/profiles/crud-desktops', { ping: 'yes' });
      expect(badProfile.status).toBe(400);
      expect(badProfile.json()).toMatchObject({ code: 'INVALID_PROFILE', issues: [{ field: 'ping' }] });
      const created = await call(admin, 'PUT', '/profiles/crud-desktops', { ping: true });
      expect(created.status).toBe(201);
      expect(created.json()).toMatchObject({ profile: { name: 'crud-desktops' }, needsUpdate: [] });

      const badCollection = await call(admin, 'PUT', '/collections/crud', { automaticProvisioning: 'on' });
      expect(badCollection.status).toBe(400);
      expect(badCollection.json()).toMatchObject({
        code: 'INVALID_REQUEST',
        issues: [{ field: 'automaticProvisioning' }],
      });
      const noProfile = await call(admin, 'PUT', '/collections/crud', { settingsProfile: 'nosuch' });
      expect(noProfile.status).toBe(404);
      expect(noProfile.json().code).toBe('PROFILE_NOT_FOUND');
      expect(
        (
          await call(admin, 'PUT', '/collections/crud', {
            automaticProvisioning: true,
            settingsProfile: 'crud-desktops',
          })
        ).status,
      ).toBe(201);
      expect((await call(admin, 'PUT', '/collections/crud', { settingsProfile: 'crud-desktops' })).status).toBe(200);
      const member = await device('crud');
      expect((await call(admin, 'GET', '/collections/crud')).json()).toMatchObject({
        name: 'crud',
        automaticProvisioning: false,
        settingsProfile: 'crud-desktops',
        devices: 1,
      });

      // UPD1: a profile change names the provisioned devices that now need an update.
      await deps.store.devices.update(member, { provisioningState: 'provisioned' });
      const changed = await call(admin, 'PUT', '/profiles/crud-desktops', { ping: false });
      expect(changed.status).toBe(200);
      expect(changed.json()).toMatchObject({ profile: { revision: 2 }, needsUpdate: [member] });

      const inUse = await call(admin, 'DELETE', '/profiles/crud-desktops');
      expect([inUse.status, inUse.json().code]).toEqual([409, 'PROFILE_IN_USE']);
      const notEmpty = await call(admin, 'DELETE', '/collections/crud');
      expect([notEmpty.status, notEmpty.json().code]).toEqual([409, 'COLLECTION_NOT_EMPTY']);
      await deps.store.devices.update(member, { collection: null });
      expect((await call(admin, 'DELETE', '/collections/crud')).status).toBe(204);
      expect((await call(admin, 'GET', '/collections/crud')).json().code).toBe('COLLECTION_NOT_FOUND');
      expect((await call(admin, 'DELETE', '/profiles/crud-desktops')).status).toBe(204);
      expect((await call(admin, 'GET', '/profiles/crud-desktops')).json().code).toBe('PROFILE_NOT_FOUND');
    });

    it('creates a principal, grants it a role, issues and revokes its tokens, and disables it', async () => {
      const bad = await call(admin, 'POST', '/principals', {
        name: 'x',
        grants: [{ collection: 'north', role: 'owner' }],
      });
      expect(bad.status).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'INVALID_REQUEST', issues: [{ field: 'grants.0.role' }] });
      const created = await call(admin, 'POST', '/principals', {
        name: 'svc-inventory',
        kind: 'service',
        grants: [{ collection: 'north', role: 'view' }],
      });
      expect(created.status).toBe(201);
      expect(created.json()).toMatchObject({ name: 'svc-inventory', grants: [{ collection: 'north', role: 'view' }] });
      expect((await call(admin, 'POST', '/principals', { name: 'svc-inventory' })).json().code).toBe(
        'PRINCIPAL_EXISTS',
      );
      expect(
        (await call(admin, 'PUT', '/principals/svc-inventory/roles', { collection: 'south', role: 'manage' })).status,
      ).toBe(200);

      const issued = await call(admin, 'POST', '/principals/svc-inventory/tokens', { label: 'nightly export' });
      expect(issued.status).toBe(201);
      expect(issued.headers.get('cache-control')).toBe('no-store');
      const service = { authorization: `Bearer ${issued.json().token}` };
      expect((await call(service, 'GET', '/devices')).status).toBe(200);
      // A principal that is not an administrator on * reaches no principal route.
      expect((await call(service, 'GET', '/principals')).status).toBe(403);
      const shown = (await call(admin, 'GET', '/principals/svc-inventory')).json();
      expect(shown.tokens).toEqual([expect.objectContaining({ id: issued.json().id, label: 'nightly export' })]);
      expect(JSON.stringify(shown)).not.toContain(issued.json().token);

      expect((await call(admin, 'DELETE', '/tokens/999999')).json().code).toBe('TOKEN_NOT_FOUND');
      expect((await call(admin, 'POST', '/principals/svc-inventory/disable', {})).status).toBe(200);
      expect((await call(service, 'GET', '/devices')).status).toBe(401);
      expect((await call(admin, 'GET', '/principals/nobody')).json().code).toBe('PRINCIPAL_NOT_FOUND');
    });
  });

  describe('the amtflow CLI against the running API', () => {
    /** Runs `amtflow …` as an operator would, with the token from the environment. */
    function amtflow(token: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
      const child = spawn(
        path.join(ROOT, 'node_modules', '.bin', 'tsx'),
        [path.join(ROOT, 'cli', 'main.ts'), ...args],
        {
          cwd: ROOT,
          env: { ...process.env, AMTFLOW_API_URL: origin, AMTFLOW_TOKEN: token, AMTFLOW_CLI_CONFIG: '' },
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
      return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, out, err })));
    }
    const tokenOf = (headers: { authorization: string }) => headers.authorization.replace(/^Bearer /, '');

    it('configures, lists, reports and forgets through the API, and exits 1 with the API’s code on a refusal', async () => {
      const token = tokenOf(admin);
      await deps.store.profiles.save('cli-profile', {});
      const set = await amtflow(token, '--json', 'collections', 'set', 'cli-lab', '--profile', 'cli-profile');
      expect(set).toMatchObject({ code: 0 });
      expect(JSON.parse(set.out)).toMatchObject({ name: 'cli-lab', settingsProfile: 'cli-profile' });
      const uuid = await device('cli-lab', '16.1.25');

      const listed = await amtflow(token, '--json', 'devices', '--collection', 'cli-lab');
      expect(JSON.parse(listed.out)).toMatchObject({ total: 1, devices: [{ uuid, collection: 'cli-lab' }] });
      // The text list gives the OPS1 status and when discovery last saw it ('-': never swept).
      const seenAt = new Date('2026-11-30T08:15:00.123Z');
      await deps.store.console.recordDiscovery({
        host: '127.0.0.1',
        httpPort: 16992,
        tlsPort: 16993,
        deviceUuid: uuid,
        status: 'not_provisioned',
        amtVersion: '16.1.25',
        evidence: {},
        seenBy: 'sweep-cli-test',
        seenAt,
      });
      const text = await amtflow(token, 'devices', '--collection', 'cli-lab');
      expect(text.out.split('\n')[0]?.split(/\s+/)).toEqual([
        uuid,
        expect.stringMatching(/\.corp\.example\.test$/),
        'cli-lab',
        expect.any(String),
        'not_provisioned',
        '2026-11-30T08:15:00Z',
        '16.1.25',
      ]);

      const report = await amtflow(token, 'reports', 'devices', '--format', 'csv');
      expect(report.code).toBe(0);
      expect(parseCsv(report.out, { columns: true })).toEqual(
        expect.arrayContaining([expect.objectContaining({ collection: 'cli-lab', amtVersion: '16.1.25', count: '1' })]),
      );

      const forgotten = await amtflow(token, 'forget', uuid, '--reason', 'replaced', '--note', 'board swap, ticket 9');
      expect(forgotten).toMatchObject({ code: 0, out: `${deviceWorkflowId(uuid)}\n` });
      started.push(deviceWorkflowId(uuid));
      const busy = await amtflow(token, 'forget', uuid, '--reason', 'replaced');
      expect(busy.code).toBe(1);
      expect(busy.err).toMatch(/^OPERATION_IN_FLIGHT: .*forget/);

      const missing = await amtflow(token, '--json', 'collections', 'show', 'nosuch');
      expect(missing.code).toBe(1);
      expect(JSON.parse(missing.err)).toMatchObject({ code: 'COLLECTION_NOT_FOUND' });
      const viewer = await principalWith(deps.store, 'cli-viewer', [{ collection: 'cli-lab', role: 'view' }]);
      const refused = await amtflow(tokenOf(viewer), 'collections', 'delete', 'cli-lab');
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/^FORBIDDEN: cli-viewer does not hold the right "administrator"/);
      const badReason = await amtflow(token, 'forget', uuid, '--reason', 'misplaced');
      expect(badReason.code).not.toBe(0);
      expect(badReason.err).toContain('Allowed choices are scrapped, stolen, lost, replaced');
    });
  });
});
