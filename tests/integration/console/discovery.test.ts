import net from 'node:net';
import http from 'node:http';
import { adminSession, configureTls } from '../amt/support';
import type { DiscoverySummary } from '../../../workflows/discover-management-controllers';
import { startDiscovery, scheduleDiscovery } from '../../../runtime/console-schedules';
import { importDevice, startConsoleEnv, type ConsoleEnv } from '../../support/console-env';
import { waitFor } from '../../../scripts/lib/process';

/**
 * Issue 13, OPS1: the discoverManagementControllers workflow over a mixed emulated fleet — not AMT,
 * AMT waiting for remote configuration, provisioned by amtflow (host on and host off), provisioned
 * elsewhere, AMT that takes no credential of ours, and an address that accepts connections and
 * never answers — by collection and by address range, at bounded concurrency; each status stored
 * with the time seen; and the same sweep on a Temporal Schedule.
 */
const NET = '127.213.5';
const OURS = 'Ours!Adm1n-pw';
const THEIRS = 'Th3irs!Adm1n-pw';

describe('discoverManagementControllers', () => {
  let c: ConsoleEnv;
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  const expected = new Map<string, string>();
  const uuids = new Map<string, string>();

  async function listen(server: net.Server, host: string, port: number): Promise<void> {
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
  }

  beforeAll(async () => {
    c = await startConsoleEnv(
      [
        // .1 AMT waiting in setup mode for a provisioning certificate.
        { state: 'pre', address: `${NET}.1` },
        // .2 provisioned by amtflow (its admin password stored), host on.
        { state: 'post', adminPassword: OURS, address: `${NET}.2` },
        // .3 provisioned by amtflow, host switched off; the power package keeps the ME on in S5.
        { state: 'post', adminPassword: OURS, address: `${NET}.3`, amtVersion: '15.0.23', build: '1706' },
        // .4 provisioned elsewhere: TLS configured by another site, a password we do not have.
        { state: 'post', adminPassword: THEIRS, address: `${NET}.4` },
        // .5 AMT that answers but takes no credential of ours and shows nothing else.
        { state: 'post', adminPassword: THEIRS, address: `${NET}.5`, amtVersion: '9.5.40' },
      ],
      { firstIp: `${NET}.1` },
    );
    const [, , off, elsewhere] = c.fleet.devices;
    const kept = adminSession(off!, OURS);
    await kept.wsman.features.setPowerScheme('Intel(r) AMT Power Scheme 7');
    await kept.power('wsman').request('off');
    await configureTls(elsewhere!, THEIRS, { acceptNonSecureConnections: true });
    // Emulated devices listen on their own ports; the test's own peers on the standard ones.
    const devicePorts = c.fleet.devices.map((d) => [d.httpPort, d.tlsPort]);
    expect(devicePorts.every(([h, t]) => h === 16992 && t === 16993)).toBe(true);

    // .6 a web server, not AMT.
    const web = http.createServer((_req, res) => {
      res.writeHead(404, { Server: 'nginx/1.22.1' });
      res.end('not here');
    });
    await listen(web, `${NET}.6`, 16992);
    // .7 accepts connections and never answers.
    for (const port of [16992, 16993]) {
      const hung = net.createServer((socket) => {
        socket.on('error', () => undefined);
        socket.pause();
        sockets.push(socket);
      });
      await listen(hung, `${NET}.7`, port);
    }

    await c.deps.store.collections.save({ name: 'lab', automaticProvisioning: false });
    const devices: [string, string, string | undefined, string][] = [
      ['setup', `${NET}.1`, undefined, 'not_provisioned'],
      ['ours-on', `${NET}.2`, OURS, 'provisioned'],
      ['ours-off', `${NET}.3`, OURS, 'provisioned'],
      ['elsewhere', `${NET}.4`, undefined, 'externally_provisioned'],
      ['locked', `${NET}.5`, OURS.replace('O', 'Q'), 'detected'],
      ['web', `${NET}.6`, undefined, 'not_supported'],
      ['hung', `${NET}.7`, undefined, 'unknown'],
    ];
    for (const [hostName, host, adminPassword, status] of devices) {
      const uuid = await importDevice(c.deps, {
        hostName,
        collection: 'lab',
        host,
        ...(adminPassword ? { adminPassword } : {}),
        ...(hostName.startsWith('ours') || hostName === 'setup'
          ? { uuid: c.fleet.devices[Number(host.split('.')[3]) - 1]!.uuid }
          : {}),
      });
      expected.set(host, status);
      uuids.set(host, uuid);
    }
  });

  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await c?.stop();
  });

  it('gives every device of a collection exactly its status, stored with the time seen; the hung address does not stall the sweep', async () => {
    const before = new Date();
    const handle = await startDiscovery(
      c.env.client,
      { scope: { collection: 'lab' }, requestedBy: 'operator', concurrency: 3, probeTimeoutMs: 2_000 },
      { taskQueue: c.taskQueue },
    );
    const summary: DiscoverySummary = await handle.result();
    expect(summary.failed).toEqual([]);
    expect(Object.fromEntries(summary.addresses.map((a) => [a.host, a.status]))).toEqual(Object.fromEntries(expected));
    expect(summary.counts).toEqual({
      unknown: 1,
      not_supported: 1,
      detected: 1,
      not_provisioned: 1,
      provisioned: 2,
      externally_provisioned: 1,
    });
    for (const [host, status] of expected) {
      const device = await c.deps.store.devices.require(uuids.get(host)!);
      expect([host, device.discoveryStatus]).toEqual([host, status]);
      expect(device.discoverySeenAt!.getTime()).toBeGreaterThanOrEqual(before.getTime());
    }
    expect((await c.deps.store.devices.require(uuids.get(`${NET}.3`)!)).amtVersion).toBe('15.0.23.1706');

    // The run history shows one probe per address, named by the spec id, never more than 3 at once.
    const history = await handle.fetchHistory();
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes);
    const probes = scheduled.filter(
      (e) => e.activityTaskScheduledEventAttributes!.activityType!.name === 'discoverAddress',
    );
    expect(probes).toHaveLength(7);
    let inFlight = 0;
    let most = 0;
    const probeIds = new Set(probes.map((e) => String(e.eventId)));
    for (const e of history.events!) {
      if (e.activityTaskScheduledEventAttributes && probeIds.has(String(e.eventId))) most = Math.max(most, ++inFlight);
      const closed =
        e.activityTaskCompletedEventAttributes ??
        e.activityTaskFailedEventAttributes ??
        e.activityTaskTimedOutEventAttributes;
      if (closed && probeIds.has(String(closed.scheduledEventId))) inFlight--;
    }
    expect(most).toBe(3);
  });

  it('sweeps an address range, naming the known devices it finds and the addresses no device has', async () => {
    const handle = await startDiscovery(
      c.env.client,
      {
        scope: { first: `${NET}.1`, last: `${NET}.8` },
        requestedBy: 'operator',
        concurrency: 8,
        probeTimeoutMs: 2_000,
      },
      { taskQueue: c.taskQueue },
    );
    const summary = await handle.result();
    const byHost = Object.fromEntries(summary.addresses.map((a) => [a.host, [a.status, a.deviceUuid]]));
    for (const [host, status] of expected) expect(byHost[host]).toEqual([status, uuids.get(host)]);
    // Nothing listens at .8: the host refused both ports, so no AMT on that interface.
    expect(byHost[`${NET}.8`]).toEqual(['not_supported', null]);
    const stored = await c.deps.store.console.discoveredAddresses();
    expect(stored.find((a) => a.host === `${NET}.8`)).toMatchObject({
      status: 'not_supported',
      seenBy: handle.workflowId,
    });
  });

  it('runs on a Temporal Schedule', async () => {
    const schedule = await scheduleDiscovery(
      c.env.client,
      `discovery-lab-${Date.now()}`,
      { intervals: [{ every: '1 day' }] },
      { scope: { collection: 'lab' }, requestedBy: 'schedule:nightly', probeTimeoutMs: 2_000 },
      { taskQueue: c.taskQueue },
    );
    try {
      await schedule.trigger();
      let workflowId: string | undefined;
      await waitFor(
        'the scheduled sweep to start',
        async () =>
          (workflowId = (await schedule.describe()).info.recentActions.at(-1)?.action.workflow.workflowId) !==
          undefined,
        20_000,
        50,
      );
      const summary: DiscoverySummary = await c.env.client.workflow.getHandle(workflowId!).result();
      expect(summary.counts.provisioned).toBe(2);
    } finally {
      await schedule.delete();
    }
  });

  it('refuses a range it cannot sweep, before probing anything', async () => {
    const handle = await startDiscovery(
      c.env.client,
      { scope: { first: `${NET}.9`, last: `${NET}.1` }, requestedBy: 'operator' },
      { taskQueue: c.taskQueue },
    );
    await expect(handle.result()).rejects.toMatchObject({
      cause: { cause: { type: 'INVALID_DISCOVERY_SCOPE' } },
    });
  });
});
