import type { LifecycleActivities, RemovalMode } from '../activities/contract';
import { REMOVE, REPORT, VALIDATE } from './catalogue';
import { markDevice, markOperation, recordSuccess, required } from './lifecycle';
import { StepRunner, type RetryTiming } from './step-runner';

export interface RemoveInput {
  deviceUuid: string;
  /** DEP1: `partial` keeps identification (name, IP address, DNS suffix); `full` removes it too. */
  mode: RemovalMode;
  requestedBy: string;
  timing?: RetryTiming;
}

export const REMOVAL_STEPS = [VALIDATE.imported, VALIDATE.version, ...Object.values(REMOVE), REPORT.result];

/** DEP1–DEP2 as steps of a run, shared with the rename flow (REN1 removes with option b). */
export async function removeSteps(
  runner: StepRunner<LifecycleActivities>,
  deviceUuid: string,
  mode: RemovalMode,
  operation: 'remove' | 'rename',
): Promise<void> {
  const device = required(
    await runner.run(VALIDATE.imported, { deviceUuid, mode: 'out-of-band' }),
    VALIDATE.imported.id,
  );
  markDevice(device.fqdn, device.collection);
  const { protocol } = required(await runner.run(VALIDATE.version, { deviceUuid }), VALIDATE.version.id);
  const login = required(
    await runner.run(REMOVE.login, { session: { deviceUuid, tls: 'managed', protocol } }),
    REMOVE.login.id,
  );
  await runner.run(REMOVE.unprovision, {
    session: { deviceUuid, tls: 'managed', protocol, credentialRef: login.credentialRef },
    mode,
  });
  await runner.run(REMOVE.revoke, { deviceUuid, reason: 'superseded', templates: ['amt-web-server', '8021x-client'] });
  await runner.run(REMOVE.account, { deviceUuid });
  await recordSuccess(runner, {
    deviceUuid,
    operation,
    stageReached: 'remove',
    summary: `${mode} removal of provisioning information from ${device.fqdn}`,
  });
}

/**
 * DEP1–DEP3: remove the provisioning information from a device. A device in a collection with
 * automatic provisioning provisions again by itself afterwards, unless an operator disabled it.
 */
export async function removeProvisioning(input: RemoveInput): Promise<{ deviceUuid: string; mode: RemovalMode }> {
  markOperation('remove', input.deviceUuid);
  const runner = new StepRunner<LifecycleActivities>({
    operation: 'remove',
    deviceUuid: input.deviceUuid,
    steps: REMOVAL_STEPS,
    timing: input.timing,
  });
  return runner.withCompensation(async () => {
    await removeSteps(runner, input.deviceUuid, input.mode, 'remove');
    return { deviceUuid: input.deviceUuid, mode: input.mode };
  });
}
