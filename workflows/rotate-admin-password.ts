import type { DeviceSession, DeviceUuid } from '../activities/contract';
import { ROTATION, ROTATION_STEPS, VALIDATE } from './catalogue';
import { idempotencyKey, lifecycleRunner, markDevice, recordSuccess } from './lifecycle';
import { PATCHES } from './names';

export interface RotatePasswordInput {
  deviceUuid: DeviceUuid;
  requestedBy: string;
}

/**
 * Rotates the AMT remote admin password of a provisioned device (issue 11 §4; the rotation schedule
 * starts it when the current one is older than 28 days). The new password is committed as pending
 * before the device sees it and promoted only once the device accepts it (architecture law 3); a
 * retry first tries the pending password, so it never sets a second one. The old password stays a
 * retired Digest candidate. Returns the new credential's reference, never the password.
 */
export async function rotateAdminPassword(
  input: RotatePasswordInput,
): Promise<{ deviceUuid: DeviceUuid; credentialRef: string }> {
  const { deviceUuid } = input;
  const runner = lifecycleRunner('rotate_password', deviceUuid, ROTATION_STEPS);

  return runner.withCompensation(async () => {
    const device = await runner.run(VALIDATE.imported, { deviceUuid, mode: 'out-of-band' });
    markDevice(device.fqdn, device.collection);
    const { protocol, endpoint } = await runner.run(VALIDATE.version, { deviceUuid });
    // Every call of the run goes to the address P2 probed (issue 9: addresses don't move under a
    // run); runs from before replay reading the contact record, as they did.
    const fixed = runner.takesPatch(PATCHES.renewalAndRotationEndpoint) ? { endpoint } : {};
    const reached: DeviceSession = { deviceUuid, tls: 'managed', protocol, ...fixed };
    const login = await runner.run(ROTATION.login, { session: reached });
    const { credentialRef } = await runner.run(ROTATION.adminPassword, {
      session: { ...reached, credentialRef: login.credentialRef },
      idempotencyKey: idempotencyKey(ROTATION.adminPassword.id),
    });
    await recordSuccess(runner, {
      deviceUuid,
      operation: 'rotate_password',
      stageReached: 'rotate',
      summary: `remote admin password of ${device.fqdn} rotated (${credentialRef})`,
    });
    return { deviceUuid, credentialRef };
  });
}
