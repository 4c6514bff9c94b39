import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { z } from 'zod';
import { ConsoleError, type ConsoleErrorCode } from '../lib/console';
import { PkiError, type PkiErrorCode } from '../lib/pki';
import { StoreError, type StoreErrorCode } from '../lib/store';
import { OperationInFlightError } from '../runtime/lifecycle-client';

/** Stable codes of the API's own errors; store codes (`DEVICE_NOT_FOUND`, …) pass through unchanged. */
export type ApiErrorCode =
  | 'INVALID_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'NO_RUN'
  | 'OPERATION_IN_FLIGHT'
  | 'DECISION_REFUSED'
  | 'RATE_LIMITED'
  /** Issue 12 §4: the request body did not arrive within `api.bodyTimeoutMs`. */
  | 'REQUEST_TIMEOUT'
  | 'NO_CREDENTIAL'
  | 'INTERNAL'
  /** This API process was started without the certificate authority (provisioning chains need it). */
  | 'CA_UNAVAILABLE'
  /** Issue 9: an agent report names another computer than the one its credential was issued to. */
  | 'AGENT_NOT_FOR_DEVICE'
  /** Issue 9: an agent report's wired address is not the connection's source. */
  | 'AGENT_ADDRESS_MISMATCH'
  /** Issue 9: a report from another address while the device's run is in flight. */
  | 'RUN_IN_FLIGHT'
  /** A console schedule of that id exists already (OPS1, OPS2). */
  | 'SCHEDULE_EXISTS'
  /** The schedule follows the configuration and the collections: it is paused or synced, not deleted. */
  | 'SCHEDULE_FROM_CONFIGURATION';

/** An error the API answers with: HTTP status, stable code, a message a human can act on. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode | StoreErrorCode | ConsoleErrorCode | PkiErrorCode,
    message: string,
    readonly issues?: ReadonlyArray<{ field: string; message: string }>,
  ) {
    super(message);
  }
}

/** Zod describes the expectation, never the received value, so a rejected secret is not echoed. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({
    field: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
  throw new ApiError(
    400,
    'INVALID_REQUEST',
    `invalid ${what}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
    issues,
  );
}

const STORE_STATUS: Partial<Record<StoreErrorCode, number>> = {
  INVALID_INPUT: 400,
  INVALID_PROFILE: 400,
  DEVICE_NOT_FOUND: 404,
  COLLECTION_NOT_FOUND: 404,
  PROFILE_NOT_FOUND: 404,
  DEVICE_ALREADY_IMPORTED: 409,
  PRINCIPAL_NOT_FOUND: 404,
  PRINCIPAL_EXISTS: 409,
  TOKEN_NOT_FOUND: 404,
  COLLECTION_NOT_EMPTY: 409,
  PROFILE_IN_USE: 409,
  PLACEHOLDER_DEVICE_UUID: 400,
};

const CONSOLE_STATUS: Record<ConsoleErrorCode, number> = {
  NO_STORED_CREDENTIALS: 409,
  INVALID_DISCOVERY_SCOPE: 400,
  REDIRECTION_DISABLED: 403,
  INVALID_SESSION_REQUEST: 400,
};

/**
 * Maps what the front door's collaborators throw to the API's answer. Anything unexpected becomes
 * a generic 500 so no internal detail leaves the process; the caller logs the original.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreError) return new ApiError(STORE_STATUS[err.code] ?? 500, err.code, err.message, err.issues);
  if (err instanceof ConsoleError) return new ApiError(CONSOLE_STATUS[err.code], err.code, err.message);
  // The CA's errors are all validation or configuration (a certificate, a PKCS#12 refused); their
  // messages name public values only, never a key or a password.
  if (err instanceof PkiError) return new ApiError(400, err.code, err.message);
  if (err instanceof OperationInFlightError) return new ApiError(409, err.code, err.message);
  // The workflow's update validator refused the decision; its reason is the cause's message.
  if (err instanceof WorkflowUpdateFailedError)
    return new ApiError(409, 'DECISION_REFUSED', err.cause?.message ?? err.message);
  if (err instanceof WorkflowNotFoundError) return new ApiError(404, 'NO_RUN', 'the device has no lifecycle run');
  // Fastify's own 4xx (malformed JSON, body too large, wrong content type) say what was wrong.
  const status = (err as { statusCode?: number }).statusCode;
  if (status !== undefined && status >= 400 && status < 500)
    return new ApiError(status, 'INVALID_REQUEST', (err as Error).message);
  return new ApiError(500, 'INTERNAL', 'internal error; see the amtflow log');
}
