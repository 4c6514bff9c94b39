import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../../lib/config';
import { parseDeviceUuid } from '../../../lib/device-uuid';
import { openSite } from '../../../runtime/site';
import { sambaDc, stopSambaDc } from '../../../scripts/samba-dc';
import { DEMO_FINALE, DEMO_PLAN } from '../../../scripts/demo';
import { stopServer } from '../../../scripts/temporal-dev-server';
import { deviceWorkflowId } from '../../../workflows/names';
import { ROOT, StartRun, startEnvironment, type LogLine } from './support';

/**
 * Issue 14, the main job: `npm start` on an empty state directory runs the default 20-device demo
 * to its end without a manual step — provisioning by hello and by agent across legacy, middle and
 * current firmware, the two refusals, then the lab collection updated and one device removed — and
 * says "all demo devices settled" with a summary the site database and Temporal agree with: counts
 * by state, the refusals with their reasons (told as they happened), the runs waiting for an operator.
 */
// Twenty devices on a shared 2-core machine, then the finale's runs.
jest.setTimeout(1_200_000);

interface SummaryDevice {
  uuid: string;
  hostName: string;
  state: string;
  run?: string;
  refusal?: string;
  waiting?: string;
}

describe('npm start: the default demo', () => {
  const stateDir = path.join(ROOT, '.state', 'test-demo');
  const configFile = path.join(ROOT, '.state', 'test-demo.config.json');
  const env: Record<string, string> = { ...startEnvironment(stateDir, configFile), AMTFLOW_DEMO_DEVICES: '20' };
  const dc = sambaDc({ stateDir, ip: env.AMTFLOW_DEV_DC_IP as string });
  let run: StartRun | undefined;

  beforeAll(async () => {
    await stopServer(stateDir);
    await stopSambaDc(dc);
    rmSync(stateDir, { recursive: true, force: true });
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, '{}\n');
  });
  afterAll(async () => {
    await StartRun.killAll();
    await stopServer(stateDir);
    await stopSambaDc(dc);
  });

  it('reaches "all demo devices settled", and the summary matches the site database', async () => {
    run = StartRun.launch(env);
    const first = await run.waitForLine('the first screen', (l) => l.msg.startsWith('Web UI: http://'));
    expect(first).toMatchObject({
      api: expect.stringMatching(/^http:\/\//),
      apiDocs: expect.stringMatching(/^http:\/\/.*\/docs /),
      metrics: expect.stringMatching(/^http:\/\/.*\/metrics$/),
      operatorToken: expect.any(String),
    });

    const settled = await run.waitForLine(
      'all demo devices settled',
      (l: LogLine) => l.msg === 'all demo devices settled',
      1_100_000,
    );
    const devices = settled.devices as SummaryDevice[];
    expect(devices.map((d) => d.hostName)).toEqual(DEMO_PLAN.map((d) => `amt-demo-${d.n}`));
    const byName = (n: number) => devices.find((d) => d.hostName === `amt-demo-${n}`) as SummaryDevice;

    for (const planned of DEMO_PLAN) {
      const device = byName(planned.n);
      if (planned.refusal === 'not-imported') {
        expect(device).toMatchObject({
          state: 'not imported',
          refusal: 'not imported: its hellos are discarded (OOB2)',
        });
      } else if (planned.refusal === 'wrong-root-hash') {
        expect(device.run).toBe('provisionDevice failed');
        expect(device.refusal).toMatch(/^ROOT_HASH_MISMATCH: /);
        expect(device.state).not.toBe('provisioned');
      } else if (planned.n === DEMO_FINALE.remove) {
        expect(device.run).toBe('removeProvisioning completed');
        expect(device.state).not.toBe('provisioned');
      } else {
        expect([planned.n, device.state]).toEqual([planned.n, 'provisioned']);
        expect([planned.n, device.run]).toEqual([
          planned.n,
          planned.collection === DEMO_FINALE.update
            ? 'updateManagementController completed'
            : 'provisionDevice completed',
        ]);
      }
    }
    // Exactly the two planned refusals, each told with its reason as it happened — before the fleet settled.
    const refusals = devices.filter((d) => d.refusal);
    expect(refusals.map((d) => d.hostName).sort()).toEqual(
      DEMO_PLAN.filter((d) => d.refusal)
        .map((d) => `amt-demo-${d.n}`)
        .sort(),
    );
    const firstSettle = run.lines.findIndex((l) => l.msg.startsWith('demo devices settled: '));
    for (const d of refusals) {
      const told = run.lines.findIndex((l) => l.msg === `demo: ${d.hostName} refused: ${d.refusal}`);
      expect([d.hostName, told >= 0 && told < firstSettle]).toEqual([d.hostName, true]);
    }
    expect(settled).toMatchObject({ refused: refusals.length, waitingForOperator: 0 });
    // The live summary said where things stood before the end — devices by stage, runs waiting for
    // an operator — and the finale was announced.
    const live = run.lines.filter((l) => /^demo: \d+ .*; \d+ runs in flight; \d+ waiting for an operator/.test(l.msg));
    expect(live.length).toBeGreaterThan(0);
    expect(live.some((l) => / in [a-z]/.test(l.msg))).toBe(true);
    expect(run.find((l) => l.msg.startsWith('demo: updating collection demo-lab'))).toBeDefined();
    expect(run.find((l) => /^demo: the agent of amt-demo-\d+ reported its OTP hash$/.test(l.msg))).toBeDefined();

    // Temporal agrees on the runs waiting for an operator: with every device settled, a run still
    // open is one that waits.
    const connection = await Connection.connect({ address: env.AMTFLOW_TEMPORAL_ADDRESS as string });
    try {
      // The namespace npm start uses, as its first screen's Web UI address names it.
      const namespace = /\/namespaces\/([^/]+)\//.exec(first.webUi as string)?.[1];
      const client = new Client({ connection, namespace });
      let open = 0;
      for (const device of devices.filter((d) => d.state !== 'not imported')) {
        const described = await client.workflow.getHandle(deviceWorkflowId(parseDeviceUuid(device.uuid))).describe();
        if (described.status.name === 'RUNNING') open++;
      }
      expect(open).toBe(settled.waitingForOperator);
    } finally {
      await connection.close();
    }

    expect((await run.interrupt()).code).toBe(0);

    // The site database, opened once npm start has let it go, says the same as the summary: each
    // device's state, and the counts by state.
    const config = loadConfig({ env: { ...process.env, ...env }, cwd: ROOT });
    const site = await openSite(config);
    try {
      const stored = new Map<string, number>();
      for (const device of devices) {
        const state = (await site.store.devices.get(device.uuid))?.provisioningState ?? 'not imported';
        expect([device.hostName, state]).toEqual([device.hostName, device.state]);
        stored.set(state, (stored.get(state) ?? 0) + 1);
      }
      expect(settled.counts).toEqual(Object.fromEntries(stored));
    } finally {
      await site.database.close();
    }
  });
});
