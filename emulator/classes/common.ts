import { createHash, X509Certificate } from 'node:crypto';
import { faults } from '../wsman/faults';
import { resourceUriOf } from '../wsman/namespaces';
import type { FirmwareContext } from '../wsman/registry';
import { epr, type Props } from '../wsman/writer';
import type { Epr } from '../wsman/envelope';

/** PT_STATUS return values (reference §2.6). */
export const PT = {
  SUCCESS: 0,
  INTERNAL_ERROR: 1,
  NOT_READY: 2,
  INVALID_NAME: 12,
  NOT_PERMITTED: 16,
  MAX_LIMIT_REACHED: 23,
  INVALID_PROVISIONING_STATE: 32,
  INVALID_DOMAIN_NAME: 28,
  INVALID_TIME: 34,
  INVALID_INDEX: 35,
  INVALID_PARAMETER: 36,
  UNSUPPORTED_OEM_NUMBER: 2049,
  INVALID_COMMAND: 2051,
  INVALID_SPECIAL_COMMAND: 2052,
  INVALID_HANDLE: 2053,
  INVALID_PASSWORD: 2054,
  INVALID_REALM: 2055,
  DUPLICATE: 2058,
  INVALID_KEY: 2062,
  INVALID_CERT: 2063,
  CERT_KEY_NOT_MATCH: 2064,
  UNSUPPORTED: 2066,
  NOT_FOUND: 2068,
} as const;

/** CIM RequestStateChange return values. */
export const RSC = { COMPLETED: 0, NOT_SUPPORTED: 1, INVALID_PARAMETER: 5, INVALID_STATE_TRANSITION: 4097 } as const;

/** The CIM_Service boilerplate AMT reports on every service singleton. */
export function service(className: string, name: string, extra: Props = {}): Props {
  return {
    CreationClassName: className,
    ElementName: name,
    EnabledState: 5,
    Name: name,
    RequestedState: 12,
    SystemCreationClassName: 'CIM_ComputerSystem',
    SystemName: 'Intel(r) AMT',
    ...extra,
  };
}

export const certInstanceId = (handle: number) => `Intel(r) AMT Certificate: Handle: ${handle}`;
export const keyInstanceId = (handle: number) => `Intel(r) AMT Key: Handle: ${handle}`;

export function certEpr(handle: number): Epr {
  return epr(resourceUriOf('AMT_PublicKeyCertificate'), { InstanceID: certInstanceId(handle) });
}

/** The handle in an EPR to AMT_PublicKeyCertificate / AMT_PublicPrivateKeyPair, or null. */
export function handleOf(ref: Epr | undefined, kind: 'cert' | 'key'): number | null {
  const id = ref?.selectors.get('InstanceID');
  if (typeof id !== 'string') return null;
  const m = /^Intel\(r\) AMT (Certificate|Key): Handle: (\d+)$/.exec(id.trim());
  if (!m || (m[1] === 'Certificate') !== (kind === 'cert')) return null;
  return Number(m[2]);
}

export function decodeBase64(text: string | undefined): Buffer | null {
  if (!text) return null;
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) return null;
  return Buffer.from(clean, 'base64');
}

export function parseCertificate(der: Buffer | null): X509Certificate | null {
  if (!der) return null;
  try {
    return new X509Certificate(der);
  } catch {
    return null;
  }
}

/** Only the admin account (or an in-provisioning server) may; `$$OsAdmin` and ACL users may not. */
export function requireAdmin(ctx: FirmwareContext): void {
  if (ctx.auth.kind !== 'admin') throw faults.accessDenied();
}

/** Host-based setup is accepted only over the local (LMS) path, i.e. as `$$OsAdmin`. */
export function requireLocal(ctx: FirmwareContext): void {
  if (ctx.auth.kind !== 'local') throw faults.accessDenied();
}

export const bool = (t: string | undefined, fallback: boolean) =>
  t === undefined ? fallback : t === 'true' || t === '1';

export function int(t: string | undefined, fallback: number, min = 0, max = 0xffffffff): number {
  if (t === undefined) return fallback;
  if (!/^\d{1,10}$/.test(t)) throw faults.invalidRepresentation();
  const n = Number(t);
  if (n < min || n > max) throw faults.invalidRepresentation();
  return n;
}

export function thumbprint(der: Buffer, algorithm: 'sha1' | 'sha256' | 'sha384'): string {
  return createHash(algorithm).update(der).digest('hex');
}

/** "C=unknown,O=unknown,CN=x" as AMT_PublicKeyCertificate shows subjects and issuers. */
export function dnString(x509Dn: string): string {
  return x509Dn.split('\n').filter(Boolean).join(',');
}
