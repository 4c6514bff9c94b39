import { z } from 'zod';
import { amtPasswordProblems } from '../crypto/passwords';
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

/**
 * A password AMT accepts for its admin account, the MEBx or a Digest user (the strong-password rule
 * of the AMT SDK, lib/crypto/passwords.ts). The issue names every broken clause, never the value.
 */
export const strongAmtPassword = z.string().superRefine((password, ctx) => {
  const problems = amtPasswordProblems(password);
  if (problems.length) ctx.addIssue({ code: 'custom', message: `not a strong AMT password: ${problems.join('; ')}` });
});
