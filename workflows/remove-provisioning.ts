import type { DeviceSession, DeviceUuid, RemovalMode } from '../activities/contract';
import { REMOVAL_STEPS, REMOVE, VALIDATE } from './catalogue';
import { lifecycleRunner, markDevice, recordSuccess, type LifecycleRunner } from './lifecycle';
import { PATCHES } from './names';

export interface RemoveInput {
  deviceUuid: DeviceUuid;
  /** DEP1: `partial` keeps identification (name, IP address, DNS suffix); `full` removes it too. */
  mode: RemovalMode;
  requestedBy: string;
}

/** DEP1–DEP2 as steps of a run, shared with the rename flow (REN1 removes with option b). */
export async function removeSteps(
  runner: LifecycleRunner,
  deviceUuid: DeviceUuid,
  mode: RemovalMode,
  operation: 'remove' | 'rename_or_move',
): Promise<void> {
  const device = await runner.run(VALIDATE.imported, { deviceUuid, mode: 'out-of-band' });
  markDevice(device.fqdn, device.collection);
  // P2 fixes the address of the run; DEP1.0 reaches the device over TLS pinned to amtflow's CA,
  // its FQDN and a certificate not revoked, and identifies it, before anything changes (issue 9).
  const { protocol, endpoint } = await runner.run(VALIDATE.version, { deviceUuid });
  const reached: DeviceSession = { deviceUuid, tls: 'managed', protocol, endpoint };
  const login = await runner.run(REMOVE.login, { session: reached });
  await runner.run(REMOVE.unprovision, { session: { ...reached, credentialRef: login.credentialRef }, mode });
  await runner.run(REMOVE.revoke, {
    deviceUuid,
    reason: 'superseded',
    templates: ['amt-web-server', 'ieee8021x-client'],
  });
  // I5 undone: the account leaves the security groups the profile names, then goes.
  if (runner.takesPatch(PATCHES.securityGroups)) await runner.run(REMOVE.groups, { deviceUuid });
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
export async function removeProvisioning(input: RemoveInput): Promise<{ deviceUuid: DeviceUuid; mode: RemovalMode }> {
  const runner = lifecycleRunner('remove', input.deviceUuid, REMOVAL_STEPS);
  return runner.withCompensation(async () => {
    await removeSteps(runner, input.deviceUuid, input.mode, 'remove');
    return { deviceUuid: input.deviceUuid, mode: input.mode };
  });
}
