import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Device } from '../../../emulator/device/device';
import { EmulatorError } from '../../../emulator/errors';
import {
  AmtAuthError,
  AmtPowerError,
  AmtRedirectionError,
  IderSession,
  SolSession,
  type RedirectionOptions,
} from '../../../lib/amt';
import { waitFor } from '../emulator/support/client';
import { testFleet } from '../emulator/support/fleet';
import { TIMEOUTS, admin, adminSession, configureTls } from './support';

/**
 * Issue 13 (OPS3): amtflow's own redirection client against the emulator — a SOL round trip with
 * the host's console, an IDE-R image whose sectors the emulated host reads back byte for byte,
 * and the firmware's refusals (listener off, feature off, busy, wrong password, bad image).
 */
describe('amtflow redirection client against the emulator', () => {
  const password = 'R3dir!Admin';
  const CD = 2048;
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  let dir: string;
  let image: Buffer;
  let imagePath: string;

  beforeAll(async () => {
    fleet = await testFleet([
      { state: 'post', adminPassword: password, amtVersion: '11.8.50' },
      { state: 'post', adminPassword: password, amtVersion: '15.0.23' },
    ]);
    dir = await mkdtemp(path.join(os.tmpdir(), 'amtflow-ider-'));
    image = randomBytes(64 * CD);
    imagePath = path.join(dir, 'image.iso');
    await writeFile(imagePath, image);
  });
  afterAll(async () => {
    await fleet.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const target = (device: Device, extra: Partial<RedirectionOptions> = {}): RedirectionOptions => ({
    host: device.address,
    port: device.redirection.port,
    credential: admin(password),
    timeouts: TIMEOUTS,
    ...extra,
  });
  const features = (device: Device, sol: boolean, ider: boolean) =>
    adminSession(device, password).wsman.features.setRedirection({ sol, ider });

  function transcript(sol: SolSession): { text: () => string } {
    let text = '';
    sol.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    return { text: () => text };
  }

  it('streams a SOL session both ways and ends it cleanly', async () => {
    const device = fleet.devices[0]!;
    await features(device, true, true);
    const sol = await SolSession.open(target(device));
    const out = transcript(sol);
    await waitFor(() => sol.hostPowered === true, 10_000, 'the host power status');
    expect(device.host.sessionOpen('sol')).toBe(true);

    sol.write('\r');
    await waitFor(() => out.text().endsWith('localhost login: '), 10_000, 'the login prompt');
    expect(out.text()).toContain('amtflow emulated host localhost (Intel(R) AMT 11.8.50) ttyS0');
    sol.write('root\r');
    await waitFor(() => out.text().endsWith('Password: '), 10_000, 'the password prompt');
    expect(out.text()).toContain('login: root');

    sol.end();
    expect(await sol.outcome).toBeNull();
    await waitFor(() => !device.host.sessionOpen('sol'), 10_000, 'the firmware to close the session');
  });

  it('sees the host reboot through SOL and blocks power-off while the session is open', async () => {
    const device = fleet.devices[0]!;
    const sol = await SolSession.open(target(device));
    const out = transcript(sol);
    const power = adminSession(device, password).power('wsman');
    const refused = await power.request('off').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AmtPowerError);
    expect(refused).toMatchObject({
      code: 'POWER_ACTION_REFUSED',
      returnValue: 2,
      returnCode: 'STATE_CHANGE_UNKNOWN_ERROR',
    });
    await power.request('reset');
    await waitFor(() => out.text().includes('Booting from Hard Disk...'), 10_000, 'the boot text');
    expect(device.host.transitions.slice(-2).map((t) => [t.request, t.from, t.to, t.returnValue])).toEqual([
      ['RequestPowerStateChange(8)', 'S0', 'S0', 2],
      ['RequestPowerStateChange(10)', 'S0', 'S0', 0],
    ]);
    sol.destroy();
    expect(await sol.outcome).toBeNull();
  });

  it('serves an image over IDE-R: every sector the host reads matches the file', async () => {
    const device = fleet.devices[0]!;
    const ider = await IderSession.open({ ...target(device), image: imagePath });
    // Enabled "now": the BIOS looks at the new drive (ISO 9660 descriptors at LBA 16 and 17).
    await waitFor(() => device.host.drive.reads.length > 0, 10_000, 'the host to probe the drive');
    const probe = device.host.drive.reads.at(-1)!;
    expect([probe.lba, probe.blocks]).toEqual([16, 2]);
    expect(probe.data.equals(image.subarray(16 * CD, 18 * CD))).toBe(true);

    // 40 sectors from LBA 5: three READ(10) commands, data split into 8 KiB messages.
    const read = await device.host.drive.read('cdrom', 5, 40);
    expect(read.equals(image.subarray(5 * CD, 45 * CD))).toBe(true);
    expect(ider.stats.reads).toEqual([
      { lba: 16, blocks: 2 },
      { lba: 5, blocks: 16 },
      { lba: 21, blocks: 16 },
      { lba: 37, blocks: 8 },
    ]);
    // The sectors plus the 8 bytes of READ CAPACITY.
    expect(ider.stats.bytesSent).toBe(42 * CD + 8);

    // Past the end: the console answers check condition LBA out of range (05/21/00).
    await expect(device.host.drive.read('cdrom', 63, 2)).rejects.toThrow(EmulatorError);
    expect(device.host.drive.failures.at(-1)).toMatchObject({ opcode: 0x28, sense: { key: 5, asc: 0x21, ascq: 0 } });
    // No floppy image: no medium (02/3A/00).
    await expect(device.host.drive.read('floppy', 0, 1)).rejects.toThrow(/sense 02\/3a\/00/);

    await ider.close();
    expect(await ider.outcome).toBeNull();
    expect(device.host.drive.connected).toBe(false);
    await waitFor(() => !device.host.sessionOpen('ider'), 10_000, 'the firmware to close the session');
  });

  it('with start mode on-reboot, the host reads the image when it boots', async () => {
    const device = fleet.devices[1]!;
    await features(device, true, true);
    const sol = await SolSession.open(target(device));
    const out = transcript(sol);
    const ider = await IderSession.open({ ...target(device), image: imagePath, startMode: 'on-reboot' });
    expect(device.host.drive.reads).toHaveLength(0);
    await adminSession(device, password).power('wsman').request('reset');
    await waitFor(() => out.text().includes('Booting from IDE-R CD-ROM...'), 10_000, 'the IDE-R boot');
    await waitFor(() => device.host.drive.reads.length > 0, 10_000, 'the boot reads');
    expect(device.host.drive.reads[0]!.data.equals(image.subarray(16 * CD, 18 * CD))).toBe(true);
    await ider.close();
    sol.end();
    await sol.outcome;
  });

  it('refuses with the firmware answers: listener off, feature off, busy, wrong password', async () => {
    const device = fleet.devices[0]!;
    await features(device, false, false);
    await expect(SolSession.open(target(device))).rejects.toMatchObject({ code: 'REDIRECTION_LISTENER_CLOSED' });

    await features(device, false, true);
    const sol = SolSession.open(target(device));
    await expect(sol).rejects.toBeInstanceOf(AmtRedirectionError);
    await expect(sol).rejects.toMatchObject({ code: 'REDIRECTION_FEATURE_DISABLED', outcome: 'rejected' });

    await features(device, true, false);
    await expect(IderSession.open({ ...target(device), image: imagePath })).rejects.toMatchObject({
      code: 'REDIRECTION_FEATURE_DISABLED',
    });

    await features(device, true, true);
    const first = await SolSession.open(target(device));
    await expect(SolSession.open(target(device))).rejects.toMatchObject({ code: 'REDIRECTION_BUSY', transient: true });
    first.end();
    await first.outcome;

    const stale = { ...admin('Wr0ng!pass1'), ref: 'stale' };
    const wrong: unknown = await SolSession.open(target(device, { credential: stale })).catch((err: unknown) => err);
    expect(wrong).toBeInstanceOf(AmtAuthError);
    expect(wrong).toMatchObject({ code: 'REDIRECTION_AUTH_FAILED', triedRefs: ['stale'] });
    expect((wrong as AmtAuthError).message).not.toContain('Wr0ng');
    expect(device.host.sessionOpen('sol')).toBe(false);
  });

  it('refuses a bad image before connecting', async () => {
    const odd = path.join(dir, 'odd.img');
    await writeFile(odd, Buffer.alloc(1000));
    const device = fleet.devices[0]!;
    for (const image of [odd, path.join(dir, 'missing.iso'), dir]) {
      await expect(IderSession.open({ ...target(device), image })).rejects.toMatchObject({
        code: 'IDER_IMAGE_INVALID',
        outcome: 'not-delivered',
      });
    }
    expect(device.host.sessionOpen('ider')).toBe(false);
  });

  it('runs SOL over TLS on 16995, and the plain port is refused once TLS is required', async () => {
    const device = fleet.devices[1]!;
    const tls = await configureTls(device, password, { acceptNonSecureConnections: false });
    const secure = await SolSession.open(
      target(device, {
        port: device.redirection.tlsPort,
        tls: { mode: 'verified', caPem: tls.caPem, serverName: tls.serverName },
      }),
    );
    const out = transcript(secure);
    secure.write('\r');
    await waitFor(() => out.text().endsWith('login: '), 10_000, 'the login prompt over TLS');
    secure.end();
    await secure.outcome;
    await expect(SolSession.open(target(device))).rejects.toMatchObject({ code: 'REDIRECTION_LISTENER_CLOSED' });
  });
});
