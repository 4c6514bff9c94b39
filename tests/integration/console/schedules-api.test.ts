import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApiServer } from '../../../api/server';
import type { DeviceUuid } from '../../../lib/device-uuid';
import type { ScheduleView } from '../../../runtime/schedules';
import { waitFor } from '../../../scripts/lib/process';
import type { DiscoverySummary } from '../../../workflows/discover-management-controllers';
import type { CollectionPowerResult } from '../../../workflows/power';
import { adminSession } from '../amt/support';
import { importDevice, startConsoleEnv, type ConsoleEnv } from '../../support/console-env';
import { uniqueQueue } from '../../support/temporal';
import { apiCaller, principalWith } from '../api/support';

/**
 * Issue 13 (OPS1, OPS2): an operator schedules discovery and power actions through the API
 * (api/routes/console.ts) and the CLI (`amtflow schedules power|discovery|delete`), under the
 * rights of the work itself (P7): View on the collection, View on `*` for an address range. The
 * schedules are Temporal Schedules listed, triggered and deleted through /schedules; a triggered
 * power action runs with the retries and delay the operator gave.
 */
const NET = '127.213.9';
const PASSWORD = 'Sch3d!Console';
const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('console schedules through the API and the CLI', () => {
  let c: ConsoleEnv;
  let api: FastifyInstance;
  let origin: string;
  const prefix = uniqueQueue('console-sched');
  const uuids: DeviceUuid[] = [];
  const created: string[] = [];
  const call = apiCaller(() => `${origin}/api/v1`);
  let labViewer: Record<string, string>;
  let otherViewer: Record<string, string>;
  let siteViewer: Record<string, string>;

  beforeAll(async () => {
    c = await startConsoleEnv(
      [
        { state: 'post', adminPassword: PASSWORD, amtVersion: '15.0.23' },
        { state: 'post', adminPassword: PASSWORD, amtVersion: '11.8.50' },
      ],
      { firstIp: `${NET}.1` },
    );
    for (const name of ['lab', 'other']) await c.deps.store.collections.save({ name, automaticProvisioning: false });
    for (const [i, device] of c.fleet.devices.entries()) {
      // The management engine stays up with the host off, so a powered-off device still answers.
      await adminSession(device, PASSWORD).wsman.features.setPowerScheme('Intel(r) AMT Power Scheme 7');
      uuids.push(
        await importDevice(c.deps, {
          uuid: device.uuid,
          hostName: `sched${i}`,
          collection: 'lab',
          host: device.address,
          adminPassword: PASSWORD,
        }),
      );
    }
    labViewer = await principalWith(c.deps.store, 'lab-viewer', [{ collection: 'lab', role: 'view' }]);
    otherViewer = await principalWith(c.deps.store, 'other-viewer', [{ collection: 'other', role: 'view' }]);
    siteViewer = await principalWith(c.deps.store, 'site-viewer', [{ collection: '*', role: 'view' }]);
    api = await buildApiServer({
      store: c.deps.store,
      client: c.env.client,
      crl: () => c.deps.ca.crl(),
      logger: pino({ level: 'silent' }),
      taskQueue: c.taskQueue,
      scheduleIdPrefix: prefix,
    });
    await api.listen({ host: '127.0.0.1', port: 0 });
    origin = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  }, 240_000);
  afterAll(async () => {
    for (const id of created)
      await c?.env.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await api?.close();
    await c?.stop();
  });

  const listed = async (headers: Record<string, string>) =>
    ((await call(headers, 'GET', '/schedules')).json() as ScheduleView[]).map((s) => s.scheduleId);
  /** Triggers a schedule through the API and waits for the run it started. */
  async function triggerAndWait<T>(headers: Record<string, string>, scheduleId: string): Promise<T> {
    expect((await call(headers, 'POST', `/schedules/${scheduleId}/trigger`, {})).status).toBe(202);
    let workflowId: string | undefined;
    await waitFor(
      `${scheduleId} to start its run`,
      async () =>
        (workflowId = (await c.env.client.schedule.getHandle(scheduleId).describe()).info.recentActions.at(-1)?.action
          .workflow.workflowId) !== undefined,
      20_000,
      50,
    );
    return c.env.client.workflow.getHandle(workflowId!).result() as Promise<T>;
  }

  it("schedules a collection's power action with View on it, runs it with its retries and delay, and deletes it", async () => {
    const at = new Date(Date.now() + 3_600_000);
    at.setUTCSeconds(0, 0);
    const body = { action: 'off', at: at.toISOString(), retries: 1, retryDelaySeconds: 30, name: 'window' };
    const scheduleId = `${prefix}-power-window-lab`;

    const refused = await call(otherViewer, 'POST', '/collections/lab/power/schedules', body);
    expect(refused.status).toBe(403);
    expect(refused.json().code).toBe('FORBIDDEN');
    const answer = await call(labViewer, 'POST', '/collections/lab/power/schedules', body);
    expect(answer.status).toBe(201);
    created.push(scheduleId);
    expect(answer.json()).toMatchObject({ scheduleId, kind: 'power-off', paused: false, nextRuns: [at.toISOString()] });
    const again = await call(labViewer, 'POST', '/collections/lab/power/schedules', body);
    expect(again.json()).toMatchObject({ code: 'SCHEDULE_EXISTS' });
    expect(again.status).toBe(409);
    const past = await call(labViewer, 'POST', '/collections/lab/power/schedules', {
      ...body,
      name: 'late',
      at: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(past.json()).toMatchObject({ code: 'INVALID_REQUEST', issues: [{ field: 'at' }] });
    const twoWhens = await call(labViewer, 'POST', '/collections/lab/power/schedules', { ...body, every: '1 day' });
    expect(twoWhens.json()).toMatchObject({ code: 'INVALID_REQUEST', issues: [{ field: 'at' }] });

    expect(await listed(labViewer)).toContain(scheduleId);
    expect(await listed(otherViewer)).not.toContain(scheduleId);
    expect((await call(otherViewer, 'POST', `/schedules/${scheduleId}/trigger`, {})).status).toBe(403);

    // The first device refuses the power-off twice: the operator's one retry, 30 s later, is all it gets.
    c.fleet.inject({ kind: 'powerRefused', change: 'off', times: 2, returnValue: 2 }, uuids[0]);
    const result = await triggerAndWait<CollectionPowerResult>(labViewer, scheduleId);
    expect(result.devices.map((d) => [d.deviceUuid, d.outcome, d.attempts])).toEqual([
      [uuids[0], 'failed', 2],
      [uuids[1], 'done', 1],
    ]);
    expect(c.fleet.device(uuids[1]!).host.transitions.at(-1)).toMatchObject({ to: 'S5', returnValue: 0 });
    const audit = await c.deps.store.audit.forTarget(uuids[1]!);
    expect(audit.at(-1)).toMatchObject({ actor: `schedule:${scheduleId}`, action: 'power.off', outcome: 'success' });

    expect((await call(otherViewer, 'DELETE', `/schedules/${scheduleId}`)).status).toBe(403);
    const deleted = await call(labViewer, 'DELETE', `/schedules/${scheduleId}`);
    expect(deleted.json()).toEqual({ deleted: scheduleId });
    expect(await listed(labViewer)).not.toContain(scheduleId);
  });

  it('schedules discovery of a collection with View on it, of an address range only with View on *', async () => {
    const collection = await call(labViewer, 'POST', '/discovery/schedules', {
      collection: 'lab',
      every: '1 day',
      name: 'nightly',
      probeTimeoutMs: 2_000,
    });
    expect(collection.status).toBe(201);
    const scheduleId = `${prefix}-discovery-nightly-lab`;
    created.push(scheduleId);
    expect(collection.json()).toMatchObject({ scheduleId, kind: 'discovery' });
    expect(
      (await call(otherViewer, 'POST', '/discovery/schedules', { collection: 'lab', every: '1 day' })).status,
    ).toBe(403);

    // Five fields that mean nothing: the server's refusal of the spec is the caller's 400.
    const nonsense = await call(labViewer, 'POST', '/discovery/schedules', { collection: 'lab', cron: 'a b c d e' });
    expect(nonsense.status).toBe(400);
    expect(nonsense.json()).toMatchObject({ code: 'INVALID_REQUEST', issues: [{ field: 'cron' }] });

    const range = { first: `${NET}.1`, last: `${NET}.2`, cron: '0 2 * * *', probeTimeoutMs: 2_000 };
    const refused = await call(labViewer, 'POST', '/discovery/schedules', range);
    expect(refused.status).toBe(403);
    expect(refused.json().message).toContain('for the whole site');
    const site = await call(siteViewer, 'POST', '/discovery/schedules', range);
    expect(site.status).toBe(201);
    const rangeId: string = site.json().scheduleId;
    created.push(rangeId);
    expect(rangeId).toMatch(new RegExp(`^${prefix}-discovery-[a-z0-9]+$`));
    // A range schedule is the site's: one who views a collection only may not trigger it.
    expect((await call(labViewer, 'POST', `/schedules/${rangeId}/trigger`, {})).status).toBe(403);

    const summary = await triggerAndWait<DiscoverySummary>(labViewer, scheduleId);
    expect(summary.counts.provisioned).toBe(2);
    for (const uuid of uuids)
      expect(await c.deps.store.devices.require(uuid)).toMatchObject({ discoveryStatus: 'provisioned' });
    const swept = await triggerAndWait<DiscoverySummary>(siteViewer, rangeId);
    expect(swept.addresses.map((a) => [a.host, a.status])).toEqual([
      [`${NET}.1`, 'provisioned'],
      [`${NET}.2`, 'provisioned'],
    ]);
    for (const id of [scheduleId, rangeId])
      expect((await call(siteViewer, 'DELETE', `/schedules/${id}`)).json()).toEqual({ deleted: id });
  });

  it('amtflow schedules power and discovery create them; amtflow schedules delete removes one', async () => {
    const cli = async (...args: string[]) => {
      const child = spawn(
        path.join(ROOT, 'node_modules', '.bin', 'tsx'),
        [path.join(ROOT, 'cli', 'main.ts'), ...args],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            AMTFLOW_API_URL: origin,
            AMTFLOW_TOKEN: labViewer.authorization!.replace(/^Bearer /, ''),
          },
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
      const code = await new Promise<number>((resolve) => child.on('exit', (exit) => resolve(exit ?? -1)));
      return { code, out, err };
    };
    const power = await cli(
      'schedules',
      'power',
      'lab',
      'on',
      '--cron',
      '0 6 * * 1',
      '--name',
      'monday',
      '--retries',
      '5',
      '--retry-delay',
      '60',
      '--json',
    );
    expect(power).toMatchObject({ code: 0 });
    const powerId = `${prefix}-power-monday-lab`;
    created.push(powerId);
    expect(JSON.parse(power.out)).toMatchObject({ scheduleId: powerId, kind: 'power-on' });
    const [input] = (await c.env.client.schedule.getHandle(powerId).describe()).action.args as [
      { retries: number; retryDelay: string },
    ];
    expect(input).toMatchObject({ collection: 'lab', action: 'on', retries: 5, retryDelay: '60 seconds' });

    const discovery = await cli(
      'schedules',
      'discovery',
      '--collection',
      'lab',
      '--every',
      '12 hours',
      '--name',
      'twice',
    );
    expect(discovery).toMatchObject({ code: 0 });
    expect(discovery.out).toContain(`${prefix}-discovery-twice-lab`);
    created.push(`${prefix}-discovery-twice-lab`);
    const range = await cli('schedules', 'discovery', '--range', `${NET}.1-${NET}.2`, '--every', '1 day');
    expect(range.code).not.toBe(0);
    expect(range.err).toContain('FORBIDDEN');

    const deleted = await cli('schedules', 'delete', powerId);
    expect(deleted).toMatchObject({ code: 0, out: expect.stringContaining(`deleted ${powerId}`) });
    expect(await listed(labViewer)).not.toContain(powerId);
  });
});
