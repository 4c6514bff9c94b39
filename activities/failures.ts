import { ApplicationFailure } from '@temporalio/common';
import { AmtError } from '../lib/amt';
import { isDomainError } from '../lib/errors';

/** Raised by activities for a typed, final condition of their own (e.g. `ROOT_HASH_MISMATCH`). */
export function permanentFailure(code: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message, nonRetryable: true });
}

/**
 * Turns a domain error into the activity's failure: the stable code becomes the failure type (what
 * the `progress` query and the operator see), the error's own `retryable` decides whether Temporal
 * may try again, and the message — which lib/ keeps free of secrets — is the only detail carried
 * (with the AMT client's delivery outcome). Errors of no known kind stay retryable.
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || !isDomainError(err)) return err;
  return ApplicationFailure.create({
    type: err.code,
    message: err.message,
    nonRetryable: !err.retryable,
    ...(err instanceof AmtError ? { details: [err.toJSON()] } : {}),
  });
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
