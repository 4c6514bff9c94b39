import type { z } from 'zod';
import { FinalError } from '../errors';

export type StoreErrorCode =
  | 'INVALID_INPUT'
  | 'INVALID_PROFILE'
  | 'DEVICE_NOT_FOUND'
  /** The device has no directory object recorded (I3 has not run for it). */
  | 'DIRECTORY_OBJECT_NOT_FOUND'
  | 'DEVICE_ALREADY_IMPORTED'
  /** All zeros or all F: a UUID OEM images share, which names no one computer (issue 9). */
  | 'PLACEHOLDER_DEVICE_UUID'
  | 'COLLECTION_NOT_FOUND'
  | 'PROFILE_NOT_FOUND'
  | 'PROFILE_SECRET_NOT_FOUND'
  | 'CREDENTIAL_NOT_FOUND'
  | 'CREDENTIAL_NOT_PENDING'
  | 'PROVISIONING_ACCOUNT_NOT_FOUND'
  | 'IDEMPOTENCY_CONFLICT'
  | 'PRINCIPAL_NOT_FOUND'
  | 'PRINCIPAL_EXISTS'
  | 'TOKEN_NOT_FOUND'
  | 'COLLECTION_NOT_EMPTY'
  | 'PROFILE_IN_USE';

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `wireless.0.priority`. */
  field: string;
  message: string;
}

/**
 * Typed errors of the site database repositories. Messages name devices, kinds, versions and fields
 * — never a secret value: callers log them and activities turn them into workflow failures. Every
 * code is about the input or the state of the records, which a retry of the same call finds
 * unchanged; trouble reaching the database is not a StoreError and stays retryable.
 */
export class StoreError extends FinalError<StoreErrorCode> {
  override readonly name = 'StoreError';
  constructor(
    code: StoreErrorCode,
    message: string,
    readonly issues: readonly FieldIssue[] = [],
  ) {
    super(code, message);
  }
}

/**
 * Parses `input` or throws INVALID_INPUT / INVALID_PROFILE naming every bad field. Zod's messages
 * describe the expectation, not the received value, so a rejected password does not leak here.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  code: 'INVALID_INPUT' | 'INVALID_PROFILE' = 'INVALID_INPUT',
): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  throw new StoreError(code, `invalid ${what}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, issues);
}
