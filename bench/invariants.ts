/**
 * The reliability invariants every benchmark run ends with (issue 15 §2), as a pure check over the
 * evidence bench/run.ts gathers from the emulator, the site database and the directory:
 *
 * 1. each device's stored admin password authenticates against the device;
 * 2. every certificate issued for a device is installed on it and recorded, or revoked;
 * 3. exactly one directory object per device, carrying its two SPNs (HTTP/<fqdn>:16992 and :16993).
 */

export interface CertificateEvidence {
  serial: string;
  template: string;
  status: 'issued' | 'revoked';
}

export interface DeviceEvidence {
  uuid: string;
  fqdn: string;
  /** Result of a WS-Man login over TLS with the admin password read back from the store. */
  adminPassword: 'authenticates' | 'rejected' | 'missing' | { error: string };
  /** Every certificate the site database recorded for the device, whatever its status. */
  certificates: CertificateEvidence[];
  /** Serial of the certificate the device presents on its TLS port (undefined: no TLS answer). */
  presentedSerial?: string;
  /** Directory objects found for the device's name, with their servicePrincipalName values. */
  directoryObjects: Array<{ dn: string; spns: string[] }>;
  /** The SPNs the device must carry. */
  expectedSpns: string[];
}

export interface Violation {
  uuid: string;
  invariant: 'admin-password' | 'certificate' | 'directory';
  problem: string;
}

/** Serials compared as hexadecimal numbers: case and leading zeros differ between X.509 tools. */
export function sameSerial(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/[:\s]/g, '').replace(/^0+/, '').toLowerCase();
  return norm(a) === norm(b);
}

export function checkDevice(d: DeviceEvidence): Violation[] {
  const out: Violation[] = [];
  const v = (invariant: Violation['invariant'], problem: string) => out.push({ uuid: d.uuid, invariant, problem });

  if (d.adminPassword !== 'authenticates') {
    const why = typeof d.adminPassword === 'object' ? `login failed: ${d.adminPassword.error}` : d.adminPassword;
    v('admin-password', `the stored admin password does not authenticate (${why})`);
  }

  const issued = d.certificates.filter((c) => c.status === 'issued');
  if (d.presentedSerial === undefined) v('certificate', 'the device presents no TLS certificate');
  else if (!d.certificates.some((c) => sameSerial(c.serial, d.presentedSerial as string)))
    v('certificate', `the device presents certificate ${d.presentedSerial}, which the site database never recorded`);
  else if (!issued.some((c) => sameSerial(c.serial, d.presentedSerial as string)))
    v('certificate', `the device presents certificate ${d.presentedSerial}, recorded as revoked`);
  for (const c of issued) {
    if (d.presentedSerial === undefined || !sameSerial(c.serial, d.presentedSerial))
      v('certificate', `certificate ${c.serial} (${c.template}) is issued but neither installed nor revoked`);
  }

  if (d.directoryObjects.length !== 1) {
    v('directory', `${d.directoryObjects.length} directory objects for ${d.fqdn}, expected exactly one`);
  }
  for (const o of d.directoryObjects) {
    const have = new Set(o.spns.map((s) => s.toLowerCase()));
    const want = new Set(d.expectedSpns.map((s) => s.toLowerCase()));
    const missing = [...want].filter((s) => !have.has(s));
    const extra = [...have].filter((s) => !want.has(s));
    if (missing.length > 0) v('directory', `${o.dn} lacks SPN ${missing.join(', ')}`);
    if (extra.length > 0) v('directory', `${o.dn} carries unexpected SPN ${extra.join(', ')}`);
  }
  return out;
}

export function checkInvariants(devices: readonly DeviceEvidence[]): Violation[] {
  return devices.flatMap(checkDevice);
}

/** Raised at the end of a run whose invariants broke: the message lists every violation. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
  readonly code = 'BENCH_INVARIANT_BROKEN';
  constructor(readonly violations: readonly Violation[]) {
    super(
      `${violations.length} invariant violation(s):\n` +
        violations.map((x) => `  - ${x.uuid} [${x.invariant}] ${x.problem}`).join('\n'),
    );
  }
}
