/**
 * The Temporal CLI dev server that amtflow runs for development and tests: find or build the
 * pinned CLI, start it on a SQLite file, wait for health, stop it. Settings live in
 * temporal-config/dev-server.json.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { isAlive, terminate, waitFor } from './lib/process';

const run = promisify(execFile);

export const PROJECT_ROOT = path.resolve(__dirname, '..');

export interface DevServerSettings {
  cli: { version: string; module: string; versionVariable: string };
  ip: string;
  port: number;
  uiPort: number;
  namespace: string;
  dbFile: string;
  sqlitePragmas: Record<string, string>;
  searchAttributes: Record<string, string>;
  dynamicConfig: Record<string, unknown>;
  logLevel: string;
}

export function readDevServerSettings(): DevServerSettings {
  const file = path.join(PROJECT_ROOT, 'temporal-config', 'dev-server.json');
  return JSON.parse(readFileSync(file, 'utf8')) as DevServerSettings;
}

/** Raised when neither a matching CLI nor Go is available: the message says what to install. */
export class TemporalCliMissingError extends Error {
  override readonly name = 'TemporalCliMissingError';
  readonly code = 'TEMPORAL_CLI_MISSING';
}

function findOnPath(command: string, envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

async function versionOf(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(binary, ['--version']);
    return /version (\S+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

export interface EnsureCliOptions {
  /** Where a built CLI goes (git-ignored). */
  toolsDir?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/**
 * Returns the path of a Temporal CLI of the pinned version: one on PATH if its version matches,
 * else one built earlier into the tools directory, else one built now with `go install`.
 */
export async function ensureTemporalCli(options: EnsureCliOptions = {}): Promise<string> {
  const settings = readDevServerSettings();
  const env = options.env ?? process.env;
  const toolsDir = options.toolsDir ?? env.AMTFLOW_TOOLS_DIR ?? path.join(PROJECT_ROOT, '.tools');
  const log = options.log ?? (() => undefined);
  const wanted = settings.cli.version;

  const onPath = findOnPath('temporal', env.PATH);
  if (onPath && (await versionOf(onPath)) === wanted) return onPath;

  const built = path.join(toolsDir, 'bin', 'temporal');
  if (existsSync(built) && (await versionOf(built)) === wanted) return built;

  const go = findOnPath('go', env.PATH);
  if (!go) {
    throw new TemporalCliMissingError(
      `amtflow needs the Temporal CLI ${wanted}. Install Go 1.25 or newer (so amtflow can build it), ` +
        `or put a 'temporal' binary of version ${wanted} on PATH, then run the command again.`,
    );
  }
  log(`Building the Temporal CLI ${wanted} with ${go} (first time only; several minutes on a cold cache)...`);
  mkdirSync(path.join(toolsDir, 'bin'), { recursive: true });
  await run(
    go,
    ['install', '-ldflags', `-s -w -X ${settings.cli.versionVariable}=${wanted}`, `${settings.cli.module}@v${wanted}`],
    { env: { ...env, CGO_ENABLED: '0', GOBIN: path.join(toolsDir, 'bin') }, maxBuffer: 64 * 1024 * 1024 },
  );
  const version = await versionOf(built);
  if (version !== wanted)
    throw new Error(`built Temporal CLI reports version ${version ?? 'none'}, expected ${wanted}`);
  return built;
}

export interface ServerOptions {
  cli: string;
  /** Directory for the SQLite file, the pid file and the log. */
  stateDir: string;
  ip?: string;
  port?: number;
  /** Web UI port; `false` runs headless (tests). */
  uiPort?: number | false;
  namespace?: string;
  codecEndpoint?: string;
}

export interface RunningServer {
  address: string;
  namespace: string;
  pid: number;
  uiUrl?: string;
  dbFile: string;
  logFile: string;
}

function serverPaths(stateDir: string, settings: DevServerSettings) {
  const dbFile = path.join(stateDir, settings.dbFile);
  const dir = path.dirname(dbFile);
  return { dir, dbFile, pidFile: path.join(dir, 'temporal.pid'), logFile: path.join(dir, 'temporal.log') };
}

export function serverArgs(options: ServerOptions, settings = readDevServerSettings()): string[] {
  const { dbFile } = serverPaths(options.stateDir, settings);
  const args = [
    'server',
    'start-dev',
    '--ip',
    options.ip ?? settings.ip,
    '--port',
    String(options.port ?? settings.port),
    '--namespace',
    options.namespace ?? settings.namespace,
    '--db-filename',
    dbFile,
    '--log-level',
    settings.logLevel,
  ];
  for (const [k, v] of Object.entries(settings.sqlitePragmas)) args.push('--sqlite-pragma', `${k}=${v}`);
  for (const [k, v] of Object.entries(settings.searchAttributes)) args.push('--search-attribute', `${k}=${v}`);
  for (const [k, v] of Object.entries(settings.dynamicConfig))
    args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  const uiPort = options.uiPort ?? settings.uiPort;
  if (uiPort === false) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-ip', options.ip ?? settings.ip);
  if (options.codecEndpoint && uiPort !== false) args.push('--ui-codec-endpoint', options.codecEndpoint);
  return args;
}

/** True when the frontend answers `operator cluster health` and the namespace exists. */
export async function isHealthy(cli: string, address: string, namespace: string): Promise<boolean> {
  try {
    await run(cli, ['operator', 'cluster', 'health', '--address', address], { timeout: 10_000 });
    await run(cli, ['operator', 'namespace', 'describe', '--address', address, '--namespace', namespace], {
      timeout: 10_000,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the dev server detached (it outlives a crashed parent; `stopServer` ends it), records its
 * pid, and waits for health. If a server recorded in this state directory is already healthy, it
 * is reused.
 */
export async function startServer(options: ServerOptions, timeoutMs = 120_000): Promise<RunningServer> {
  const settings = readDevServerSettings();
  const paths = serverPaths(options.stateDir, settings);
  const ip = options.ip ?? settings.ip;
  const address = `${ip}:${options.port ?? settings.port}`;
  const namespace = options.namespace ?? settings.namespace;
  const uiPort = options.uiPort ?? settings.uiPort;
  const result = (pid: number): RunningServer => ({
    address,
    namespace,
    pid,
    dbFile: paths.dbFile,
    logFile: paths.logFile,
    ...(uiPort === false ? {} : { uiUrl: `http://${ip}:${uiPort}` }),
  });

  mkdirSync(paths.dir, { recursive: true });
  const recorded = existsSync(paths.pidFile) ? Number(readFileSync(paths.pidFile, 'utf8')) : undefined;
  if (recorded && isAlive(recorded) && (await isHealthy(options.cli, address, namespace))) return result(recorded);

  const out = openSync(paths.logFile, 'a');
  const child = spawn(options.cli, serverArgs(options, settings), { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.cli}`);
  child.unref();
  writeFileSync(paths.pidFile, String(pid));
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  await waitFor(
    `the Temporal dev server at ${address} (log: ${paths.logFile})`,
    async () => {
      if (exited !== undefined)
        throw new Error(`the Temporal dev server exited with code ${exited}; see ${paths.logFile}`);
      return isHealthy(options.cli, address, namespace);
    },
    timeoutMs,
  );
  return result(pid);
}

/** Stops the server recorded in this state directory: SIGTERM, then SIGKILL after a grace period. */
export async function stopServer(stateDir: string, graceMs = 15_000): Promise<boolean> {
  const paths = serverPaths(stateDir, readDevServerSettings());
  if (!existsSync(paths.pidFile)) return false;
  const pid = Number(readFileSync(paths.pidFile, 'utf8'));
  rmSync(paths.pidFile, { force: true });
  return terminate(pid, 'the Temporal dev server', graceMs);
}
