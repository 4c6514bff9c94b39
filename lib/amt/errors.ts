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
 * TLS handshake failed before any request data was processed: the firmware rejected our client
 * certificate (`TLS_HANDSHAKE_REJECTED`), or we rejected its certificate (`TLS_SERVER_UNTRUSTED`,
 * `TLS_SERVER_NAME_MISMATCH`, `TLS_PIN_MISMATCH`).
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
  constructor(
    code: string,
    readonly subcode: string | undefined,
    readonly reason: string,
    readonly detail: string | undefined,
    context: string,
    transient: boolean,
  ) {
    super(code, `${context}: ${subcode ?? 'fault'}: ${reason}`, 'rejected', { transient });
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
