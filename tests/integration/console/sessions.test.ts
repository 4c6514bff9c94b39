import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConsoleError, RedirectionBroker } from '../../../lib/console';
import type { DeviceUuid } from '../../../lib/device-uuid';
import { waitFor } from '../../../scripts/lib/process';
import { adminSession } from '../amt/support';
import { importDevice, startConsoleEnv, type ConsoleEnv } from '../../support/console-env';

/**
 * Issue 13, OPS3: the front door's session broker opens SOL and IDE-R sessions to an emulated
 * device with the stored admin credential (the operator never handles it), records who, which
 * device, start and end, ends a session at its time limit, and refuses when the device's settings
 * profile leaves the feature off.
 */
const NET = '127.213.7';
const PASSWORD = 'S3ssion!Admin';
const CD = 2048;

describe('redirection session broker', () => {
  let c: ConsoleEnv;
  let broker: RedirectionBroker;
  let enabled: DeviceUuid;
  let disabled: DeviceUuid;
  let dir: string;
  let imagePath: string;
  const image = randomBytes(64 * CD);

  beforeAll(async () => {
    c = await startConsoleEnv(
      [
        { state: 'post', adminPassword: PASSWORD, address: `${NET}.1` },
        { state: 'post', adminPassword: PASSWORD, address: `${NET}.2` },
      ],
      { firstIp: `${NET}.1`, worker: false },
    );
    // The firmware's redirection listener and features on, as stage two leaves them (OOB9.2).
    for (const device of c.fleet.devices)
      await adminSession(device, PASSWORD).wsman.features.setRedirection({ sol: true, ider: true });
    await c.deps.store.profiles.save('consoles', { serialOverLan: true, ideRedirection: true });
    await c.deps.store.profiles.save('locked-down', { serialOverLan: false, ideRedirection: false });
    await c.deps.store.collections.save({ name: 'consoles', settingsProfile: 'consoles' });
    await c.deps.store.collections.save({ name: 'locked-down', settingsProfile: 'locked-down' });
    const [one, two] = c.fleet.devices;
    enabled = await importDevice(c.deps, {
      uuid: one!.uuid,
      hostName: 'console1',
      collection: 'consoles',
      host: one!.address,
      adminPassword: PASSWORD,
    });
    disabled = await importDevice(c.deps, {
      uuid: two!.uuid,
      hostName: 'console2',
      collection: 'locked-down',
      host: two!.address,
      adminPassword: PASSWORD,
    });
    broker = new RedirectionBroker(c.deps, { maxSessionMs: 600_000 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'amtflow-broker-'));
    imagePath = path.join(dir, 'boot.iso');
    await writeFile(imagePath, image);
  });
  afterAll(async () => {
    await c?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('opens an SOL terminal with the stored credential and records who, which device, start and end', async () => {
    const brokered = await broker.openSol({ deviceUuid: enabled, actor: 'alice' });
    let text = '';
    brokered.session.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    brokered.session.write('\r');
    await waitFor('the login prompt', async () => text.endsWith('login: '), 10_000, 20);
    expect(text).toContain('amtflow emulated host');
    await brokered.close();
    expect(await brokered.ended).toBe('closed');
    const [record] = await c.deps.store.console.sessions(enabled);
    expect(record).toMatchObject({ kind: 'sol', actor: 'alice', outcome: 'closed' });
    expect(record!.endedAt!.getTime()).toBeGreaterThanOrEqual(record!.startedAt.getTime());
    const audit = (await c.deps.store.audit.forTarget(enabled)).map((a) => [a.actor, a.action, a.outcome]);
    expect(audit).toEqual([
      ['alice', 'redirection.sol.start', 'success'],
      ['alice', 'redirection.sol.end', 'success'],
    ]);
    expect(JSON.stringify(await c.deps.store.audit.forTarget(enabled))).not.toContain(PASSWORD);
  });

  it('serves an image read-only over IDE-R: the sectors the device reads match the file', async () => {
    const brokered = await broker.openIder({ deviceUuid: enabled, actor: 'bob', image: imagePath });
    const drive = c.fleet.device(enabled).host.drive;
    await waitFor('the host to probe the drive', async () => drive.reads.length > 0, 10_000, 20);
    const read = await drive.read('cdrom', 5, 12);
    expect(read.equals(image.subarray(5 * CD, 17 * CD))).toBe(true);
    for (const r of drive.reads)
      expect(r.data.equals(image.subarray(r.lba * CD, r.lba * CD + r.data.length))).toBe(true);
    await brokered.close();
    expect(await brokered.ended).toBe('closed');
    expect((await c.deps.store.console.sessions(enabled)).at(-1)).toMatchObject({ kind: 'ider', actor: 'bob' });
  });

  it('ends a session at its time limit', async () => {
    const brokered = await broker.openSol({ deviceUuid: enabled, actor: 'carol', timeLimitMs: 1_000 });
    expect(await brokered.ended).toBe('expired');
    expect((await c.deps.store.console.sessions(enabled)).at(-1)).toMatchObject({ actor: 'carol', outcome: 'expired' });
  });

  it('refuses SOL and IDE-R when the settings profile leaves them disabled, and says so in the audit log', async () => {
    await expect(broker.openSol({ deviceUuid: disabled, actor: 'alice' })).rejects.toMatchObject({
      code: 'REDIRECTION_DISABLED',
    });
    await expect(broker.openIder({ deviceUuid: disabled, actor: 'alice', image: imagePath })).rejects.toBeInstanceOf(
      ConsoleError,
    );
    expect(c.fleet.device(disabled).host.sessionOpen('sol')).toBe(false);
    expect(await c.deps.store.console.sessions(disabled)).toEqual([]);
    const audit = (await c.deps.store.audit.forTarget(disabled)).map((a) => [a.action, a.outcome]);
    expect(audit).toEqual([
      ['redirection.sol.start', 'denied'],
      ['redirection.ider.start', 'denied'],
    ]);
  });
});
