import { z } from 'zod';
import { amtPasswordProblems } from '../crypto/passwords';
import { parseInput } from './errors';

/** Field schemas the repositories share. */

/**
 * A device's SMBIOS UUID in canonical form: lower case, hyphenated. Accepts upper case, braces
 * (`{…}`, as Windows prints it) and the 32-digit form without hyphens, so every front door (hello
 * listener, import, API) lands on the same key.
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
  .transform(
    (hex) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
  );

export function normaliseDeviceUuid(uuid: string): string {
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
