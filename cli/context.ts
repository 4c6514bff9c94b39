/**
 * What every `amtflow` command shares: the global options (`--json`, `--url`, `--token-file`), the
 * API client, and output — human text, or with `--json` the API's answer as JSON on stdout. A
 * failure prints `code: message` (or `{ code, message }` with `--json`) on stderr and exits 1.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseDeviceUuid, type DeviceUuid } from '../lib/device-uuid';
import { ApiClient, ApiRequestError, clientSettings } from './api-client';

export interface CommandContext {
  api: ApiClient;
  json: boolean;
  /** Prints `value` as JSON with `--json`, else `human(value)` (nothing if it returns undefined). */
  print<T>(value: T, human: (value: T) => string | undefined): void;
}

interface GlobalOptions {
  json?: boolean;
  url?: string;
  tokenFile?: string;
}

/** The device argument, canonical; a value that is not a UUID stops here with its own message. */
export function deviceUuid(value: string): DeviceUuid {
  try {
    return parseDeviceUuid(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The global options of the command's program. */
export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** Builds the context for `command` and runs `fn` with it. */
export async function withContext(command: Command, fn: (context: CommandContext) => Promise<void>): Promise<void> {
  const options = globals(command);
  const json = Boolean(options.json);
  const api = new ApiClient(clientSettings({ url: options.url, tokenFile: options.tokenFile }));
  await fn({
    api,
    json,
    print(value, human) {
      if (json) {
        console.log(JSON.stringify(value, null, 2));
        return;
      }
      const text = human(value);
      if (text !== undefined) console.log(text);
    },
  });
}

/** The failure line(s) of a command, as `--json` or text. */
export function describeFailure(err: unknown, json: boolean): string {
  const code = err instanceof ApiRequestError ? err.code : 'ERROR';
  const message = err instanceof Error ? err.message : String(err);
  const issues = err instanceof ApiRequestError ? err.issues : undefined;
  if (json) return JSON.stringify({ code, message, ...(issues ? { issues } : {}) });
  return `${code}: ${message}`;
}
