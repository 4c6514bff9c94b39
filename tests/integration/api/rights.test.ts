import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ALL_COLLECTIONS, roleIncludes, type Right, type Role } from '../../../lib/rights';
import { createTestDeps, type TestDeps } from '../../support/activity-env';
import { backends } from '../../support/databases';
import { newDeviceUuid } from '../../support/device-uuid';
import { connectTestEnv, uniqueQueue } from '../../support/temporal';
import { schedulesSchema } from '../../../lib/config/schema';
import { ensureSchedules, listScheduleIds, scheduleIds } from '../../../runtime/schedules';
import { waitFor } from '../../../scripts/lib/process';
import { deviceWorkflowId } from '../../../workflows/names';
import { apiCaller, capturingLogger, listenApi, principalWith } from './support';

/**
 * Spec P7 and issue 11 §1–2, §4 against a real API over PGlite and a real Temporal server: the
 * matrix role × collection × action (device actions, forget included, console work and schedules), generated,
 * each cell asserting the status and the audit row; the schedule list filtered by rights; CSV import
 * with broken rows; break-glass audited, rate-limited (under concurrent requests too, over
 * PostgreSQL) and never logged.
 */
describe('rights per collection', () => {
  let env: TestWorkflowEnvironment;
  let deps: TestDeps;
  let base: string;
  let close: () => Promise<void>;
  const { logger, lines } = capturingLogger();
  const started: string[] = [];
  const scheduleIdPrefix = uniqueQueue('rights-sched');

  beforeAll(async () => {
    env = await connectTestEnv();
    deps = await createTestDeps({ directory: false });
    const api = await listenApi(deps, env.client, {
      logger,
      taskQueue: uniqueQueue('rights'),
      breakGlassLimit: { count: 2, windowMs: 60 * 60 * 1000 },
      scheduleIdPrefix,
    });
    base = `${api.origin}/api/v1`;
    close = api.close;
    await deps.store.profiles.save('rights', {});
    for (const name of ['alpha', 'beta'])
      await deps.store.collections.save({ name, automaticProvisioning: false, settingsProfile: 'rights' });
    // The schedules' cells: gamma's automatic-provisioning sweep and the two site-wide schedules.
    await deps.store.collections.save({ name: 'gamma', automaticProvisioning: true, settingsProfile: 'rights' });
    await ensureSchedules(env.client, deps.store, schedulesSchema.parse({}), {
      idPrefix: scheduleIdPrefix,
      taskQueue: uniqueQueue('rights-sched-queue'),
    });
  });
  afterAll(async () => {
    for (const id of Object.values(scheduleIds(scheduleIdPrefix)))
      if (typeof id === 'string')
        await env.client.schedule
          .getHandle(id)
          .delete()
          .catch(() => undefined);
    await env.client.schedule
      .getHandle(scheduleIds(scheduleIdPrefix).automaticProvisioning('gamma'))
      .delete()
      .catch(() => undefined);
    for (const id of started)
      await env.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    await close?.();
    await deps?.cleanup();
    await env?.teardown();
  });

  const call = apiCaller(() => base);

  async function device(collection: string) {
    const uuid = newDeviceUuid();
    await deps.store.devices.importComputer({
      uuid,
      hostName: `m-${uuid.slice(0, 8)}`,
      domain: 'corp.example.test',
      collection,
    });
    return uuid;
  }

  const actions: Array<{
    name: string;
    right: Right;
    method: string;
    path: string;
    /** A query string the request carries; the audit names the route without it. */
    query?: string;
    body?: object;
    ok: number;
    outcome: 'success' | 'failure';
  }> = [
    { name: 'show the device', right: 'view', method: 'GET', path: '', ok: 200, outcome: 'success' },
    { name: 'read its progress', right: 'view', method: 'GET', path: '/progress', ok: 404, outcome: 'failure' },
    {
      name: 'provision it',
      right: 'manage',
      method: 'POST',
      path: '/provision',
      body: {},
      ok: 202,
      outcome: 'success',
    },
    {
      name: 'forget it',
      right: 'administrator',
      method: 'POST',
      path: '/forget',
      body: { reason: 'scrapped' },
      ok: 202,
      outcome: 'success',
    },
    {
      name: 'break glass',
      right: 'administrator',
      method: 'POST',
      path: '/break-glass',
      body: { reason: 'outage of the console, ticket 42' },
      ok: 404,
      outcome: 'failure',
    },
    // Console routes (OPS2, OPS3). No worker polls here, so an allowed request is one the handler
    // itself refuses for its body or query (400), past the rights check: power needs View, sessions Manage.
    {
      name: 'control its power',
      right: 'view',
      method: 'POST',
      path: '/power',
      body: { action: 'unplug' },
      ok: 400,
      outcome: 'failure',
    },
    {
      name: 'open serial over LAN',
      right: 'manage',
      method: 'POST',
      path: '/sol',
      query: '?timeLimitSeconds=0',
      ok: 400,
      outcome: 'failure',
    },
    {
      name: 'open IDE redirection',
      right: 'manage',
      method: 'POST',
      path: '/ider',
      body: { image: 'not a multiple of 512 bytes' },
      ok: 400,
      outcome: 'failure',
    },
  ];
  const roles: Array<Role | 'none'> = ['none', 'view', 'manage', 'administrator'];
  const scopes = [
    { name: "the device's collection", grant: 'alpha' },
    { name: 'another collection', grant: 'beta' },
    { name: 'every collection', grant: ALL_COLLECTIONS },
  ];
  const cells = roles.flatMap((role) =>
    (role === 'none' ? [scopes[0]!] : scopes).flatMap((scope) => actions.map((action) => ({ role, scope, action }))),
  );

  it.each(cells)(
    '$role on $scope.name may $action.name only if the role includes it',
    async ({ role, scope, action }) => {
      const name = `p-${role}-${scope.grant === '*' ? 'all' : scope.grant}-${action.path.replace('/', '') || 'show'}`;
      const headers = await principalWith(deps.store, name, role === 'none' ? [] : [{ collection: scope.grant, role }]);
      const uuid = await device('alpha');
      const allowed = role !== 'none' && roleIncludes(role, action.right) && scope.grant !== 'beta';
      const answer = await call(
        headers,
        action.method,
        `/devices/${uuid}${action.path}${action.query ?? ''}`,
        action.body,
      );
      expect(answer.status).toBe(allowed ? action.ok : 403);
      if (!allowed) {
        expect(answer.json()).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining(name) });
        // A device that does not exist is refused in the same words: the refusal reveals nothing.
        const ghost = await call(
          headers,
          action.method,
          `/devices/${newDeviceUuid()}${action.path}${action.query ?? ''}`,
          action.body,
        );
        expect(ghost.status).toBe(403);
        expect(ghost.json().message).toBe(answer.json().message);
        expect(answer.text).not.toMatch(/collection/);
      }
      if (answer.status === 202) started.push(deviceWorkflowId(uuid));
      const audit = await deps.store.audit.forTarget(uuid);
      expect(audit).toEqual([
        expect.objectContaining({
          actor: name,
          action: `api.${action.method.toLowerCase()} /devices/:uuid${action.path}`,
          outcome: allowed ? action.outcome : 'denied',
        }),
      ]);
    },
  );

  // Console work over a collection (OPS1, OPS2) needs View on it; a discovery over an address
  // range reaches devices of any collection, and none, so it needs View on the site (`*`).
  const consoleActions = [
    {
      name: "power on alpha's devices",
      path: '/collections/alpha/power',
      route: '/collections/:collection/power',
      body: { action: 'on' },
      site: false,
    },
    { name: 'discover alpha', path: '/discovery', route: '/discovery', body: { collection: 'alpha' }, site: false },
    {
      name: 'discover an address range',
      path: '/discovery',
      route: '/discovery',
      body: { first: '127.0.0.1', last: '127.0.0.4' },
      site: true,
    },
  ];
  const consoleCells = roles.flatMap((role) =>
    (role === 'none' ? [scopes[0]!] : scopes).flatMap((scope) =>
      consoleActions.map((action) => ({ role, scope, action })),
    ),
  );

  it.each(consoleCells)(
    '$role on $scope.name may $action.name only with View on its scope',
    async ({ role, scope, action }) => {
      const name = `c-${role}-${scope.grant === '*' ? 'all' : scope.grant}-${action.name.replace(/\W+/g, '-')}`;
      const headers = await principalWith(deps.store, name, role === 'none' ? [] : [{ collection: scope.grant, role }]);
      const allowed =
        role !== 'none' &&
        roleIncludes(role, 'view') &&
        (scope.grant === ALL_COLLECTIONS || (!action.site && scope.grant === 'alpha'));
      const answer = await call(headers, 'POST', action.path, action.body);
      expect(answer.status).toBe(allowed ? 202 : 403);
      if (allowed) started.push(answer.json().workflowId);
      else expect(answer.json()).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining(name) });
      const audit = await deps.store.audit.recent({ actor: name });
      expect(audit).toEqual([
        expect.objectContaining({ action: `api.post ${action.route}`, outcome: allowed ? 'success' : 'denied' }),
      ]);
    },
  );

  // Schedules (issue 11 §4) follow what they start: a sweep its collection, the others the site.
  const scheduleActions = [
    {
      name: "pause gamma's sweep",
      id: () => scheduleIds(scheduleIdPrefix).automaticProvisioning('gamma'),
      site: false,
    },
    { name: 'pause certificate renewal', id: () => scheduleIds(scheduleIdPrefix).certificateRenewal, site: true },
  ];
  const scheduleScopes = [
    { name: "the sweep's collection", grant: 'gamma' },
    { name: 'another collection', grant: 'beta' },
    { name: 'every collection', grant: ALL_COLLECTIONS },
  ];
  const scheduleCells = roles.flatMap((role) =>
    (role === 'none' ? [scheduleScopes[0]!] : scheduleScopes).flatMap((scope) =>
      scheduleActions.map((action) => ({ role, scope, action })),
    ),
  );

  it.each(scheduleCells)(
    '$role on $scope.name may $action.name only with Manage on its scope',
    async ({ role, scope, action }) => {
      const name = `s-${role}-${scope.grant === '*' ? 'all' : scope.grant}-${action.site ? 'site' : 'sweep'}`;
      const headers = await principalWith(deps.store, name, role === 'none' ? [] : [{ collection: scope.grant, role }]);
      const scheduleId = action.id();
      const allowed =
        role !== 'none' &&
        roleIncludes(role, 'manage') &&
        (scope.grant === ALL_COLLECTIONS || (!action.site && scope.grant === 'gamma'));
      const answer = await call(headers, 'POST', `/schedules/${scheduleId}/pause`, { reason: 'rights matrix' });
      expect(answer.status).toBe(allowed ? 200 : 403);
      if (allowed) expect(answer.json()).toMatchObject({ scheduleId, paused: true });
      else expect(answer.json()).toEqual({ code: 'FORBIDDEN', message: expect.stringContaining(name) });
      const audit = (await deps.store.audit.recent({ actor: name })).filter((a) => a.action.includes('/schedules'));
      expect(audit).toEqual([
        expect.objectContaining({
          action: 'api.post /schedules/:scheduleId/pause',
          // The hook refuses one who views nothing before the route names the schedule.
          target: role !== 'none' ? scheduleId : 'schedules',
          outcome: allowed ? 'success' : 'denied',
        }),
      ]);
    },
  );

  it('lists the sweeps of collections the caller may view and the site-wide schedules', async () => {
    const ids = scheduleIds(scheduleIdPrefix);
    const ours = async () => (await listScheduleIds(env.client)).filter((id) => id.startsWith(`${scheduleIdPrefix}-`));
    await waitFor('the schedules to be listed', async () => (await ours()).length === 3, 30_000);
    const listed = async (grant: string) => {
      const headers = await principalWith(deps.store, `s-list-${grant === '*' ? 'all' : grant}`, [
        { collection: grant, role: 'view' },
      ]);
      const answer = await call(headers, 'GET', '/schedules');
      expect(answer.status).toBe(200);
      return answer
        .json()
        .map((s: { scheduleId: string }) => s.scheduleId)
        .sort();
    };
    const siteWide = [ids.certificateRenewal, ids.passwordRotation].sort();
    expect(await listed('beta')).toEqual(siteWide);
    expect(await listed('gamma')).toEqual([ids.automaticProvisioning('gamma'), ...siteWide].sort());
    expect(await listed(ALL_COLLECTIONS)).toEqual([ids.automaticProvisioning('gamma'), ...siteWide].sort());
  });

  it('lists only the devices of collections the caller may view, and refuses one without any role', async () => {
    const inAlpha = await device('alpha');
    const inBeta = await device('beta');
    const viewer = await principalWith(deps.store, 'list-viewer', [{ collection: 'alpha', role: 'view' }]);
    const listed = await call(viewer, 'GET', '/devices?limit=1000');
    expect(listed.status).toBe(200);
    const uuids = listed.json().devices.map((d: { uuid: string }) => d.uuid);
    expect(uuids).toContain(inAlpha);
    expect(uuids).not.toContain(inBeta);
    expect(listed.json().devices.every((d: { collection: string }) => d.collection === 'alpha')).toBe(true);
    const searched = await call(viewer, 'GET', `/devices?q=${inAlpha.slice(0, 8)}`);
    expect(searched.json()).toMatchObject({ total: 1, devices: [{ uuid: inAlpha }] });
    const nobody = await principalWith(deps.store, 'list-nobody', []);
    expect((await call(nobody, 'GET', '/devices')).status).toBe(403);
    expect((await call({}, 'GET', '/devices')).status).toBe(401);
    const revoked = await principalWith(deps.store, 'list-revoked', [{ collection: '*', role: 'view' }]);
    const [token] = await deps.store.principals.tokens('list-revoked');
    await deps.store.principals.revokeToken(token!.id);
    expect((await call(revoked, 'GET', '/devices')).status).toBe(401);
  });

  it('imports a CSV row by row: broken rows are reported by line and never block the good ones', async () => {
    const manager = await principalWith(deps.store, 'csv-manager', [{ collection: 'alpha', role: 'manage' }]);
    const good1 = newDeviceUuid();
    const good2 = newDeviceUuid();
    const csv = [
      'uuid,hostName,domain,collection',
      `${good1},pc-a1,corp.example.test,alpha`,
      `not-a-uuid,pc-a2,corp.example.test,alpha`,
      `${newDeviceUuid()},bad_host!,corp.example.test,alpha`,
      `${newDeviceUuid()},pc-a4,corp.example.test,nosuch`,
      `${newDeviceUuid()},pc-a5,corp.example.test,beta`,
      `${newDeviceUuid()},pc-a6,corp.example.test,alpha,extra`,
      `${good2},"pc-a7",corp.example.test,alpha`,
      `${good1},pc-a1,corp.example.test,alpha`,
    ].join('\n');
    const answer = await call(manager, 'POST', '/devices/import', csv, 'text/csv');
    expect(answer.status).toBe(200);
    const result = answer.json();
    expect(result).toMatchObject({ created: 2, unchanged: 1, failed: 5 });
    expect(
      result.results.map((r: { line: number; status: string; code?: string }) => [r.line, r.status, r.code]),
    ).toEqual([
      [2, 'created', undefined],
      [3, 'failed', 'INVALID_INPUT'],
      [4, 'failed', 'INVALID_INPUT'],
      [5, 'failed', 'FORBIDDEN'],
      [6, 'failed', 'FORBIDDEN'],
      [7, 'failed', 'INVALID_REQUEST'],
      [8, 'created', undefined],
      [9, 'unchanged', undefined],
    ]);
    expect(result.results[2].issues).toEqual([expect.objectContaining({ field: 'hostName' })]);
    expect(await deps.store.devices.get(good1)).toMatchObject({ hostName: 'pc-a1', collection: 'alpha' });
    expect(await deps.store.devices.get(good2)).toMatchObject({ hostName: 'pc-a7', collection: 'alpha' });
    expect(await deps.store.audit.forTarget(good2)).toEqual([
      expect.objectContaining({ actor: 'csv-manager', action: 'device.import', outcome: 'success' }),
    ]);
  });

  it('reveals the current AMT admin password to an administrator with a reason, audited, rate-limited, never logged', async () => {
    const uuid = await device('alpha');
    const password = 'Br3ak-Gl4ss!pw';
    const staged = await deps.store.credentials.stagePending(uuid, 'amt_admin', `test/${uuid}/admin`, {
      value: password,
    });
    await deps.store.credentials.promote(staged);
    const admin = await principalWith(deps.store, 'glass-admin', [{ collection: 'alpha', role: 'administrator' }]);
    const url = `/devices/${uuid}/break-glass`;

    const noReason = await call(admin, 'POST', url, {});
    expect(noReason.json()).toMatchObject({ code: 'INVALID_REQUEST', issues: [{ field: 'reason' }] });
    const first = await call(admin, 'POST', url, { reason: 'console outage, ticket 4711' });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.json()).toMatchObject({ uuid, kind: 'amt_admin', version: staged.version, password });
    expect((await call(admin, 'POST', url, { reason: 'console outage, ticket 4711' })).status).toBe(200);
    const third = await call(admin, 'POST', url, { reason: 'console outage, ticket 4711' });
    expect(third.status).toBe(429);
    expect(third.json().code).toBe('RATE_LIMITED');

    const audit = (await deps.store.audit.forTarget(uuid)).filter(
      (a) => a.action === 'api.post /devices/:uuid/break-glass',
    );
    expect(audit.map((a) => a.outcome)).toEqual(['failure', 'success', 'success', 'failure']);
    expect(audit[1]?.details).toMatchObject({
      kind: 'amt_admin',
      version: staged.version,
      reason: 'console outage, ticket 4711',
    });
    expect(JSON.stringify(audit)).not.toContain(password);
    expect(JSON.stringify(lines)).not.toContain(password);
  });

  it('never reveals more than the limit to concurrent break-glass requests (PostgreSQL)', async () => {
    // Over PostgreSQL, as in production: each request on its own connection, truly concurrent
    // (PGlite's one connection runs a request's queries without letting another in between).
    const postgres = backends.find((b) => b.name === 'postgres')!;
    const database = await postgres.open();
    const pg = await createTestDeps({ directory: false, databaseUrl: database.url });
    const api = await listenApi(pg, env.client, { breakGlassLimit: { count: 2, windowMs: 60 * 60 * 1000 } });
    try {
      const racing = apiCaller(() => `${api.origin}/api/v1`);
      const uuid = newDeviceUuid();
      await pg.store.devices.importComputer({ uuid, hostName: 'racer', domain: 'corp.example.test' });
      const staged = await pg.store.credentials.stagePending(uuid, 'amt_admin', `test/${uuid}/admin`, {
        value: 'C0ncurr3nt!pw',
      });
      await pg.store.credentials.promote(staged);
      const admin = await principalWith(pg.store, 'glass-racer', [
        { collection: ALL_COLLECTIONS, role: 'administrator' },
      ]);
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          racing(admin, 'POST', `/devices/${uuid}/break-glass`, { reason: 'console outage, ticket 4712' }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 429, 429, 429, 429, 429, 429]);
      const audit = (await pg.store.audit.forTarget(uuid)).filter(
        (a) => a.action === 'api.post /devices/:uuid/break-glass',
      );
      expect(audit.map((a) => a.outcome).sort()).toEqual([...Array(6).fill('failure'), 'success', 'success']);
    } finally {
      await api.close();
      await pg.cleanup();
      await database.close();
    }
  });
});
