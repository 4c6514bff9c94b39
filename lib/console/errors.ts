import { FinalError } from '../errors';

/** Stable codes of the console operations' own refusals (OPS1–OPS3); each is final until something changes. */
export type ConsoleErrorCode =
  /** The device has no admin credential of this site: amtflow did not provision it. */
  | 'NO_STORED_CREDENTIALS'
  /** A discovery scope that cannot be swept: a bad address range, too many addresses, an empty collection name. */
  | 'INVALID_DISCOVERY_SCOPE'
  /** The device's settings profile leaves the redirection feature disabled (OOB9.2): no session is opened. */
  | 'REDIRECTION_DISABLED'
  /** A session's options are out of range (time limit, image size). */
  | 'INVALID_SESSION_REQUEST';

export class ConsoleError extends FinalError<ConsoleErrorCode> {
  override readonly name = 'ConsoleError';
}
