import type { Nvram } from '../device/nvram';

/**
 * The emulated host's power states and the firmware's rules for changing them, as the emulator
 * reads them (docs/emulator.md "Host power"): the Intel AMT SDK's "Change System Power State" use
 * case (SDK-PWR) and its power packages page, DMTF DSP1027 via CIM_AssociatedPowerManagementService,
 * and the start states Open AMT documents for each action (OAMT "AMT Power States").
 */

/** ACPI system state of the host: working, suspend to RAM, suspend to disk, soft off, mechanical off. */
export type HostState = 'S0' | 'S3' | 'S4' | 'S5' | 'G3';

/** CIM_AssociatedPowerManagementService.PowerState per host state (DMTF 2.46: 2 On, 4 Sleep-Deep, 7 Hibernate, 8 Off-Soft, 6 Off-Hard). */
export const CIM_POWER_STATE: Readonly<Record<HostState, number>> = { S0: 2, S3: 4, S4: 7, S5: 8, G3: 6 };

/** EOI RemoteControl.GetSystemPowerState low nibble (amttool's table: 0 S0 … 5 S5, 7 Off). */
export const ACPI_SYSTEM_POWER_STATE: Readonly<Record<HostState, number>> = { S0: 0, S3: 3, S4: 4, S5: 5, G3: 7 };

/** The host state NVRAM keeps (as a CIM PowerState, the value the firmware reports). */
export function hostStateOf(cimPowerState: number): HostState {
  switch (cimPowerState) {
    case 2:
      return 'S0';
    case 3:
    case 4:
      return 'S3';
    case 7:
      return 'S4';
    case 6:
      return 'G3';
    default:
      return 'S5';
  }
}

/** A power change a management console can ask of the firmware. */
export type PowerChange = 'on' | 'off' | 'cycle' | 'reset' | 'sleep' | 'hibernate' | 'graceful-off' | 'graceful-reset';

interface ChangeRule {
  /** Host states the change starts from (OAMT start states; SDK-PWR). */
  from: readonly HostState[];
  to: HostState;
  /** The host passes through this state (a power cycle goes through soft-off). */
  via?: HostState;
}

export const CHANGE_RULES: Readonly<Record<PowerChange, ChangeRule>> = {
  on: { from: ['S3', 'S4', 'S5'], to: 'S0' },
  off: { from: ['S0'], to: 'S5' },
  cycle: { from: ['S0'], to: 'S0', via: 'S5' },
  reset: { from: ['S0'], to: 'S0' },
  sleep: { from: ['S0'], to: 'S3' },
  hibernate: { from: ['S0'], to: 'S4' },
  'graceful-off': { from: ['S0'], to: 'S5' },
  'graceful-reset': { from: ['S0'], to: 'S0' },
};

/**
 * SDK-PWR: "If there is an active redirection session (SOL, Storage Redirection, or KVM), then a
 * power cycle or a power off command will be rejected as invalid." A reset is not: consoles reset
 * into an IDE-R boot with the session open.
 */
export const BLOCKED_BY_REDIRECTION: ReadonlySet<PowerChange> = new Set<PowerChange>(['off', 'cycle', 'graceful-off']);

/**
 * Intel's power packages (protocol reference §4.16): description and SchemeGUID (base64 of the raw
 * bytes LMS lists). The emulated desktop exposes two of them, as OEMs typically do.
 */
export const POWER_SCHEMES: { description: string; guid: string }[] = [
  { description: 'Mobile: ON in S0', guid: 'djmXEQtWUEOIcJgS85G1YA==' },
  { description: 'Mobile: ON in S0, S3/AC', guid: 'JtMcdocIx0u7Xzh0QxWl/w==' },
  { description: 'Mobile: ON in S0, S3/AC, S4-5/AC', guid: 'Uw4I22wP2Uiy0olY0/EVbg==' },
  { description: 'Mobile: ON in S0, ME Wake in S3/AC', guid: 'BV3Vtkykh02lqLR8FN7aXw==' },
  { description: 'Mobile: ON in S0, ME Wake in S3/AC, S4-5/AC', guid: 'MIAN7gnAeEOvKHhootu+Og==' },
  { description: 'Desktop: ON in S0', guid: 'lE+DEvsQT9yWjh4jKwyQZQ==' },
  { description: 'Desktop: ON in S0, S3', guid: 'oYYAq5p/TEKm5rskOildng==' },
  { description: 'Desktop: ON in S0, S3, S4-5', guid: 'coarrJa0SOKbnpt9+Rx/1A==' },
  { description: 'Desktop: ON in S0, ME Wake in S3', guid: 'ezLNTWu+Q4mmKk172NvQJg==' },
  { description: 'Desktop: ON in S0, ME Wake in S3, S4-5', guid: 'cyJzRiPcQy+pihPTeYLYVQ==' },
  { description: 'Desktop: ON in S0, S3, S4-5, OFF after power loss', guid: 'xRmkum5vjU2yJ1F/fkWV2w==' },
  { description: 'Desktop: ON in S0, ME Wake in S3, S4-5, OFF after power loss', guid: '1gvj7QTFLEa3ctGAGO4vxA==' },
];

/**
 * Whether the Management Engine — and with it every AMT port — is powered while the host is in
 * `state`: always in S0, never in G3 (no power at all), otherwise only where the active power
 * package lists the state. SDK power packages page: "The ME is off for S-states not listed in the
 * descriptive string"; a "Wake" package sleeps but wakes on traffic, which a client cannot tell
 * from awake. So with "Desktop: ON in S0", a host switched off takes AMT with it.
 */
export function meAwake(nvram: Nvram, state: HostState): boolean {
  if (state === 'G3') return false;
  if (state === 'S0') return true;
  const description = POWER_SCHEMES[nvram.power.schemeIndex]?.description ?? '';
  return state === 'S3' ? /\bS3\b/.test(description) : description.includes('S4-5');
}
