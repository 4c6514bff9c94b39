import { ApplicationFailure } from '@temporalio/common';
import { AmtError } from '../lib/amt';
import { DirectoryError } from '../lib/directory';
import { PkiError } from '../lib/pki';
import { StoreError } from '../lib/store/errors';

/**
 * Errors that retrying cannot fix: the input, the configuration or the state of another system
 * must change first. They reach the workflow as non-retryable failures with their stable code: a
 * validation step ends the run with it, any other step parks for an operator at once.
 */
const PERMANENT = new Set<string>([
  // Validation failures raised by the activities themselves (spec P1, P2, P4, OOB2, OOB3, IB5).
  'DEVICE_NOT_IMPORTED',
  'AMT_VERSION_UNSUPPORTED',
  'ROOT_HASH_MISMATCH',
  'OTP_NOT_REPORTED',
  'OTP_MISMATCH',
  'DEVICE_NOT_REACHABLE_ADDRESS',
  // lib/directory
  'INVALID_HOST_NAME',
  'INVALID_DOMAIN_NAME',
  'WORKGROUP_COMPUTER',
  'FOREIGN_FOREST',
  'NON_CONTIGUOUS_NAMESPACE',
  'DOMAIN_NOT_SERVED',
  'CONTAINER_MISSING',
  'COMPUTER_NOT_FOUND',
  'ACCOUNT_CONFLICT',
  'SPN_CONFLICT',
  'PRINCIPAL_NOT_FOUND',
  'PASSWORD_REJECTED',
  'DIRECTORY_CONFIG_INVALID',
  'DIRECTORY_INSECURE',
]);

/** Raised by activities for a typed, final condition (e.g. `ROOT_HASH_MISMATCH`). */
export function permanentFailure(code: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message, nonRetryable: true });
}

/**
 * Turns a domain error into the activity's failure: the stable code becomes the failure type (what
 * the `progress` query and the operator see), and the message — which lib/ keeps free of secrets —
 * is the only detail carried. Unknown errors stay retryable.
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof AmtError) {
    // The device refused and says so durably (a PT_STATUS, a fault, every credential rejected):
    // sending again changes nothing. Transport trouble and busy firmware are retried.
    const nonRetryable = err.outcome === 'rejected' && !err.transient;
    return ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable, details: [err.toJSON()] });
  }
  if (err instanceof DirectoryError || err instanceof PkiError || err instanceof StoreError) {
    return ApplicationFailure.create({
      type: err.code,
      message: err.message,
      nonRetryable: PERMANENT.has(err.code) || err instanceof PkiError,
    });
  }
  return err;
}

/** Wraps every activity so that domain errors leave it in Temporal's terms. */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw toActivityFailure(err);
        }
      },
    ]),
  ) as T;
}
