import { EventEmitter } from 'node:events';
import type { Nvram } from '../device/nvram';
import { EmulatorError } from '../errors';
import type { FaultRegistry } from '../fleet/faults';
import { HostConsole } from './console';
import { VirtualDrive } from './drive';
import {
  BLOCKED_BY_REDIRECTION,
  CHANGE_RULES,
  CIM_POWER_STATE,
  hostStateOf,
  meAwake,
  type HostState,
  type PowerChange,
} from './power';

/** What happens on the host side, without the firmware: a finger on the button, the OS, the plug. */
export type HostAction = 'power-button' | 'sleep' | 'hibernate' | 'wake' | 'unplug' | 'plug-in';

/**
 * Time from power-on to the first console output. Real POST takes seconds; a little of it keeps
 * the power-state control message (0x29) and the boot text apart, as on real hardware.
 */
const POST_MS = 100;

export const HOST_ACTIONS: readonly HostAction[] = ['power-button', 'sleep', 'hibernate', 'wake', 'unplug', 'plug-in'];

/** One power request and its outcome: the test oracle for power control. */
export interface PowerTransition {
  at: string;
  /** `wsman` / `eoi`: a management console asked the firmware; `host`: a local action. */
  source: 'wsman' | 'eoi' | 'host';
  /** The request as received: `RequestPowerStateChange(8)`, `RemoteControl(17)`, `power-button`. */
  request: string;
  change: PowerChange | HostAction;
  from: HostState;
  /** The state after the request (unchanged when refused). */
  to: HostState;
  /** The firmware's answer (CIM ReturnValue or PT_STATUS); null for a host-side action. */
  returnValue: number | null;
}

/** Why the firmware refuses a change: wrong start state, a redirection session, an injected fault. */
export type Refusal = { kind: 'state' } | { kind: 'redirection' } | { kind: 'fault'; returnValue: number };

export interface HostOptions {
  uuid: string;
  /** The device's NVRAM (a getter: a lost-write fault may replace the object). */
  nvram: () => Nvram;
  faults: FaultRegistry;
  /** Persists NVRAM after a host-side action (firmware requests are persisted by the device). */
  persist: () => Promise<void>;
  now: () => Date;
}

/**
 * The computer around the Management Engine: its power state (kept in NVRAM as the CIM
 * PowerState), its serial console and its IDE-R drive, and the record of every power request.
 * Emits `state` (from, to) on every change of power state, after the answer to the request that
 * caused it has been computed.
 */
export class Host extends EventEmitter {
  readonly transitions: PowerTransition[] = [];
  readonly console: HostConsole;
  readonly drive: VirtualDrive;
  private readonly sessions = { sol: 0, ider: 0 };
  /** IDE-R asked for "on next boot": the BIOS probes the drive when the host next comes up. */
  private probeOnBoot = false;
  /** The last PowerState a console requested (CIM_AssociatedPowerManagementService.RequestedPowerState). */
  lastRequested = 0;

  constructor(private readonly options: HostOptions) {
    super();
    const nvram = options.nvram;
    this.console = new HostConsole(
      () => ({ hostName: nvram().general.hostName, amtVersion: nvram().amtVersion }),
      () => this.state === 'S0',
    );
    this.drive = new VirtualDrive(options.now);
  }

  get state(): HostState {
    return hostStateOf(this.options.nvram().power.hostPowerState);
  }

  /** Whether the ME, and every AMT port with it, is powered now (see `meAwake`). */
  meAwake(): boolean {
    return meAwake(this.options.nvram(), this.state);
  }

  /** Redirection sessions open on the firmware (SDK-PWR blocks power-off and power cycle meanwhile). */
  openSession(kind: 'sol' | 'ider'): void {
    this.sessions[kind] += 1;
  }

  closeSession(kind: 'sol' | 'ider'): void {
    this.sessions[kind] = Math.max(0, this.sessions[kind] - 1);
  }

  sessionOpen(kind: 'sol' | 'ider'): boolean {
    return this.sessions[kind] > 0;
  }

  /**
   * A console's power request through the firmware. `answer` maps the refusal (null when the change
   * is accepted) to the interface's return value; the change is applied only when that is 0.
   */
  request(
    change: PowerChange,
    origin: { source: 'wsman' | 'eoi'; request: string },
    answer: (refusal: Refusal | null) => number,
  ): number {
    const from = this.state;
    const returnValue = answer(this.refusalOf(change, from));
    const to = returnValue === 0 ? CHANGE_RULES[change].to : from;
    this.record({ ...origin, change, from, to, returnValue });
    if (returnValue === 0) this.enter(to);
    return returnValue;
  }

  /** A host-side action (library and admin API): the power button, the OS, the power cord. */
  async local(action: HostAction): Promise<PowerTransition> {
    const from = this.state;
    const to = localTarget(action, from);
    if (to === null) throw new EmulatorError('INVALID_HOST_ACTION', `${action} does nothing in ${from}`);
    const transition = this.record({ source: 'host', request: action, change: action, from, to, returnValue: null });
    this.enter(to);
    await this.options.persist();
    return transition;
  }

  /** IDE-R "start on next boot": the BIOS looks at the drive when the host next comes up. */
  armProbeOnBoot(armed: boolean): void {
    this.probeOnBoot = armed;
  }

  private refusalOf(change: PowerChange, from: HostState): Refusal | null {
    if (!CHANGE_RULES[change].from.includes(from)) return { kind: 'state' };
    if (BLOCKED_BY_REDIRECTION.has(change) && (this.sessions.sol > 0 || this.sessions.ider > 0))
      return { kind: 'redirection' };
    const injected = this.options.faults.takePowerRefusal(this.options.uuid, change);
    return injected === null ? null : { kind: 'fault', returnValue: injected };
  }

  private record(transition: Omit<PowerTransition, 'at'>): PowerTransition {
    const entry = { at: this.options.now().toISOString(), ...transition };
    this.transitions.push(entry);
    return entry;
  }

  /** Applies the new state; boot effects run after the current request has been answered. */
  private enter(to: HostState): void {
    const from = this.state;
    this.options.nvram().power.hostPowerState = CIM_POWER_STATE[to];
    // Out of S3 the host resumes from RAM: no POST, no boot device.
    const boots = to === 'S0' && from !== 'S3';
    setImmediate(() => this.emit('state', from, to));
    if (boots) setTimeout(() => this.boot(), POST_MS).unref();
  }

  private boot(): void {
    if (this.state !== 'S0') return;
    const fromDrive = this.drive.connected && this.probeOnBoot;
    this.console.boot(fromDrive ? 'IDE-R CD-ROM' : 'Hard Disk');
    if (this.drive.connected) void this.drive.probe();
  }
}

function localTarget(action: HostAction, from: HostState): HostState | null {
  switch (action) {
    case 'power-button':
      if (from === 'G3') return null;
      return from === 'S0' ? 'S5' : 'S0';
    case 'sleep':
      return from === 'S0' ? 'S3' : null;
    case 'hibernate':
      return from === 'S0' ? 'S4' : null;
    case 'wake':
      return from === 'S3' ? 'S0' : null;
    case 'unplug':
      return from === 'G3' ? null : 'G3';
    case 'plug-in':
      return from === 'G3' ? 'S5' : null;
  }
}
