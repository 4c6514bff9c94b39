import { z } from 'zod';
import { isStrongAmtPassword } from '../crypto/passwords';
import { deviceUuidSchema, type DeviceUuid } from '../device-uuid';
import { parseInput } from './errors';

/** Field schemas the repositories share. */

export { deviceUuidSchema } from '../device-uuid';

/** A device UUID given to a repository, in canonical form; INVALID_INPUT otherwise. */
export function normaliseDeviceUuid(uuid: string): DeviceUuid {
  return parseInput(deviceUuidSchema, uuid, 'device UUID');
}

/**
 * Idempotency keys name the effect a retried activity must not repeat: workflow id + step (law 5).
 * Printable, bounded, so they can appear in errors and logs.
 */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(300)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export function idempotencyKey(workflowId: string, step: string): string {
  return `${workflowId}/${step}`;
}

const isControl = (c: string) => c < ' ' || c === '\x7f';

/** Free text of `min`–`max` characters without control characters (they break logs, LDAP and SOAP). */
export function text(min: number, max: number) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((value) => ![...value].some(isControl), 'must not contain control characters');
}

/** A password AMT accepts for its admin account, the MEBx or a digest user. */
export const strongAmtPassword = z
  .string()
  .refine(
    isStrongAmtPassword,
    'must be a strong AMT password: 8–32 characters with upper and lower case, a digit and a symbol, without : , or "',
  );
