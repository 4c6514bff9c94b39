import { X509Certificate } from 'node:crypto';
import { openAmtSession } from '../../../lib/amt';
import { servedCertificateSha256 } from '../../../lib/provisioning';
import { sha256Fingerprint } from '../../../lib/amt';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import { collectionActions } from '../../../runtime/collection-action-client';
import { progressQuery } from '../../../workflows/messages';
import { expectNoSecretInHistories } from '../../support/agreement';
import { PROFILE_SECRETS, startLifecycleEnv, type E2eDevice, type LifecycleEnv } from '../../support/lifecycle-env';

/**
 * Issue 11 §4 end to end, with the real worker and activities against emulated firmware: the
 * certificate renewal flow (new certificate requested, installed, served, the old one revoked) and
 * the remote admin password rotation (write-ahead; the new password authenticates, the old one no
 * longer does), each started as the schedules start them — by a collection action over a selector.
 */
describe('renewal and rotation of provisioned devices', () => {
  let env: LifecycleEnv;
  const provisioned: Array<{ device: E2eDevice; serial: string }> = [];

  const loginWith = async (device: E2eDevice, password: string) => {
    const emulated = env.fleet.device(device.uuid);
    const session = openAmtSession({
      host: emulated.address,
      port: emulated.httpPort,
      credentials: [{ username: 'admin', password, ref: 'candidate' }],
      timeouts: env.deps.amtTimeouts,
    });
    return session.login().then(
      () => true,
      () => false,
    );
  };

  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-renew', amtVersion: '11.8.50' },
        { hostName: 'amt-rotate', amtVersion: '15.0.23' },
      ],
      { firstIp: '127.53.1.1' },
    );
    for (const device of env.devices) {
      const result = (await (await env.provision(device.uuid)).result()) as { certificateSerial: string };
      provisioned.push({ device, serial: result.certificateSerial });
    }
  });
  afterAll(async () => env?.stop());

  it('renews the web-server certificate: the device serves the new one, the old one is revoked', async () => {
    const { device, serial: oldSerial } = provisioned[0]!;
    const handle = await startLifecycle(
      env.env.client,
      'renew_certificate',
      { deviceUuid: device.uuid, requestedBy: 'e2e' },
      { taskQueue: env.taskQueue },
    );
    const result = await handle.result();
    expect(result.certificateSerial).not.toBe(oldSerial);
    expect(result.revoked).toEqual([oldSerial]);
    expect((await handle.query(progressQuery)).steps.map((s) => `${s.id} ${s.status}`)).toEqual([
      'OOB2 succeeded',
      'P2 succeeded',
      'OOB6 succeeded',
      'I2 succeeded',
      'I6 succeeded',
      'I1 succeeded',
      'OOB10 succeeded',
    ]);

    // The firmware serves the new certificate; the CA lists the old one as revoked, in its CRL too.
    const renewed = await env.deps.ca.certificate(result.certificateSerial);
    const served = await servedCertificateSha256(env.deps, { deviceUuid: device.uuid, protocol: 'wsman' });
    expect(served).toBe(sha256Fingerprint(new X509Certificate(renewed!.certificatePem)));
    const old = await env.deps.ca.certificate(oldSerial);
    expect(old).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    const crl = await env.deps.ca.crl();
    expect(crl.pem).toContain('BEGIN X509 CRL');
    const current = await env.deps.ca.currentCertificates(device.uuid, ['amt-web-server']);
    expect(current.map((c) => c.serial)).toEqual([result.certificateSerial]);
    expect((await env.deps.store.devices.require(device.uuid)).provisioningState).toBe('provisioned');
  });

  it('rotates the remote admin password write-ahead: the new one authenticates, the old one no longer does', async () => {
    const { device } = provisioned[1]!;
    const before = await env.deps.store.credentials.current(device.uuid, 'amt_admin');
    const oldPassword = await env.deps.store.credentials.reveal(before!);
    expect(await loginWith(device, oldPassword)).toBe(true);

    const handle = await startLifecycle(
      env.env.client,
      'rotate_password',
      { deviceUuid: device.uuid, requestedBy: 'e2e' },
      { taskQueue: env.taskQueue },
    );
    const result = await handle.result();
    const after = await env.deps.store.credentials.current(device.uuid, 'amt_admin');
    expect(after!.version).toBe(before!.version + 1);
    expect(result.credentialRef).toBe(`amt_admin:${after!.version}`);
    expect(await loginWith(device, await env.deps.store.credentials.reveal(after!))).toBe(true);
    expect(await loginWith(device, oldPassword)).toBe(false);
    const versions = await env.deps.store.credentials.list(device.uuid, 'amt_admin');
    expect(versions.find((c) => c.version === before!.version)?.status).toBe('retired');
  });

  it('the schedules’ collection actions pick the devices due and run the same flows', async () => {
    const actions = collectionActions(env.env.client, { taskQueue: env.taskQueue });
    const throttle = { maxConcurrent: 2, batchDelay: '1 second' };
    // Every certificate of the test CA expires within ten years: both devices are due.
    const renewal = await actions.start({
      kind: 'renew-certificate',
      selector: { kind: 'certificates-expiring', withinDays: 3650 },
      throttle,
      requestedBy: 'e2e',
    });
    expect((await actions.result(renewal)).counts).toMatchObject({ succeeded: 2, failed: 0, busy: 0, refused: 0 });
    // No admin password is older than a day: nothing to rotate.
    const rotation = await actions.start({
      kind: 'rotate-password',
      selector: { kind: 'admin-password-older-than', days: 1 },
      throttle,
      requestedBy: 'e2e',
    });
    expect(await actions.result(rotation)).toMatchObject({ total: 0, batches: 0 });
    for (const { device } of provisioned) {
      expect(await env.deps.ca.currentCertificates(device.uuid, ['amt-web-server'])).toHaveLength(1);
    }
  });

  it('kept every password out of every history', async () => {
    expect(await expectNoSecretInHistories(env, Object.values(PROFILE_SECRETS))).toBeGreaterThan(0);
  });
});
