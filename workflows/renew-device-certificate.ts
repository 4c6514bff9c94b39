import type { DeviceSession, DeviceUuid } from '../activities/contract';
import { RENEWAL, RENEWAL_STEPS, VALIDATE } from './catalogue';
import { idempotencyKey, lifecycleRunner, markDevice, recordSuccess } from './lifecycle';
import { PATCHES } from './names';

export interface RenewCertificateInput {
  deviceUuid: DeviceUuid;
  requestedBy: string;
}

export interface RenewCertificateResult {
  deviceUuid: DeviceUuid;
  /** Serial of the certificate the device serves now. */
  certificateSerial: string;
  /** Serials revoked as superseded. */
  revoked: string[];
}

/**
 * Renews the AMT web-server certificate of a provisioned device (issue 11 §4; the renewal schedule
 * starts it 42 days before expiry): I2 requests a new one (the firmware makes the key), I6 installs
 * it and switches the TLS server to it, verifying the device serves it, and only then I1 revokes
 * the old one — so the device is never left serving a revoked certificate. A run under the device's
 * one workflow id, like every lifecycle run.
 */
export async function renewDeviceCertificate(input: RenewCertificateInput): Promise<RenewCertificateResult> {
  const { deviceUuid } = input;
  const runner = lifecycleRunner('renew_certificate', deviceUuid, RENEWAL_STEPS);

  return runner.withCompensation(async () => {
    const device = await runner.run(VALIDATE.imported, { deviceUuid, mode: 'out-of-band' });
    markDevice(device.fqdn, device.collection);
    const { protocol, endpoint } = await runner.run(VALIDATE.version, { deviceUuid });
    // Every call of the run goes to the address P2 probed (issue 9: addresses don't move under a
    // run); runs from before replay reading the contact record, as they did.
    const fixed = runner.takesPatch(PATCHES.renewalAndRotationEndpoint) ? { endpoint } : {};
    const reached: DeviceSession = { deviceUuid, tls: 'managed', protocol, ...fixed };
    const login = await runner.run(RENEWAL.login, { session: reached });
    const session = { ...reached, credentialRef: login.credentialRef };

    const { serial } = await runner.run(RENEWAL.request, {
      session,
      fqdn: device.fqdn,
      idempotencyKey: idempotencyKey(RENEWAL.request.id),
    });
    await runner.run(RENEWAL.install, { session, serial });
    const { revoked } = await runner.run(RENEWAL.revoke, { deviceUuid, keepSerial: serial });

    await recordSuccess(runner, {
      deviceUuid,
      operation: 'renew_certificate',
      stageReached: 'renew',
      summary: `web-server certificate of ${device.fqdn} renewed (serial ${serial})`,
    });
    return { deviceUuid, certificateSerial: serial, revoked };
  });
}
