import type { DeviceSession, DeviceUuid } from '../activities/contract';
import { STAGE_TWO, UPDATE, UPDATE_STEPS, VALIDATE } from './catalogue';
import { applySecondStage, idempotencyKey, lifecycleRunner, markDevice, recordSuccess } from './lifecycle';

export interface UpdateInput {
  deviceUuid: DeviceUuid;
  requestedBy: string;
}

/**
 * UPD1–UPD4: re-apply the current settings to a provisioned device, refresh its directory object
 * and SPNs, and renew its 802.1X client certificates. The web-server certificate is kept (UPD3).
 */
export async function updateManagementController(input: UpdateInput): Promise<{ deviceUuid: DeviceUuid }> {
  const { deviceUuid } = input;
  const runner = lifecycleRunner('update', deviceUuid, UPDATE_STEPS);

  return runner.withCompensation(async () => {
    const device = await runner.run(VALIDATE.imported, { deviceUuid, mode: 'out-of-band' });
    markDevice(device.fqdn, device.collection);
    const { protocol, endpoint } = await runner.run(VALIDATE.version, { deviceUuid });

    // UPD1 first (issue 9): the device is reached over TLS pinned to amtflow's CA, its FQDN and a
    // certificate not revoked, logged into and identified before the directory or the CA change.
    const reached: DeviceSession = { deviceUuid, tls: 'managed', protocol, endpoint };
    const login = await runner.run(UPDATE.login, { session: reached });
    const session = { ...reached, credentialRef: login.credentialRef };

    await runner.run(UPDATE.publish, { deviceUuid, idempotencyKey: idempotencyKey(UPDATE.publish.id) });
    await runner.run(UPDATE.spns, { deviceUuid });
    await applySecondStage(runner, session, { update: true });
    // UPD3 once the firmware holds the new 802.1X certificates: those issued before this run go.
    await runner.run(UPDATE.revoke, {
      deviceUuid,
      reason: 'superseded',
      templates: ['ieee8021x-client'],
      exceptRequestIds: [idempotencyKey(STAGE_TWO.network.id)],
    });
    await recordSuccess(runner, {
      deviceUuid,
      operation: 'update',
      stageReached: 'stage-two',
      summary: `settings re-applied to ${device.fqdn}`,
    });
    return { deviceUuid };
  });
}
