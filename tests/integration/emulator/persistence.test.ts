import { AMT } from '@device-management-toolkit/wsman-messages';
import { createHash } from 'node:crypto';
import { startFleet } from '../../../emulator/fleet/fleet';
import { testKeyPool } from '../../unit/emulator/support/pki';
import { AmtClient } from './support/client';
import { freshFirstIp, tempDir } from './support/fleet';

/** Issue 3, 1 and 9d: NVRAM identical after a restart of the emulator, for every device. */
describe('NVRAM persistence across restarts', () => {
  it('restores every device exactly and keeps serving it with the same credentials', async () => {
    const stateDir = await tempDir();
    const firstIp = freshFirstIp();
    const options = {
      devices: [
        { state: 'post' as const, adminPassword: 'P3rsist!ent', amtVersion: '11.8.50' },
        { amtVersion: '3.2.1', helloEnabled: false },
        { amtVersion: '19.0.5', helloEnabled: false, mebxPassword: 'Mebx!Pass1' },
      ],
      stateDir,
      keyPool: await testKeyPool(),
      ephemeralPorts: true,
      firstIp,
    };
    const first = await startFleet(options);
    const d = first.devices[0]!;
    const amt = new AMT.Messages();
    const c = new AmtClient({
      host: d.address,
      port: d.httpPort,
      username: 'admin',
      password: 'P3rsist!ent',
      style: 'go',
    });
    const gs = (await c.post(amt.GeneralSettings.Get())).xml.Envelope.Body.AMT_GeneralSettings;
    expect(
      (await c.post(amt.GeneralSettings.Put({ ...gs, HostName: 'kept', DomainName: 'corp.example.test' }))).status,
    ).toBe(200);
    const digest = createHash('md5').update(`keeper:${gs.DigestRealm}:K33per!pw`).digest('base64');
    expect((await c.post(amt.AuthorizationService.AddUserAclEntryEx(2, [3], 'keeper', digest))).status).toBe(200);
    expect(
      (await c.post(amt.PublicKeyManagementService.GenerateKeyPair({ KeyAlgorithm: 0, KeyLength: 2048 }))).status,
    ).toBe(200);
    await first.device(first.devices[2]!.uuid).setProvisioningOtp('OneTimePass123');
    const before = first.devices.map((x) => x.nvram());
    await first.stop();

    const second = await startFleet({
      ...options,
      devices: options.devices.map((p) => ({ ...p, amtVersion: '15.0.23' })),
    });
    try {
      expect(second.devices.map((x) => x.nvram())).toEqual(before);
      const again = second.devices[0]!;
      const c2 = new AmtClient({
        host: again.address,
        port: again.httpPort,
        username: 'keeper',
        password: 'K33per!pw',
        style: 'mesh',
      });
      const res = await c2.post(amt.GeneralSettings.Get());
      expect(res.status).toBe(200);
      expect(res.xml.Envelope.Body.AMT_GeneralSettings.HostName).toBe('kept');
    } finally {
      await second.stop();
    }
  });
});
