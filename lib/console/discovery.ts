import { AmtAuthError, AmtError, detectInterface, discoverAmt, type PortProbe, type ProvisioningState } from '../amt';
import type { DeviceUuid } from '../device-uuid';
import type { DeviceAccess } from '../provisioning';
import type { DiscoveryStatus } from '../store';
import { openConsoleSession, storedAdminCredentials } from './device-access';
import { ConsoleError } from './errors';

/**
 * Discovery of management controllers (spec OPS1): one address's AMT status in Configuration
 * Manager's six values (console reference §4.5: CM12, CM07, IVP). First the unauthenticated probe
 * (lib/amt/discovery.ts: Server header, WS-Man Identify, how 16993 treats an anonymous client), then,
 * for a device this site provisioned, the provisioning state read with its stored credentials.
 *
 * | Status | When |
 * |---|---|
 * | `unknown` | nothing answered in time (host or ME off, unreachable, a hung address) — a known device is never called "not supported" for being off |
 * | `not_supported` | something answered, but not AMT; or, for an address no device of ours has, both ports refused the connection (a host with no AMT on that interface) |
 * | `provisioned` | a stored credential of this site works and the firmware reports post-provisioning |
 * | `not_provisioned` | the firmware reports pre/in-provisioning to our credential, or waits in setup mode for a provisioning certificate (remote configuration can provision it, OOB3) |
 * | `externally_provisioned` | provisioned (TLS configured) but no credential of ours works: provisioned outside this site |
 * | `detected` | AMT answers, but it neither waits for remote configuration nor accepts a credential of ours, so its state cannot be read (e.g. unprovisioned with a changed MEBx password, or provisioned elsewhere without TLS) |
 */

export interface DiscoveryTarget {
  host: string;
  httpPort: number;
  tlsPort: number;
  /** The known device whose contact this address is. */
  deviceUuid?: DeviceUuid;
}

export interface DiscoveryFinding {
  status: DiscoveryStatus;
  /** `11.8.50.3425` (Server header) or `11.8` (Identify); null when no AMT answered. */
  amtVersion: string | null;
  /** What the status rests on, in words; never a secret. */
  evidence: Record<string, string>;
}

/** At most this many addresses per sweep: a /22. Larger networks are swept as several ranges. */
export const MAX_DISCOVERY_ADDRESSES = 1024;

/** `first`..`last` inclusive, IPv4 dotted quads; refuses reversed or oversized ranges with INVALID_DISCOVERY_SCOPE. */
export function expandAddressRange(first: string, last: string): string[] {
  const from = ipv4(first);
  const to = ipv4(last);
  if (to < from) throw new ConsoleError('INVALID_DISCOVERY_SCOPE', `address range ${first}–${last} is reversed`);
  if (to - from + 1 > MAX_DISCOVERY_ADDRESSES)
    throw new ConsoleError(
      'INVALID_DISCOVERY_SCOPE',
      `address range ${first}–${last} holds ${to - from + 1} addresses; at most ${MAX_DISCOVERY_ADDRESSES} per sweep`,
    );
  return Array.from({ length: to - from + 1 }, (_v, i) => {
    const n = from + i;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  });
}

function ipv4(text: string): number {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)?.slice(1).map(Number);
  if (!parts || parts.some((p) => p > 255))
    throw new ConsoleError('INVALID_DISCOVERY_SCOPE', `not an IPv4 address: ${JSON.stringify(text)}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function describeProbe(p: PortProbe): string {
  if (!p.answered) return `no answer (${p.reason})`;
  if (p.status === null) return 'TLS spoken, client dropped before HTTP';
  return `HTTP ${p.status}${p.server ? ` from "${p.server}"` : ''}`;
}

/**
 * The AMT status of one address. Never rejects for a device's behaviour: every probe has its
 * deadline (`timeoutMs`, connect to last byte, both ports at once) and the authenticated read runs
 * under the site's AMT timeouts; a store failure rejects.
 */
export async function discoverTarget(
  access: DeviceAccess,
  target: DiscoveryTarget,
  options: { timeoutMs: number },
): Promise<DiscoveryFinding> {
  const probe = await discoverAmt(target, { timeoutMs: options.timeoutMs });
  const evidence: Record<string, string> = { http: describeProbe(probe.http), tls: describeProbe(probe.tls) };
  if (probe.classification === 'no-answer') {
    const refused = [probe.http, probe.tls].every((p) => !p.answered && p.reason === 'refused');
    const status = refused && !target.deviceUuid ? 'not_supported' : 'unknown';
    return { status, amtVersion: null, evidence };
  }
  if (probe.classification === 'not-amt') return { status: 'not_supported', amtVersion: null, evidence };

  const amtVersion = probe.amtVersion ?? null;
  if (target.deviceUuid) {
    const state = await readWithStoredCredentials(access, target.deviceUuid, amtVersion, evidence);
    if (state === 'post') return { status: 'provisioned', amtVersion, evidence };
    if (state !== undefined) return { status: 'not_provisioned', amtVersion, evidence };
  }
  if (probe.provisioning === 'unprovisioned') return { status: 'not_provisioned', amtVersion, evidence };
  if (probe.provisioning === 'provisioned') return { status: 'externally_provisioned', amtVersion, evidence };
  return { status: 'detected', amtVersion, evidence };
}

/** The firmware's provisioning state through a credential of ours, or undefined (with the reason in `evidence`). */
async function readWithStoredCredentials(
  access: DeviceAccess,
  deviceUuid: DeviceUuid,
  amtVersion: string | null,
  evidence: Record<string, string>,
): Promise<ProvisioningState | undefined> {
  if ((await storedAdminCredentials(access.store, deviceUuid)).length === 0) {
    evidence.login = 'no credential of this site';
    return undefined;
  }
  // The version just probed decides the interface, before the stored one (which may be older).
  if (amtVersion !== null) await access.store.devices.update(deviceUuid, { amtVersion });
  try {
    const { amt, iface, transport } = await openConsoleSession(access, deviceUuid);
    const state = await amt.setup(amtVersion === null ? iface : detectInterface(amtVersion)).getProvisioningState();
    evidence.login = `${amt.credentialRef ?? 'stored credential'} accepted over ${transport}`;
    evidence.provisioningState = state;
    return state;
  } catch (err) {
    if (!(err instanceof AmtError)) throw err;
    evidence.login =
      err instanceof AmtAuthError ? 'no credential of this site accepted' : `${err.code}: ${err.message}`;
    return undefined;
  }
}
