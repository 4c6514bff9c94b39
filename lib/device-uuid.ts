import { z } from 'zod';
import { FinalError } from './errors';

/**
 * A device's SMBIOS UUID in canonical form: lower case, hyphenated (RFC 4122 text). The one type
 * every layer passes around: front doors (hello parser, API, CLI) produce it from what they
 * receive. One rule, `deviceUuidSchema`: the store and the CA, which also take UUIDs from imports and
 * scripts, check what they are given with it (refusing with their own typed error) rather than
 * trusting a caller's type; nothing lower-cases a UUID by hand.
 */
export type DeviceUuid = string & { readonly __brand: 'DeviceUuid' };

const hyphenated = (hex: string) =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as DeviceUuid;

/**
 * Accepts upper case, braces (`{…}`, as Windows prints it) and the 32-digit form without hyphens,
 * so every front door lands on the same key.
 */
export const deviceUuidSchema = z
  .string()
  .transform((value) =>
    value
      .trim()
      .replace(/^\{(.*)\}$/, '$1')
      .replace(/-/g, '')
      .toLowerCase(),
  )
  .pipe(z.string().regex(/^[0-9a-f]{32}$/, 'must be a UUID (32 hexadecimal digits, optionally hyphenated)'))
  .transform(hyphenated);

/** A value that is not a UUID; retrying with the same value cannot help. */
export class InvalidDeviceUuidError extends FinalError<'INVALID_DEVICE_UUID'> {
  override readonly name = 'InvalidDeviceUuidError';
  constructor(message: string) {
    super('INVALID_DEVICE_UUID', message);
  }
}

/** Parses what a front door received; INVALID_DEVICE_UUID names the value (UUIDs are not secret). */
export function parseDeviceUuid(value: string): DeviceUuid {
  const parsed = deviceUuidSchema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidDeviceUuidError(
      `${JSON.stringify(value.slice(0, 64))} is not a device UUID (32 hexadecimal digits, optionally hyphenated)`,
    );
  }
  return parsed.data;
}

/** The UUID of 16 bytes in RFC 4122 (big-endian) order. */
export function deviceUuidFromBytes(bytes: Buffer): DeviceUuid {
  if (bytes.length !== 16) throw new TypeError(`a UUID has 16 bytes, not ${bytes.length}`);
  return hyphenated(bytes.toString('hex'));
}

/**
 * The UUID of 16 bytes in SMBIOS order, which stores the first three groups little-endian: how a
 * hello (reference §6.3) and AMT_SetupAndConfigurationService.GetUuid carry it.
 */
export function deviceUuidFromSmbios(bytes: Buffer): DeviceUuid {
  if (bytes.length !== 16) throw new TypeError(`a UUID has 16 bytes, not ${bytes.length}`);
  return deviceUuidFromBytes(
    Buffer.concat([
      Buffer.from(bytes.subarray(0, 4)).reverse(),
      Buffer.from(bytes.subarray(4, 6)).reverse(),
      Buffer.from(bytes.subarray(6, 8)).reverse(),
      bytes.subarray(8, 16),
    ]),
  );
}

/**
 * Placeholder UUIDs OEM images ship with (all zeros, all F): many machines share them, so none of
 * them names one computer (issue 9). Refused at import and at the hello.
 */
export function isPlaceholderUuid(uuid: DeviceUuid): boolean {
  return uuid === '00000000-0000-0000-0000-000000000000' || uuid === 'ffffffff-ffff-ffff-ffff-ffffffffffff';
}
