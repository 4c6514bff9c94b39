import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../../lib/config';
import { openSite } from '../../../runtime/site';
import { sambaDc, stopSambaDc } from '../../../scripts/samba-dc';
import { DEMO_FINALE, DEMO_PLAN } from '../../../scripts/demo';
import { stopServer } from '../../../scripts/temporal-dev-server';
import { ROOT, StartRun, startEnvironment, type LogLine } from './support';

/**
 * Issue 14, the main job: `npm start` on an empty state directory runs the default 20-device demo
 * to its end without a manual step — provisioning by hello and by agent across legacy, middle and
 * current firmware, the two refusals, then the lab collection updated and one device removed — and
 * says "all demo devices settled" with a summary the site database agrees with.
 */
// Twenty devices on a shared 2-core machine, then the finale's runs.
jest.setTimeout(1_200_000);

interface SummaryDevice {
  uuid: string;
  hostName: string;
  state: string;
  run?: string;
  refusal?: string;
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
        expect(device).toMatchObject({ state: 'not imported', refusal: expect.stringContaining('OOB2') });
      } else if (planned.refusal === 'wrong-root-hash') {
        expect(device.run).toBe('provisionDevice failed');
        expect(device.refusal).toEqual(expect.any(String));
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
    // The live summary said where things stood before the end, and the finale was announced.
    expect(run.find((l) => /^demo: \d+ /.test(l.msg))).toBeDefined();
    expect(run.find((l) => l.msg.startsWith('demo: updating collection demo-lab'))).toBeDefined();
    expect(run.find((l) => /^demo: the agent of amt-demo-\d+ reported its OTP hash$/.test(l.msg))).toBeDefined();

    expect((await run.interrupt()).code).toBe(0);

    // The site database, opened once npm start has let it go, says the same as the summary.
    const config = loadConfig({ env: { ...process.env, ...env }, cwd: ROOT });
    const site = await openSite(config);
    try {
      for (const device of devices) {
        const stored = await site.store.devices.get(device.uuid);
        expect([device.hostName, stored?.provisioningState ?? 'not imported']).toEqual([device.hostName, device.state]);
      }
    } finally {
      await site.database.close();
    }
  });
});
