import { AmtError, type DeliveryOutcome } from '../errors';

/**
 * Redirection (SOL / IDE-R) failures, with stable codes:
 *
 * - `REDIRECTION_LISTENER_CLOSED`: the device accepted the TCP connection but closed it before
 *   answering the session start — its redirection listener (AMT_RedirectionService
 *   ListenerEnabled) is off, or TLS is required.
 * - `REDIRECTION_FEATURE_DISABLED`: the session start was answered "unsupported" — SOL or IDE-R is
 *   disabled in AMT_RedirectionService.EnabledState (or the session type is not offered).
 * - `REDIRECTION_BUSY`: a session of this kind is already open on the device.
 * - `REDIRECTION_START_FAILED`: any other non-zero session start status.
 * - `REDIRECTION_AUTH_UNSUPPORTED`: the device offers no authentication method this client speaks.
 * - `SOL_START_FAILED`, `IDER_START_FAILED`: the channel's start was refused.
 * - `IDER_IMAGE_INVALID`: the image to serve cannot be read or is no disk image (nothing was sent).
 * - `REDIRECTION_PROTOCOL_ERROR`: the device sent something no firmware sends.
 * - `REDIRECTION_TIMEOUT`: no answer within the response timeout.
 * - `REDIRECTION_CLOSED`: the device ended the session.
 *
 * A refused password is an `AmtAuthError` with code `REDIRECTION_AUTH_FAILED`.
 */
export type RedirectionErrorCode =
  | 'REDIRECTION_LISTENER_CLOSED'
  | 'REDIRECTION_FEATURE_DISABLED'
  | 'REDIRECTION_BUSY'
  | 'REDIRECTION_START_FAILED'
  | 'REDIRECTION_AUTH_UNSUPPORTED'
  | 'SOL_START_FAILED'
  | 'IDER_START_FAILED'
  | 'IDER_IMAGE_INVALID'
  | 'REDIRECTION_PROTOCOL_ERROR'
  | 'REDIRECTION_TIMEOUT'
  | 'REDIRECTION_CLOSED';

const TRANSIENT = new Set<RedirectionErrorCode>(['REDIRECTION_BUSY', 'REDIRECTION_TIMEOUT']);

export class AmtRedirectionError extends AmtError {
  constructor(
    code: RedirectionErrorCode,
    message: string,
    outcome: DeliveryOutcome = 'rejected',
    options: { cause?: unknown } = {},
  ) {
    super(code, message, outcome, { transient: TRANSIENT.has(code), ...options });
  }
}
