import { TypedError } from '../errors';

/**
 * Typed errors of the directory adapter. Each has a stable `code` (activities turn it into the
 * failure type a workflow branches on) and a message an operator can act on. Messages and details
 * name objects, never passwords.
 */
export type DirectoryErrorCode =
  /** A host name that is not a DNS name (e.g. `x)(cn=*`, `a,ou=evil`). Nothing is read or written. */
  | 'INVALID_HOST_NAME'
  /** A domain that is neither a DNS domain name nor a NetBIOS workgroup/domain name. */
  | 'INVALID_DOMAIN_NAME'
  /** P4: the computer belongs to a workgroup, not to a domain of the forest. */
  | 'WORKGROUP_COMPUTER'
  /** P4: the computer's domain is not a domain of amtflow's forest. */
  | 'FOREIGN_FOREST'
  /** P4: same forest, but another domain tree (or a host name outside amtflow's tree). */
  | 'NON_CONTIGUOUS_NAMESPACE'
  /** The domain belongs to the forest but the configured domain controller does not hold it. */
  | 'DOMAIN_NOT_SERVED'
  /** P3: the AMT container does not exist in that domain. */
  | 'CONTAINER_MISSING'
  /** The Windows computer object named by the caller does not exist. */
  | 'COMPUTER_NOT_FOUND'
  /** The AMT account's name or DN is held by an object amtflow did not create for this device. */
  | 'ACCOUNT_CONFLICT'
  /** The operation needs the AMT account, and it has not been published. */
  | 'ACCOUNT_NOT_FOUND'
  /** An AMT SPN is registered on another object. */
  | 'SPN_CONFLICT'
  /** A user or group named in the settings does not exist. */
  | 'PRINCIPAL_NOT_FOUND'
  /** The directory refused the new account password (policy). */
  | 'PASSWORD_REJECTED'
  /** The directory configuration cannot work (missing file, domain not in the forest, ...). */
  | 'DIRECTORY_CONFIG_INVALID'
  /** Plain LDAP without `allowPlain`, or an operation that needs an encrypted session. */
  | 'DIRECTORY_INSECURE'
  /** The server certificate is not trusted or does not name the server. */
  | 'DIRECTORY_TLS_UNTRUSTED'
  | 'DIRECTORY_AUTH_FAILED'
  | 'DIRECTORY_ACCESS_DENIED'
  /** Network failure, timeout, busy or unavailable server: worth retrying. */
  | 'DIRECTORY_UNAVAILABLE'
  /** Any other LDAP failure; `ldapCode` says which. */
  | 'DIRECTORY_OPERATION_FAILED';

/**
 * A server that did not answer, and LDAP failures of no known kind, may go away; every other code
 * is a refusal (validation, configuration, a conflict) that needs a change before a retry can help.
 */
const RETRYABLE: ReadonlySet<DirectoryErrorCode> = new Set(['DIRECTORY_UNAVAILABLE', 'DIRECTORY_OPERATION_FAILED']);

/** Only transient failures are retryable; refusals change nothing and stay refused. */
export class DirectoryError extends TypedError<DirectoryErrorCode> {
  override readonly name = 'DirectoryError';

  constructor(
    code: DirectoryErrorCode,
    message: string,
    /** Machine-readable facts behind the message (DNs, SPNs, names), never secrets. */
    readonly details: Readonly<Record<string, string | number | readonly string[]>> = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, RETRYABLE.has(code), options);
  }
}

export function isDirectoryError(err: unknown, code?: DirectoryErrorCode): err is DirectoryError {
  return err instanceof DirectoryError && (code === undefined || err.code === code);
}
