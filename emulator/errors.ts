/**
 * Typed errors of the emulator. Codes are stable: tests, the admin API and the CLI match on them,
 * never on messages.
 */
export type EmulatorErrorCode =
  | 'INVALID_PROFILE'
  | 'INVALID_FAULT'
  | 'UNKNOWN_DEVICE'
  | 'NVRAM_CORRUPT'
  | 'KEY_POOL_CORRUPT'
  | 'ADDRESS_IN_USE'
  | 'AGENT_NO_HECI'
  | 'AGENT_NOT_UNPROVISIONED'
  | 'AGENT_ROOT_HASH_MISSING'
  | 'AGENT_REPORT_FAILED'
  | 'DRIVE_NOT_CONNECTED'
  | 'DRIVE_CHECK_CONDITION'
  | 'INVALID_HOST_ACTION';

export class EmulatorError extends Error {
  constructor(
    readonly code: EmulatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EmulatorError';
  }
}
