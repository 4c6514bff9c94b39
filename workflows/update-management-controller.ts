import type { LifecycleActivities } from '../activities/contract';
import { REPORT, STAGE_TWO, UPDATE, VALIDATE } from './catalogue';
import { applySecondStage, idempotencyKey, markDevice, markOperation, recordSuccess, required } from './lifecycle';
import { StepRunner, type RetryTiming } from './step-runner';

export interface UpdateInput {
  deviceUuid: string;
  requestedBy: string;
  timing?: RetryTiming;
}

const STEPS = [
  VALIDATE.imported,
  VALIDATE.version,
  ...Object.values(UPDATE),
  ...Object.values(STAGE_TWO),
  REPORT.result,
];

/**
 * UPD1–UPD4: re-apply the current settings to a provisioned device, refresh its directory object
 * and SPNs, and renew its 802.1X client certificates. The web-server certificate is kept (UPD3).
 */
export async function updateManagementController(input: UpdateInput): Promise<{ deviceUuid: string }> {
  const { deviceUuid } = input;
  markOperation('update', deviceUuid);
  const runner = new StepRunner<LifecycleActivities>({
    operation: 'update',
    deviceUuid,
    steps: STEPS,
    timing: input.timing,
  });

  return runner.withCompensation(async () => {
    const device = required(
      await runner.run(VALIDATE.imported, { deviceUuid, mode: 'out-of-band' }),
      VALIDATE.imported.id,
    );
    markDevice(device.fqdn, device.collection);
    const { protocol } = required(await runner.run(VALIDATE.version, { deviceUuid }), VALIDATE.version.id);

    await runner.run(UPDATE.publish, { deviceUuid, idempotencyKey: idempotencyKey(UPDATE.publish.id) });
    await runner.run(UPDATE.spns, { deviceUuid });
    await runner.run(UPDATE.revoke, { deviceUuid, reason: 'superseded', templates: ['8021x-client'] });

    await applySecondStage(runner, { deviceUuid, tls: 'managed', protocol }, { update: true });
    await recordSuccess(runner, {
      deviceUuid,
      operation: 'update',
      stageReached: 'stage-two',
      summary: `settings re-applied to ${device.fqdn}`,
    });
    return { deviceUuid };
  });
}
