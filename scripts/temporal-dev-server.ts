/**
 * The Temporal CLI dev server that amtflow runs for development and tests: find or build the
 * pinned CLI, start it on a SQLite file, wait for health, stop it. Settings live in
 * temporal-config/dev-server.json.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import type { AmtflowConfig } from '../lib/config';
import { temporalConnectConfig } from '../runtime/temporal';
import { ensureGoBuild, GoToolchainError, type GoBuildSpec } from './lib/go-build-cache';
import { isAlive, readPidFile, STARTED_BY, terminate, waitFor, writePidFile, type StartedBy } from './lib/process';

const run = promisify(execFile);

export const PROJECT_ROOT = path.resolve(__dirname, '..');

export interface DevServerSettings {
  cli: { version: string; module: string; versionVariable: string };
  ip: string;
  port: number;
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
    const { stdout } = await run(binary, ['--version'], { timeout: 30_000 });
    return /^temporal version (\S+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

export interface EnsureCliOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** The pinned CLI as a Go build of `scripts/lib/go-build-cache.ts`: `<cache>/temporal/<version>/bin/temporal`. */
export function temporalCliBuild(settings = readDevServerSettings()): GoBuildSpec {
  const { version, module: cliPackage, versionVariable } = settings.cli;
  return {
    name: 'temporal',
    module: cliPackage.replace(/\/cmd\/temporal$/, ''),
    version,
    programs: [{ binary: 'temporal', package: cliPackage }],
    ldflags: `-s -w -X ${versionVariable}=${version}`,
    versionArgs: ['--version'],
  };
}

/**
 * Returns the path of a Temporal CLI of the pinned version: one on PATH if its version matches,
 * else the one built once per machine into amtflow's Go build cache (`ensureGoBuild`: outside every
 * checkout, keyed by version, built aside and renamed into place, rebuilt when a file no longer
 * matches its manifest — a truncated or altered binary).
 */
export async function ensureTemporalCli(options: EnsureCliOptions = {}): Promise<string> {
  const settings = readDevServerSettings();
  const env = options.env ?? process.env;
  const wanted = settings.cli.version;

  const onPath = findOnPath('temporal', env.PATH);
  if (onPath && (await versionOf(onPath)) === wanted) return onPath;
  try {
    const entry = await ensureGoBuild(temporalCliBuild(settings), {
      env,
      ...(options.log ? { log: options.log } : {}),
    });
    return entry.binaries.temporal as string;
  } catch (err) {
    if (!(err instanceof GoToolchainError)) throw err;
    throw new TemporalCliMissingError(
      `amtflow needs the Temporal CLI ${wanted}. Install Go 1.25 or newer (so amtflow can build it), ` +
        `or put a 'temporal' binary of version ${wanted} on PATH, then run the command again.`,
    );
  }
}

export interface ServerOptions {
  cli: string;
  /** Directory for the SQLite file, the pid file and the log. */
  stateDir: string;
  ip?: string;
  port?: number;
  /** Web UI port (default: the frontend port + 1000, the CLI's own rule); `false` runs headless (tests). */
  uiPort?: number | false;
  namespace?: string;
  codecEndpoint?: string;
  /** Recorded in the pid file: who stops the server is decided by who started it. */
  startedBy?: StartedBy;
}

export interface RunningServer {
  address: string;
  namespace: string;
  pid: number;
  uiUrl?: string;
  dbFile: string;
  logFile: string;
  /** True when a server of this state directory was already running and is used as it is. */
  reused: boolean;
  /** Who started it (unknown for a server recorded by an older amtflow). */
  startedBy: StartedBy | undefined;
}

/** Another Temporal server, not this state directory's, answers on the address. */
export class TemporalAddressInUseError extends Error {
  override readonly name = 'TemporalAddressInUseError';
  readonly code = 'TEMPORAL_ADDRESS_IN_USE';
}

/**
 * Where amtflow's configuration puts the dev server: the frontend on the configured Temporal address
 * (`temporal.address`, else the profile's), the Web UI on `dev.temporalUiPort`, SQLite under `stateDir`.
 */
export function devServerOptions(
  config: AmtflowConfig,
): Required<Pick<ServerOptions, 'stateDir' | 'ip' | 'port' | 'namespace'>> & { uiPort: number } {
  const { connectionOptions, namespace } = temporalConnectConfig(config);
  const address = connectionOptions.address ?? '';
  const match = /^(.+):(\d+)$/.exec(address);
  if (!match) throw new Error(`the Temporal address "${address}" is not host:port`);
  return {
    stateDir: config.stateDir,
    ip: match[1] as string,
    port: Number(match[2]),
    namespace,
    uiPort: config.dev.temporalUiPort ?? defaultUiPort(Number(match[2])),
  };
}

function serverPaths(stateDir: string, settings: DevServerSettings) {
  const dbFile = path.join(stateDir, settings.dbFile);
  const dir = path.dirname(dbFile);
  return { dir, dbFile, pidFile: path.join(dir, 'temporal.pid'), logFile: path.join(dir, 'temporal.log') };
}

/** The Temporal CLI's own default: the Web UI on the frontend port + 1000. */
function defaultUiPort(frontendPort: number): number {
  return frontendPort + 1000;
}

function uiPortOf(options: ServerOptions, settings: DevServerSettings): number | false {
  return options.uiPort ?? defaultUiPort(options.port ?? settings.port);
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
  const uiPort = uiPortOf(options, settings);
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
 * pid, address and starter, and waits for health. A server of this state directory that still runs
 * (left by a killed `npm start`, or started by hand) is reused once healthy. Fails with
 * TEMPORAL_ADDRESS_IN_USE when another server answers on the address, and when this state
 * directory's server runs on another address: two servers must never share one SQLite file.
 */
export async function startServer(options: ServerOptions, timeoutMs = 120_000): Promise<RunningServer> {
  const settings = readDevServerSettings();
  const paths = serverPaths(options.stateDir, settings);
  const ip = options.ip ?? settings.ip;
  const address = `${ip}:${options.port ?? settings.port}`;
  const namespace = options.namespace ?? settings.namespace;
  const uiPort = uiPortOf(options, settings);
  const healthy = () => isHealthy(options.cli, address, namespace);
  const result = (pid: number, reused: boolean, startedBy: StartedBy | undefined): RunningServer => ({
    address,
    namespace,
    pid,
    dbFile: paths.dbFile,
    logFile: paths.logFile,
    reused,
    startedBy,
    ...(uiPort === false ? {} : { uiUrl: `http://${ip}:${uiPort}` }),
  });

  mkdirSync(paths.dir, { recursive: true });
  const recorded = readPidFile(paths.pidFile);
  if (recorded && isAlive(recorded.pid)) {
    if (recorded.address !== undefined && recorded.address !== address) {
      throw new TemporalAddressInUseError(
        `the Temporal dev server of ${options.stateDir} (pid ${recorded.pid}) runs on ${recorded.address}, not ${address}: ` +
          'stop it (npm run temporal:stop) or configure its address again',
      );
    }
    // It may still be starting: the run that started it can have been killed a moment after.
    await waitFor(`the running Temporal dev server at ${address} (pid ${recorded.pid})`, healthy, timeoutMs);
    return result(recorded.pid, true, recorded.startedBy);
  }
  if (await healthy()) {
    throw new TemporalAddressInUseError(
      `a Temporal server that is not the one of ${options.stateDir} already answers on ${address}: ` +
        'stop it, or give amtflow another address (AMTFLOW_TEMPORAL_ADDRESS)',
    );
  }

  const out = openSync(paths.logFile, 'a');
  const child = spawn(options.cli, serverArgs(options, settings), { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.cli}`);
  child.unref();
  const startedBy = options.startedBy ?? STARTED_BY.byHand;
  writePidFile(paths.pidFile, { pid, startedBy, address });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  await waitFor(
    `the Temporal dev server at ${address} (log: ${paths.logFile})`,
    async () => {
      if (exited !== undefined)
        throw new Error(`the Temporal dev server exited with code ${exited}; see ${paths.logFile}`);
      return healthy();
    },
    timeoutMs,
  );
  return result(pid, false, startedBy);
}

/** Stops the server recorded in this state directory: SIGTERM, then SIGKILL after a grace period. */
export async function stopServer(stateDir: string, graceMs = 15_000): Promise<boolean> {
  const paths = serverPaths(stateDir, readDevServerSettings());
  const recorded = readPidFile(paths.pidFile);
  rmSync(paths.pidFile, { force: true });
  if (recorded === undefined) return false;
  return terminate(recorded.pid, 'the Temporal dev server', graceMs);
}
