import pino from 'pino';
import pretty from 'pino-pretty';
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

export interface LoggerOptions {
  /**
   * `pretty`: one readable, coloured line per entry (pino-pretty), for a person at a terminal;
   * `json`: one JSON object per line, for files, pipes and log collectors. Default `json`.
   */
  format?: 'pretty' | 'json';
}

/**
 * The format `npm start` logs in: pretty on a terminal (stdout is a TTY), JSON when its output goes
 * to a file or pipe, or when `--json` is given.
 */
export function consoleFormat(argv: readonly string[] = process.argv, stdout = process.stdout): 'pretty' | 'json' {
  return stdout.isTTY && !argv.includes('--json') ? 'pretty' : 'json';
}

export function createLogger(
  config: Pick<AmtflowConfig, 'log'>,
  name: string,
  options: LoggerOptions = {},
): pino.Logger {
  const settings: pino.LoggerOptions = {
    name,
    level: config.log.level,
    redact: { paths: REDACTED_FIELDS, censor: '[redacted]' },
  };
  if (options.format !== 'pretty') return pino(settings);
  // Synchronous, in this process: lines keep their order with what else writes to the terminal.
  const stream = pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' });
  return pino(settings, stream);
}
