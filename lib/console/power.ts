import { AmtConnectionError, AmtPowerError, AmtTimeoutError, type PowerAction, type PowerStatus } from '../amt';
import type { DeviceUuid } from '../device-uuid';
import type { DeviceAccess } from '../provisioning';
import { openConsoleSession } from './device-access';

/**
 * Power control of one device amtflow manages (spec OPS2), with its stored credentials: the
 * firmware's power management service on WS-Management releases
 * (CIM_PowerManagementService.RequestPowerStateChange, read back from
 * CIM_AssociatedPowerManagementService), EOI RemoteControl before AMT 6 (lib/amt/power.ts).
 */

export type { PowerAction, PowerStatus } from '../amt';

export const POWER_ACTIONS: readonly PowerAction[] = [
  'on',
  'off',
  'off-graceful',
  'cycle',
  'reset',
  'reset-graceful',
  'sleep',
  'hibernate',
];

export interface PowerOutcome {
  action: PowerAction;
  interface: 'wsman' | 'eoi';
  /** `done`: the firmware accepted it; `already`: the host was already where `on`/`off` leads, nothing sent. */
  result: 'done' | 'already';
  /**
   * Host power state read back after the change; undefined when the firmware no longer answers —
   * under a power package that keeps the ME on only in S0, switching the host off takes AMT with it.
   */
  after: PowerStatus | undefined;
}

/** The host's power state and the actions the firmware offers now. */
export async function readPowerState(access: DeviceAccess, deviceUuid: DeviceUuid): Promise<PowerStatus> {
  const { amt, iface } = await openConsoleSession(access, deviceUuid);
  return amt.power(iface).getStatus();
}

/**
 * Sends one power change and reads the state back. Idempotent for `on` and `off`: a host already on
 * (or off) is left alone and reported as `already`, so a retried activity never power-cycles a
 * machine twice. Rejects with AmtPowerError when the firmware refuses (its ReturnValue and code
 * named; `transient` for busy firmware), POWER_ACTION_NOT_OFFERED when the release does not offer
 * the action, or the transport's typed errors.
 */
export async function requestPower(
  access: DeviceAccess,
  deviceUuid: DeviceUuid,
  action: PowerAction,
): Promise<PowerOutcome> {
  const { amt, iface } = await openConsoleSession(access, deviceUuid);
  const power = amt.power(iface);
  const before = await power.getStatus();
  if ((action === 'on' && before.state === 'on') || (action === 'off' && before.state === 'off'))
    return { action, interface: iface, result: 'already', after: before };
  await power.request(action);
  const after = await power.getStatus().catch((err: unknown) => {
    if (err instanceof AmtConnectionError || err instanceof AmtTimeoutError) return undefined;
    throw err;
  });
  return { action, interface: iface, result: 'done', after };
}

export { AmtPowerError };
