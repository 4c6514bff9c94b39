import { progressQuery } from '../../../workflows/messages';
import { expectNoSecretInHistories, expectProvisionedEverywhere } from '../../support/agreement';
import { PROFILE_SECRETS, reportOtpHash, startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';

/**
 * Provisioning end to end: the real worker and activities against emulated firmware, the Samba DC,
 * the CA and the site database, for a legacy (EOI) and a modern (WS-Man) device, out of band and in
 * band. Afterwards firmware, directory, CA and database agree.
 */
describe('provisionDevice end to end', () => {
  let env: LifecycleEnv;
  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-modern', amtVersion: '11.8.50' },
        { hostName: 'amt-legacy', amtVersion: '5.2.70' },
        { hostName: 'amt-inband', amtVersion: '15.0.23' },
      ],
      { firstIp: '127.31.1.1' },
    );
  });
  afterAll(async () => env?.stop());

  it.each([
    ['modern (WS-Man)', 0],
    ['legacy (EOI)', 1],
  ])('provisions a %s device out of band', async (_label, index) => {
    const device = env.devices[index]!;
    const handle = await env.provision(device.uuid, 'out-of-band');
    const result = await handle.result();
    expect(result.fqdn).toBe(device.fqdn);
    const progress = await handle.query(progressQuery);
    expect(progress.state).toBe('completed');
    await expectProvisionedEverywhere(env, device, result);
  });

  it('provisions in band after the agent reported its OTP hash (IB2–IB5)', async () => {
    const device = env.devices[2]!;
    await reportOtpHash(env, device.uuid);
    const handle = await env.provision(device.uuid, 'in-band');
    const result = await handle.result();
    expect((await handle.query(progressQuery)).steps.find((s) => s.id === 'IB5')?.status).toBe('succeeded');
    await expectProvisionedEverywhere(env, device, result);
  });

  it('kept every password, passphrase and OTP out of every history', async () => {
    expect(await expectNoSecretInHistories(env, Object.values(PROFILE_SECRETS))).toBeGreaterThan(0);
  });
});
