import pino from 'pino';
import type { AmtflowConfig } from '../lib/config';

/**
 * Structured JSON logs. Secret-bearing field names are redacted as a second line of defence: code
 * should never log a secret in the first place.
 */
export const REDACTED_FIELDS = [
  'password',
  'otp',
  'privateKey',
  'key',
  'secret',
  '*.password',
  '*.otp',
  '*.privateKey',
  '*.secret',
];

export function createLogger(config: Pick<AmtflowConfig, 'log'>, name: string): pino.Logger {
  return pino({ name, level: config.log.level, redact: { paths: REDACTED_FIELDS, censor: '[redacted]' } });
}
