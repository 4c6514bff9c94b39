import { createHash } from 'node:crypto';
import { DirectoryError } from './errors';

/**
 * Names that come from devices and operators (host names, domains) are validated before any
 * directory call: a host name is a DNS name of letter-digit-hyphen labels (RFC 1123), so
 * `x)(cn=*` or `a,ou=evil` is refused outright. Escaping (dn.ts, escapeFilter) is the second wall.
 */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** NetBIOS domain and workgroup names: at most 15 characters, no dots. */
const NETBIOS = /^[a-z0-9_-]{1,15}$/i;

function isDnsName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

export interface HostName {
  /** Lower-cased, without a trailing dot. */
  fqdn: string;
  /** First label. */
  host: string;
  /** Everything after the first label; empty for a single-label name. */
  suffix: string;
}

/** Validates a device host name (one or more labels) and normalises its case. */
export function parseHostName(input: string): HostName {
  const fqdn = input.trim().toLowerCase().replace(/\.$/, '');
  if (!isDnsName(fqdn)) {
    throw new DirectoryError(
      'INVALID_HOST_NAME',
      `${JSON.stringify(input)} is not a DNS host name (letters, digits and hyphens in dot-separated labels); ` +
        'correct the host name imported or discovered for this computer',
      { hostName: input },
    );
  }
  const dot = fqdn.indexOf('.');
  return { fqdn, host: dot < 0 ? fqdn : fqdn.slice(0, dot), suffix: dot < 0 ? '' : fqdn.slice(dot + 1) };
}

export type DeviceDomainName = { kind: 'none' } | { kind: 'netbios'; name: string } | { kind: 'dns'; name: string };

/**
 * The domain reported for a computer: absent, a single-label NetBIOS name (a domain's short name
 * or a workgroup such as WORKGROUP), or a DNS domain name.
 */
export function parseDomainName(input: string | undefined): DeviceDomainName {
  const value = (input ?? '').trim().replace(/\.$/, '');
  if (value === '') return { kind: 'none' };
  if (!value.includes('.') && NETBIOS.test(value)) return { kind: 'netbios', name: value.toUpperCase() };
  if (value.includes('.') && isDnsName(value.toLowerCase())) return { kind: 'dns', name: value.toLowerCase() };
  throw new DirectoryError(
    'INVALID_DOMAIN_NAME',
    `${JSON.stringify(input)} is neither a DNS domain name nor a NetBIOS domain or workgroup name; ` +
      'correct the domain imported or discovered for this computer',
    { domain: input ?? '' },
  );
}

/** True when `name` equals `zone` or lies below it in DNS. */
export function isWithinDnsZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * sAMAccountName of a device's AMT account. The Windows computer already holds `HOST$`, so the AMT
 * account gets a name derived from the FQDN: deterministic (publishing again finds the same
 * account), unique per FQDN, 15 characters plus `$` like every computer account name.
 */
export function amtAccountName(fqdn: string): string {
  const digest = createHash('sha256').update(fqdn.toLowerCase()).digest('hex').slice(0, 11).toUpperCase();
  return `AMT-${digest}$`;
}

/** sAMAccountName of the Windows computer itself: NetBIOS name (at most 15 characters) plus `$`. */
export function windowsComputerAccountName(host: string): string {
  return `${host.slice(0, 15).toUpperCase()}$`;
}

/** Spec I4: the SPNs administrators use to reach AMT with Kerberos (HTTP on 16992, TLS on 16993). */
export const AMT_SPN_PORTS = [16992, 16993] as const;

export function amtSpns(fqdn: string): string[] {
  return AMT_SPN_PORTS.map((port) => `HTTP/${fqdn.toLowerCase()}:${port}`);
}
