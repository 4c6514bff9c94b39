import type { EoiOperations, REMOTE_CONTROL_COMMANDS } from './eoi/operations';
import { AmtError, AmtProtocolError, AmtReturnValueError } from './errors';
import { ref } from './wsman/envelope';
import type { WsmanClient } from './wsman/client';
import { integerList, requiredInteger } from './wsman/properties';

/**
 * Host power control (spec OPS2) over the interface of the firmware release: WS-Management's
 * CIM_PowerManagementService.RequestPowerStateChange and CIM_AssociatedPowerManagementService
 * from AMT 6.0 (console reference §3.1–§3.4; SDK "Change System Power State"), legacy EOI
 * RemoteControl before it (§3.5, amttool).
 */

/**
 * What an operator can ask for. `off` is the immediate switch-off every release offers (CIM value
 * 8, "Power Off - Soft" in the CIM names, which Open AMT calls "power down (hard)" because the OS
 * is not asked); `off-graceful` asks the OS to shut down (12); `reset` is a hardware reset (10),
 * `reset-graceful` an OS restart (14); `cycle` switches off and on again (5).
 */
export type PowerAction = 'on' | 'off' | 'off-graceful' | 'cycle' | 'reset' | 'reset-graceful' | 'sleep' | 'hibernate';

export type HostPowerState = 'on' | 'sleep' | 'hibernate' | 'off' | 'unknown';

export interface PowerStatus {
  state: HostPowerState;
  /** The firmware's own value: CIM PowerState (WS-Management) or the ACPI S-state (EOI). */
  firmwareValue: number;
  /** Actions the firmware would accept now (AvailableRequestedPowerStates; on EOI from the state). */
  available: PowerAction[];
}

/** RequestPowerStateChange PowerState per action (SDK-PWR table; console reference §3.2). */
const CIM_REQUEST: Readonly<Record<PowerAction, number>> = {
  on: 2,
  sleep: 4,
  cycle: 5,
  hibernate: 7,
  off: 8,
  reset: 10,
  'off-graceful': 12,
  'reset-graceful': 14,
};
/** RemoteControl command per action (amttool): EOI has no sleep, hibernate or graceful changes. */
const EOI_COMMAND: Partial<Record<PowerAction, keyof typeof REMOTE_CONTROL_COMMANDS>> = {
  reset: 'reset',
  on: 'on',
  off: 'off',
  cycle: 'cycle',
};
/** Actions sent only when the firmware lists them as available: not every release or platform has them. */
const OFFERED_ONLY = new Set<PowerAction>(['off-graceful', 'reset-graceful', 'sleep', 'hibernate']);

/** CIM PowerState (DMTF 2.46) → state; MAAS reads the same values as on/off. */
function cimState(value: number): HostPowerState {
  if (value === 2) return 'on';
  if (value === 3 || value === 4) return 'sleep';
  if (value === 7) return 'hibernate';
  if (value === 6 || value === 8 || value === 12 || value === 13) return 'off';
  return 'unknown';
}

/** ACPI S-state of EOI GetSystemPowerState (0 S0 … 5 S5, 6 S4/S5, 7 mechanical off). */
function acpiState(value: number): HostPowerState {
  if (value === 0) return 'on';
  if (value >= 1 && value <= 3) return 'sleep';
  if (value === 4) return 'hibernate';
  if (value >= 5 && value <= 7) return 'off';
  return 'unknown';
}

/**
 * The firmware refused a power change: names the action, the firmware's return value and its code
 * (`STATE_CHANGE_UNKNOWN_ERROR` for a ReturnValue of 2, `PT_STATUS_INVALID_PARAMETER`, …). Nothing
 * changed. `POWER_ACTION_NOT_OFFERED` (returnValue null) means the action was not sent at all: the
 * firmware does not list it as available now.
 */
export class AmtPowerError extends AmtError {
  constructor(
    code: 'POWER_ACTION_REFUSED' | 'POWER_ACTION_NOT_OFFERED',
    readonly action: PowerAction,
    readonly returnValue: number | null,
    readonly returnCode: string | null,
    message: string,
    transient: boolean,
    cause?: unknown,
  ) {
    super(code, message, 'rejected', { transient, cause });
  }
}

export interface PowerControl {
  readonly interface: 'wsman' | 'eoi';
  getStatus(): Promise<PowerStatus>;
  /** Sends one power change; rejects with AmtPowerError when the firmware (or its offer list) refuses it. */
  request(action: PowerAction): Promise<void>;
}

async function refusedAs<T>(action: PowerAction, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof AmtReturnValueError)) throw err;
    throw new AmtPowerError(
      'POWER_ACTION_REFUSED',
      action,
      err.returnValue,
      err.code,
      `power ${action} refused: ${err.message}`,
      err.transient,
      err,
    );
  }
}

function notOffered(action: PowerAction, why: string): AmtPowerError {
  return new AmtPowerError('POWER_ACTION_NOT_OFFERED', action, null, null, `power ${action} not sent: ${why}`, false);
}

export class WsmanPowerControl implements PowerControl {
  readonly interface = 'wsman';

  constructor(private readonly client: WsmanClient) {}

  async getStatus(): Promise<PowerStatus> {
    const [association] = await this.client.enumerate('CIM_AssociatedPowerManagementService');
    if (!association) throw new AmtProtocolError('no CIM_AssociatedPowerManagementService instance');
    const value = requiredInteger(association, 'PowerState');
    const offered = new Set(integerList(association, 'AvailableRequestedPowerStates'));
    const available = (Object.keys(CIM_REQUEST) as PowerAction[]).filter((a) => offered.has(CIM_REQUEST[a]));
    return { state: cimState(value), firmwareValue: value, available };
  }

  async request(action: PowerAction): Promise<void> {
    if (OFFERED_ONLY.has(action) && !(await this.getStatus()).available.includes(action))
      throw notOffered(action, 'the firmware does not list it in AvailableRequestedPowerStates');
    await refusedAs(action, () =>
      this.client.invoke('CIM_PowerManagementService', 'RequestPowerStateChange', {
        PowerState: CIM_REQUEST[action],
        ManagedElement: ref('CIM_ComputerSystem', { CreationClassName: 'CIM_ComputerSystem', Name: 'ManagedSystem' }),
      }),
    );
  }
}

export class EoiPowerControl implements PowerControl {
  readonly interface = 'eoi';

  constructor(private readonly eoi: EoiOperations) {}

  async getStatus(): Promise<PowerStatus> {
    const value = await this.eoi.getSystemPowerState();
    const state = acpiState(value);
    const available: PowerAction[] = state === 'on' ? ['off', 'cycle', 'reset'] : state === 'unknown' ? [] : ['on'];
    return { state, firmwareValue: value, available };
  }

  async request(action: PowerAction): Promise<void> {
    const command = EOI_COMMAND[action];
    if (command === undefined) throw notOffered(action, 'EOI RemoteControl has no such command');
    await refusedAs(action, () => this.eoi.remoteControl(command));
  }
}
