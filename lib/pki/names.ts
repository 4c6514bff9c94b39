import { deviceUuidSchema, type DeviceUuid } from '../device-uuid';
import { PkiError } from './errors';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A fully qualified host name as it goes into a subject CN and a SAN dNSName: at least two labels of
 * letters, digits and inner hyphens, lower-cased. Anything else (a comma, an `=`, a wildcard, a
 * space) is refused, so a name taken from a device or an operator can never add attributes to a
 * subject or claim more than one host.
 */
export function normalizeFqdn(value: string, what = 'host name'): string {
  const name = value.toLowerCase();
  const labels = name.split('.');
  if (name.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label))) {
    throw new PkiError(
      'INVALID_FQDN',
      `${what} ${JSON.stringify(value)} is not a fully qualified DNS name (labels of letters, digits and hyphens, e.g. amt1.corp.example.test)`,
    );
  }
  return name;
}

/** True when `name` is `domain` itself or a name below it (spec OOB4: CN inside the DNS namespace). */
export function isInNamespace(name: string, domain: string): boolean {
  const n = name.toLowerCase();
  const d = domain.toLowerCase();
  return n === d || n.endsWith(`.${d}`);
}

/** A device UUID in canonical form (lib/device-uuid.ts); INVALID_DEVICE_UUID otherwise. */
export function normalizeDeviceUuid(value: string): DeviceUuid {
  const parsed = deviceUuidSchema.safeParse(value);
  if (!parsed.success) {
    throw new PkiError('INVALID_DEVICE_UUID', `device UUID ${JSON.stringify(value)} is not in 8-4-4-4-12 hex form`);
  }
  return parsed.data;
}
