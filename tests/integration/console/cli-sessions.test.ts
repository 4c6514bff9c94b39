import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApiServer } from '../../../api/server';
import { RedirectionBroker } from '../../../lib/console';
import type { DeviceUuid } from '../../../lib/device-uuid';
import { waitFor } from '../../../scripts/lib/process';
import { adminSession } from '../amt/support';
import { importDevice, startConsoleEnv, type ConsoleEnv } from '../../support/console-env';
import { principalWith } from '../api/support';

/**
 * Issue 13, OPS3 end to end: `amtflow sol` and `amtflow ider` (cli/commands/console.ts) through the
 * front door's session routes (api/routes/console.ts) and broker to an emulated device; the
 * device's password never reaches the CLI. Also `amtflow power` through the power workflow.
 */
const NET = '127.213.8';
const PASSWORD = 'C1i!Session-pw';
const CD = 2048;
const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('amtflow sol / ider / power', () => {
  let c: ConsoleEnv;
  let api: FastifyInstance;
  let url: string;
  let enabled: DeviceUuid;
  let disabled: DeviceUuid;
  let dir: string;
  let token: string;
  const image = randomBytes(48 * CD);
  let imagePath: string;

  beforeAll(async () => {
    c = await startConsoleEnv(
      [
        { state: 'post', adminPassword: PASSWORD, address: `${NET}.1` },
        { state: 'post', adminPassword: PASSWORD, address: `${NET}.2` },
      ],
      { firstIp: `${NET}.1` },
    );
    for (const device of c.fleet.devices)
      await adminSession(device, PASSWORD).wsman.features.setRedirection({ sol: true, ider: true });
    await c.deps.store.profiles.save('consoles', { serialOverLan: true, ideRedirection: true });
    await c.deps.store.collections.save({ name: 'consoles', settingsProfile: 'consoles' });
    await c.deps.store.profiles.save('plain', {});
    await c.deps.store.collections.save({ name: 'plain', settingsProfile: 'plain' });
    const [one, two] = c.fleet.devices;
    enabled = await importDevice(c.deps, {
      uuid: one!.uuid,
      hostName: 'cli1',
      collection: 'consoles',
      host: one!.address,
      adminPassword: PASSWORD,
    });
    disabled = await importDevice(c.deps, {
      uuid: two!.uuid,
      hostName: 'cli2',
      collection: 'plain',
      host: two!.address,
      adminPassword: PASSWORD,
    });
    // P7: sessions need Manage management controllers on the device's collection.
    const grants = ['consoles', 'plain'].map((collection) => ({ collection, role: 'manage' as const }));
    token = (await principalWith(c.deps.store, 'console-operator', grants)).authorization.replace(/^Bearer /, '');
    api = await buildApiServer({
      store: c.deps.store,
      client: c.env.client,
      crl: () => c.deps.ca.crl(),
      logger: pino({ level: 'silent' }),
      taskQueue: c.taskQueue,
      sessions: new RedirectionBroker(c.deps),
    });
    await api.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    dir = await mkdtemp(path.join(os.tmpdir(), 'amtflow-cli-ider-'));
    imagePath = path.join(dir, 'rescue.iso');
    await writeFile(imagePath, image);
  }, 240_000);
  afterAll(async () => {
    await api?.close();
    await c?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function cli(
    ...args: string[]
  ): ChildProcessWithoutNullStreams & { out: () => string; err: () => string; exit: Promise<number> } {
    const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, 'cli', 'main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, AMTFLOW_API_URL: url, AMTFLOW_TOKEN: token },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('latin1')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const exit = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    return Object.assign(child, { out: () => out, err: () => err, exit });
  }

  it('amtflow sol: a terminal on the host console, ended from the operator side, recorded', async () => {
    const sol = cli('sol', enabled);
    sol.stdin.write('\r');
    await waitFor('the login prompt', async () => sol.out().endsWith('login: '), 30_000, 50);
    sol.stdin.write('root\r');
    await waitFor('the password prompt', async () => sol.out().endsWith('Password: '), 10_000, 20);
    expect(sol.out()).toContain('amtflow emulated host');
    sol.stdin.end();
    expect(await sol.exit).toBe(0);
    expect(sol.out() + sol.err()).not.toContain(PASSWORD);
    const [record] = await c.deps.store.console.sessions(enabled);
    expect(record).toMatchObject({ kind: 'sol', actor: 'console-operator', outcome: 'closed' });
    expect(record!.endedAt).not.toBeNull();
  });

  it('amtflow ider: the image served read-only; the sectors the device reads match the file', async () => {
    const ider = cli('ider', enabled, '--image', imagePath);
    await waitFor('the session', async () => ider.out().includes('serving'), 30_000, 50);
    const drive = c.fleet.device(enabled).host.drive;
    await waitFor('the host to probe the drive', async () => drive.reads.length > 0, 10_000, 20);
    const read = await drive.read('cdrom', 3, 20);
    expect(read.equals(image.subarray(3 * CD, 23 * CD))).toBe(true);
    for (const r of drive.reads)
      expect(r.data.equals(image.subarray(r.lba * CD, r.lba * CD + r.data.length))).toBe(true);
    ider.kill('SIGINT');
    await ider.exit;
    await waitFor(
      'the session to be recorded as ended',
      async () => (await c.deps.store.console.sessions(enabled)).at(-1)?.outcome === 'closed',
      10_000,
      20,
    );
    expect((await c.deps.store.console.sessions(enabled)).at(-1)).toMatchObject({
      kind: 'ider',
      actor: 'console-operator',
    });
  });

  it('refuses sessions the settings profile disabled, with a non-zero exit', async () => {
    const sol = cli('sol', disabled);
    sol.stdin.end();
    expect(await sol.exit).toBe(1);
    expect(sol.err()).toContain('REDIRECTION_DISABLED');
    const ider = cli('ider', disabled, '--image', imagePath);
    expect(await ider.exit).toBe(1);
    expect(ider.err()).toContain('REDIRECTION_DISABLED');
  });

  it('amtflow power reads and switches a device through the power workflow', async () => {
    const read = cli('--json', 'power', enabled, 'read');
    expect(await read.exit).toBe(0);
    expect(JSON.parse(read.out())).toMatchObject({ outcome: 'read', state: 'on' });
    // The other device: no redirection session was ever open there (the firmware refuses power-off
    // during one). Its factory power package keeps the ME on only in S0: AMT goes dark with the host,
    // so the state cannot be read back.
    const off = cli('power', disabled, 'off');
    expect([await off.exit, off.err()]).toEqual([0, '']);
    expect(off.out()).toContain('off: done (host unknown)');
    expect(c.fleet.device(disabled).host.transitions.at(-1)).toMatchObject({ to: 'S5', returnValue: 0 });
  });
});
