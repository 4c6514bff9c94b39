/**
 * Typed errors of the AMT client. Every error carries a stable `code` and an `outcome` that tells
 * the caller what it may do next:
 *
 * - `not-delivered`: the request never reached the firmware (refused, unreachable, TLS handshake
 *   failed, connect timeout). Safe to resend anything, one-shot calls included.
 * - `rejected`: the firmware answered and refused (fault, non-zero return value, auth failure).
 *   Nothing was applied; resending the same request gives the same answer unless `transient`.
 * - `unknown`: the request may have been processed (reset or timeout after sending, 5xx, an
 *   unreadable 200). One-shot calls (CommitChanges, password set, Unprovision) must read the
 *   firmware state before deciding to resend — the peers brick devices by resending blindly.
 *
 * Messages never contain passwords: credentials are named by their `ref` only.
 */

export type DeliveryOutcome = 'not-delivered' | 'rejected' | 'unknown';

/** The longest text a device can put into one of our error messages (fault reasons, parser complaints). */
export const MAX_DEVICE_TEXT = 256;

/**
 * Text from a device, made fit for a message: control characters become spaces and anything past
 * `max` characters is cut, saying how much was cut. A device may answer anything (a 3 MB fault
 * reason); errors travel into logs, workflow histories and the operator's screen.
 */
export function deviceText(text: string, max = MAX_DEVICE_TEXT): string {
  // eslint-disable-next-line no-control-regex
  const clean = (text.length > max ? text.slice(0, max) : text).replace(/[\x00-\x1f\x7f]/g, ' ');
  return text.length > max ? `${clean}… (${text.length - max} more characters)` : clean;
}

export interface AmtErrorOptions {
  /** Worth retrying the same call later (busy, not ready, connection trouble). */
  transient?: boolean;
  cause?: unknown;
}

export class AmtError extends Error {
  readonly transient: boolean;

  constructor(
    readonly code: string,
    message: string,
    readonly outcome: DeliveryOutcome,
    options: AmtErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.transient = options.transient ?? false;
  }

  /**
   * Whether sending the same call again can succeed: not when the firmware refused and says so
   * durably (a PT_STATUS, a fault, every credential rejected); yes for transport trouble and busy
   * firmware.
   */
  get retryable(): boolean {
    return !(this.outcome === 'rejected' && !this.transient);
  }

  /** True when a one-shot call must verify firmware state before being sent again. */
  get mayHaveTakenEffect(): boolean {
    return this.outcome === 'unknown';
  }

  /** Plain data for activity failures and logs: code, outcome and message, never a cause chain. */
  toJSON(): { name: string; code: string; outcome: DeliveryOutcome; transient: boolean; message: string } {
    return {
      name: this.name,
      code: this.code,
      outcome: this.outcome,
      transient: this.transient,
      message: this.message,
    };
  }
}

/** TCP-level failure: refused, unreachable, reset, closed early. */
export class AmtConnectionError extends AmtError {}

/** No connection (`phase: 'connect'`) or no complete response (`phase: 'response'`) in time. */
export class AmtTimeoutError extends AmtError {
  constructor(
    readonly phase: 'connect' | 'response',
    readonly timeoutMs: number,
    target: string,
  ) {
    super(
      phase === 'connect' ? 'CONNECT_TIMEOUT' : 'RESPONSE_TIMEOUT',
      `${target}: no ${phase === 'connect' ? 'connection' : 'complete response'} within ${timeoutMs} ms`,
      phase === 'connect' ? 'not-delivered' : 'unknown',
      { transient: true },
    );
  }
}

/**
 * The caller gave up (its attempt was cancelled or reached its deadline, lib/amt/cancellation.ts):
 * `not-delivered` when nothing was sent, `unknown` when the request was cut off on the wire.
 */
export class AmtCancelledError extends AmtError {
  constructor(target: string, outcome: 'not-delivered' | 'unknown') {
    super(
      'REQUEST_CANCELLED',
      `${target}: request ${outcome === 'unknown' ? 'cut off' : 'not sent'}: the step's attempt was cancelled or timed out`,
      outcome,
      { transient: true },
    );
  }
}

/**
 * TLS handshake failed before any request data was processed: the firmware ended it — an alert,
 * or a dropped connection, as when it refuses our client certificate (`TLS_HANDSHAKE_REJECTED`);
 * our side could not agree with it — protocol, cipher, a server without RFC 5746
 * (`TLS_HANDSHAKE_FAILED`, naming OpenSSL's reason); or we rejected its certificate
 * (`TLS_SERVER_UNTRUSTED`, `TLS_SERVER_NAME_MISMATCH`, `TLS_PIN_MISMATCH`).
 */
export class AmtTlsError extends AmtError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, 'not-delivered', { cause });
  }
}

/** Every candidate credential was refused (spec OOB6). Names the refs tried, never a password. */
export class AmtAuthError extends AmtError {
  constructor(
    readonly triedRefs: readonly string[],
    target: string,
    code = 'AUTH_FAILED',
    detail = 'HTTP Digest authentication failed',
  ) {
    super(
      code,
      `${target}: ${detail}${triedRefs.length ? ` for credentials [${triedRefs.join(', ')}]` : ' (no credentials given)'}`,
      'rejected',
    );
  }
}

/** An HTTP status the protocol does not expect (404 on an unknown EOI service, 5xx without a fault). */
export class AmtHttpError extends AmtError {
  constructor(
    readonly status: number,
    target: string,
  ) {
    super(
      'UNEXPECTED_HTTP_STATUS',
      `${target}: unexpected HTTP status ${status}`,
      status >= 500 ? 'unknown' : 'rejected',
      {
        transient: status >= 500,
      },
    );
  }
}

/** The device answered something this client cannot read (not XML, DTD, missing body element). */
export class AmtProtocolError extends AmtError {
  constructor(message: string, outcome: DeliveryOutcome = 'unknown', cause?: unknown) {
    super('MALFORMED_RESPONSE', message, outcome, { cause });
  }
}

/**
 * A SOAP fault. WS-Management faults get `WSMAN_<SUBCODE>` codes (`WSMAN_ALREADY_EXISTS`,
 * `WSMAN_DESTINATION_UNREACHABLE`, `WSMAN_INVALID_REPRESENTATION`, `WSMAN_SCHEMA_VALIDATION_ERROR`,
 * `WSMAN_QUOTA_LIMIT`, …); legacy EOI (SOAP 1.1) faults get `SOAP_FAULT`.
 */
export class AmtFaultError extends AmtError {
  readonly subcode: string | undefined;
  readonly reason: string;
  readonly detail: string | undefined;

  /** `subcode`, `reason` and `detail` are the device's words, kept to MAX_DEVICE_TEXT characters. */
  constructor(
    code: string,
    subcode: string | undefined,
    reason: string,
    detail: string | undefined,
    context: string,
    transient: boolean,
  ) {
    const clippedSubcode = subcode === undefined ? undefined : deviceText(subcode);
    super(code, `${context}: ${clippedSubcode ?? 'fault'}: ${deviceText(reason)}`, 'rejected', { transient });
    this.subcode = clippedSubcode;
    this.reason = deviceText(reason);
    this.detail = detail === undefined ? undefined : deviceText(detail);
  }
}

/**
 * The device answered more than any firmware holds or sends — an enumeration without end, more
 * items or bytes than the client reads, an ACL count in the millions — and the client stopped
 * reading (`ENUMERATION_LIMIT_EXCEEDED`, `RESPONSE_TOO_LARGE`). A broken or hostile device;
 * retrying gives the same answer.
 */
export class AmtLimitError extends AmtError {
  constructor(code: 'ENUMERATION_LIMIT_EXCEEDED' | 'RESPONSE_TOO_LARGE', message: string) {
    super(code, message, 'unknown');
  }
}

/** A method returned a non-zero ReturnValue / StatusCode (`PT_STATUS_INVALID_PT_MODE`, …). */
export class AmtReturnValueError extends AmtError {
  constructor(
    code: string,
    readonly returnValue: number,
    readonly method: string,
    transient: boolean,
  ) {
    super(code, `${method} returned ${returnValue} (${code})`, 'rejected', { transient });
  }
}
