import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { sambaDc, stopSambaDc } from '../../../scripts/samba-dc';
import { stopServer } from '../../../scripts/temporal-dev-server';
import { cli, ROOT, StartRun, startEnvironment, type LogLine } from './support';

/**
 * Issue 14 §1: `AMTFLOW_DEMO=off npm start` brings the stack up — directory, Temporal, worker, API
 * and hello listener — without the emulated fleet, says so, and is ready for real devices: the API
 * answers with no device, and nothing listens where the demo's first device would.
 */
// A fresh state directory: the dev DC is provisioned and the Temporal CLI started from nothing.
jest.setTimeout(480_000);

/** Whether something accepts a TCP connection on host:port. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start with AMTFLOW_DEMO=off', () => {
  const stateDir = path.join(ROOT, '.state', 'test-demo-off');
  const configFile = path.join(ROOT, '.state', 'test-demo-off.config.json');
  const env: Record<string, string> = { ...startEnvironment(stateDir, configFile), AMTFLOW_DEMO: 'off' };
  const dc = sambaDc({ stateDir, ip: env.AMTFLOW_DEV_DC_IP as string });

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

  it('comes up without the fleet, says "demo off", and answers with no device', async () => {
    const run = StartRun.launch(env);
    await run.up();
    const messages = run.lines.map((l: LogLine) => l.msg);
    const demoOff = messages.findIndex((m) => m.startsWith('demo off (AMTFLOW_DEMO=off)'));
    expect(demoOff).toBeGreaterThan(messages.indexOf('system check passed'));
    expect(demoOff).toBeLessThan(messages.indexOf('amtflow is up. Press Ctrl-C to stop.'));
    expect(messages.filter((m) => m.startsWith('demo') && m !== messages[demoOff])).toEqual([]);
    expect(run.find((l) => l.msg.startsWith('Web UI: http://'))).toBeDefined();

    // Ready for real devices: the API answers, with none; no emulated device where the demo's first would be.
    const page = JSON.parse(await cli(env, ['--json', 'devices'])) as { total: number; devices: unknown[] };
    expect(page).toMatchObject({ total: 0, devices: [] });
    expect(await listening(env.AMTFLOW_DEMO_FIRST_IP as string, 16992)).toBe(false);

    expect((await run.interrupt()).code).toBe(0);
  });
});
