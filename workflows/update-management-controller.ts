import type { DeviceUuid } from '../activities/contract';
import { UPDATE, UPDATE_STEPS, VALIDATE } from './catalogue';
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
    const { protocol } = await runner.run(VALIDATE.version, { deviceUuid });

    await runner.run(UPDATE.publish, { deviceUuid, idempotencyKey: idempotencyKey(UPDATE.publish.id) });
    await runner.run(UPDATE.spns, { deviceUuid });
    await runner.run(UPDATE.revoke, { deviceUuid, reason: 'superseded', templates: ['ieee8021x-client'] });

    await applySecondStage(runner, { deviceUuid, tls: 'managed', protocol }, { login: UPDATE.login, update: true });
    await recordSuccess(runner, {
      deviceUuid,
      operation: 'update',
      stageReached: 'stage-two',
      summary: `settings re-applied to ${device.fqdn}`,
    });
    return { deviceUuid };
  });
}
