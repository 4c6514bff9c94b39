/**
 * amtflow's production Temporal server on one box: `temporal-server` built from its Go module
 * (temporal-config/cluster.json pins the version), persistence and SQL visibility on PostgreSQL,
 * its schema set up and updated by the server's own `temporal-sql-tool`, all four services
 * (frontend, history, matching, worker) in one process.
 *
 *   tsx scripts/temporal-cluster.ts install|start|stop|status
 *
 * `start` is idempotent: it creates the two databases only when missing, applies only missing
 * schema versions, reuses a server recorded in the state directory that still answers, and
 * registers the namespace and amtflow's search attributes only when absent. Files live under
 * `<stateDir>/temporal-cluster/`: config.yaml, dynamicconfig.yaml, server.pid, server.log.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { grpc, temporal } from '@temporalio/proto';
import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';

import { loadConfig } from '../lib/config';
import { SEARCH_ATTRIBUTES } from '../workflows/names';
import { ensureGoBuild, type GoBuildEntry, type GoBuildOptions } from './lib/go-build-cache';
import { isAlive, terminate, waitFor } from './lib/process';

const run = promisify(execFile);
const PROJECT_ROOT = path.resolve(__dirname, '..');
export const CLUSTER_SETTINGS_FILE = path.join(PROJECT_ROOT, 'temporal-config', 'cluster.json');
export const CLUSTER_TEMPLATE_FILE = path.join(PROJECT_ROOT, 'temporal-config', 'cluster-server.yaml');
/** The PostgreSQL password, when the server needs one: read from the environment, never written to disk. */
export const POSTGRES_PASSWORD_ENV = 'AMTFLOW_TEMPORAL_POSTGRES_PASSWORD';

const port = z.number().int().min(1).max(65535);
// The server records its services' ports in PostgreSQL's cluster_membership table as smallint: a
// port above 32767 makes it exit at start ("greater than maximum value for int2").
const servicePort = port.max(32767, 'Temporal stores service ports in a PostgreSQL smallint: at most 32767');
// Database names go into `create database`: plain lower-case identifiers only.
const databaseName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier');

export const clusterSettingsSchema = z.object({
  server: z.object({
    module: z.string().min(1),
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a release version such as 1.32.1'),
    programs: z.array(z.object({ binary: z.string().min(1), package: z.string().min(1) })).min(1),
    ldflags: z.string().optional(),
    schemaDirs: z.object({ temporal: z.string().min(1), visibility: z.string().min(1) }),
  }),
  ip: z.ipv4(),
  ports: z.object({
    frontend: servicePort,
    history: servicePort,
    matching: servicePort,
    worker: servicePort,
    frontendMembership: servicePort,
    historyMembership: servicePort,
    matchingMembership: servicePort,
    workerMembership: servicePort,
    metrics: port,
  }),
  postgres: z.object({
    host: z.string().min(1),
    port,
    user: z.string().min(1),
    database: databaseName,
    visibilityDatabase: databaseName,
    maxConns: z.number().int().min(1),
    visibilityMaxConns: z.number().int().min(1),
  }),
  numHistoryShards: z.number().int().min(1),
  namespace: z.string().min(1),
  retentionDays: z.number().int().min(1),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'fatal']),
  dynamicConfig: z.record(z.string(), z.unknown()),
});

export type ClusterSettings = z.infer<typeof clusterSettingsSchema>;

/** temporal-config/cluster.json (or settings built from it) failed validation: every bad key is named. */
export class ClusterSettingsError extends Error {
  override readonly name = 'ClusterSettingsError';
  readonly code = 'CLUSTER_SETTINGS_INVALID';
}

/** The server exited, or did not become usable in time; the message points at its log. */
export class ClusterStartError extends Error {
  override readonly name = 'ClusterStartError';
  readonly code = 'CLUSTER_START_FAILED';
}

/** Validates settings; unknown `$…` comment keys of the JSON file are ignored. */
export function parseClusterSettings(raw: unknown, origin = 'cluster settings'): ClusterSettings {
  const parsed = clusterSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ClusterSettingsError(`${origin} are invalid:\n  - ${problems.join('\n  - ')}`);
  }
  const ports = Object.entries(parsed.data.ports);
  const clash = ports.find(([, p], i) => ports.findIndex(([, q]) => q === p) !== i);
  if (clash) throw new ClusterSettingsError(`${origin} are invalid: ports.${clash[0]} repeats port ${clash[1]}`);
  return parsed.data;
}

export function readClusterSettings(file = CLUSTER_SETTINGS_FILE): ClusterSettings {
  return parseClusterSettings(JSON.parse(readFileSync(file, 'utf8')), file);
}

/**
 * The settings of temporal-config/cluster.json moved to ports of their own — frontend at `base`,
 * history, matching and worker at +100 … +300, their membership ports at +400 … +700, metrics at +800
 * — and to databases of their own, so that a second cluster (a test's, the benchmark's) never meets
 * the configured one. Ports must stay at most 32,767 - 700 for the membership ports (smallint).
 */
export function clusterSettingsAt(
  base: number,
  databases: { database: string; visibilityDatabase: string },
  defaults = readClusterSettings(),
): ClusterSettings {
  const names = ['frontend', 'history', 'matching', 'worker'] as const;
  return parseClusterSettings({
    ...defaults,
    ports: {
      frontend: base,
      history: base + 100,
      matching: base + 200,
      worker: base + 300,
      ...Object.fromEntries(names.map((n, i) => [`${n}Membership`, base + 400 + 100 * i])),
      metrics: base + 800,
    },
    postgres: { ...defaults.postgres, ...databases },
  });
}

export function clusterDir(stateDir: string): string {
  return path.join(stateDir, 'temporal-cluster');
}

function clusterPaths(stateDir: string) {
  const dir = clusterDir(stateDir);
  return {
    dir,
    config: path.join(dir, 'config.yaml'),
    dynamicConfig: path.join(dir, 'dynamicconfig.yaml'),
    pidFile: path.join(dir, 'server.pid'),
    logFile: path.join(dir, 'server.log'),
  };
}

export function frontendAddress(settings: ClusterSettings): string {
  return `${settings.ip}:${settings.ports.frontend}`;
}

/** Builds (once per machine) or finds `temporal-server` and `temporal-sql-tool` with the schema files. */
export function ensureClusterBinaries(settings: ClusterSettings, options: GoBuildOptions = {}): Promise<GoBuildEntry> {
  const { server } = settings;
  return ensureGoBuild(
    {
      name: 'temporal-server',
      module: server.module,
      version: server.version,
      programs: server.programs,
      ldflags: server.ldflags,
      moduleDirs: [server.schemaDirs.temporal, server.schemaDirs.visibility],
      versionArgs: ['--version'],
    },
    options,
  );
}

/**
 * Replaces every `${name}` of the template (dotted paths into `values`); a name without a value
 * is an error, so a template and its settings cannot drift apart silently.
 */
export function renderTemplate(template: string, values: Record<string, unknown>): string {
  return template.replace(/\$\{([A-Za-z0-9_.]+)\}/g, (_, name: string) => {
    const value = name.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], values);
    if (value === undefined || (typeof value === 'object' && value !== null))
      throw new ClusterSettingsError(`the server config template uses \${${name}}, which the settings do not define`);
    return String(value);
  });
}

/** The dynamic config file: each key with one unconstrained value (JSON is valid YAML). */
export function renderDynamicConfig(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n`)
    .join('');
}

function postgresEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const password = env[POSTGRES_PASSWORD_ENV];
  return password ? { SQL_PASSWORD: password } : {};
}

/** Runs `fn` with a client on one database of the settings' PostgreSQL (by default the maintenance database). */
export async function withPostgres<T>(
  settings: ClusterSettings,
  fn: (client: pg.Client) => Promise<T>,
  options: { database?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<T> {
  const { host, port: pgPort, user } = settings.postgres;
  const password = (options.env ?? process.env)[POSTGRES_PASSWORD_ENV];
  const database = options.database ?? 'postgres';
  const client = new pg.Client({ host, port: pgPort, user, password, database });
  await client.connect().catch((err: unknown) => {
    throw new ClusterStartError(
      `cannot connect to PostgreSQL ${user}@${host}:${pgPort}/${database} (${(err as Error).message}): ` +
        `start it, or change "postgres" in ${CLUSTER_SETTINGS_FILE}`,
    );
  });
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates the persistence and visibility databases when missing, then brings each schema to the
 * newest version shipped with the pinned server: `setup-schema -v 0.0` (only the version table;
 * a no-op on a database already set up) and `update-schema` over the module's versioned files
 * (applies only the versions not yet recorded).
 */
export async function prepareDatabases(
  settings: ClusterSettings,
  binaries: GoBuildEntry,
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const { postgres, server } = settings;
  const targets = [
    { database: postgres.database, schemaDir: server.schemaDirs.temporal },
    { database: postgres.visibilityDatabase, schemaDir: server.schemaDirs.visibility },
  ];
  await withPostgres(
    settings,
    async (client) => {
      for (const { database } of targets) {
        const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
        if (rowCount) continue;
        log(`creating PostgreSQL database ${database}`);
        // 42P04 duplicate_database: a start running at the same time created it first.
        await client.query(`create database ${database}`).catch((err: { code?: string }) => {
          if (err.code !== '42P04') throw err;
        });
      }
    },
    { env },
  );
  const tool = binaries.binaries['temporal-sql-tool'] as string;
  for (const { database, schemaDir } of targets) {
    const common = ['--plugin', 'postgres12_pgx', '--ep', postgres.host, '-p', String(postgres.port)];
    const args = [...common, '-u', postgres.user, '--db', database];
    const toolEnv = { ...process.env, ...postgresEnv(env) };
    try {
      await run(tool, [...args, 'setup-schema', '-v', '0.0'], { env: toolEnv });
      await run(tool, [...args, 'update-schema', '-d', path.join(binaries.moduleDir, schemaDir)], { env: toolEnv });
    } catch (err) {
      const { stderr } = err as { stderr?: string };
      const detail = (stderr ?? (err as Error).message).trim().split('\n').slice(-5).join('\n');
      throw new ClusterStartError(`temporal-sql-tool could not set up the schema of ${database}:\n${detail}`);
    }
  }
}

/** Writes config.yaml and dynamicconfig.yaml for these settings into the cluster directory. */
export function writeServerConfig(stateDir: string, settings: ClusterSettings): void {
  const paths = clusterPaths(stateDir);
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.dynamicConfig, renderDynamicConfig(settings.dynamicConfig));
  const template = readFileSync(CLUSTER_TEMPLATE_FILE, 'utf8');
  writeFileSync(paths.config, renderTemplate(template, { ...settings, dynamicConfigFile: paths.dynamicConfig }));
}

async function withConnection<T>(address: string, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address, connectTimeout: '3s' });
  try {
    return await fn(connection);
  } finally {
    await connection.close();
  }
}

/** True when the frontend's gRPC health service reports SERVING. */
export async function isFrontendServing(address: string): Promise<boolean> {
  try {
    return await withConnection(address, async (connection) => {
      const { status } = await connection.healthService.check({});
      return status === grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING;
    });
  } catch {
    return false;
  }
}

function grpcCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

const GRPC_NOT_FOUND = 5;

/**
 * Registers the namespace with its retention (or corrects the retention of an existing one), then
 * amtflow's search attributes (workflows/names.ts) that are missing. Throws when a search
 * attribute exists with another type: changing it would need a new name.
 */
async function ensureNamespace(connection: Connection, settings: ClusterSettings): Promise<void> {
  const { workflowService, operatorService } = connection;
  const namespace = settings.namespace;
  const retentionSeconds = settings.retentionDays * 24 * 3600;
  const retention = msToTs(`${settings.retentionDays} days`);
  try {
    const described = await workflowService.describeNamespace({ namespace });
    if (Number(String(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0)) !== retentionSeconds) {
      await workflowService.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: retention } });
    }
  } catch (err) {
    if (grpcCode(err) !== GRPC_NOT_FOUND) throw err;
    await workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: retention });
  }

  const { customAttributes } = await operatorService.listSearchAttributes({ namespace });
  const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
  const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of Object.values(SEARCH_ATTRIBUTES)) {
    const wanted = IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`];
    const existing = customAttributes?.[key.name];
    if (existing === undefined || existing === null) missing[key.name] = wanted;
    else if (existing !== wanted)
      throw new ClusterStartError(
        `search attribute ${key.name} exists in namespace ${namespace} as ${IndexedValueType[existing]}, amtflow needs ${key.type}`,
      );
  }
  if (Object.keys(missing).length) await operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
}

/** The namespace's registry in the frontend knows every search attribute: a query naming them all succeeds. */
async function searchAttributesUsable(connection: Connection, namespace: string): Promise<boolean> {
  const query = Object.values(SEARCH_ATTRIBUTES)
    .map((key) => `${key.name} = 'amtflow-readiness-probe'`)
    .join(' AND ');
  await connection.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1 });
  return true;
}

export interface RunningCluster {
  address: string;
  namespace: string;
  pid: number;
  version: string;
  logFile: string;
  configFile: string;
  /** True when this call started the process; false when a running one was reused. */
  started: boolean;
}

export interface StartClusterOptions {
  /** amtflow's state directory; the cluster's files go to `<stateDir>/temporal-cluster`. */
  stateDir: string;
  settings?: ClusterSettings;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  timeoutMs?: number;
  build?: GoBuildOptions;
}

/**
 * Builds what is missing, prepares the databases, writes the config, starts the server detached
 * (it outlives its parent; `stopCluster` ends it), and waits until the namespace and its search
 * attributes are usable.
 */
export async function startCluster(options: StartClusterOptions): Promise<RunningCluster> {
  const settings = options.settings ?? readClusterSettings();
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const paths = clusterPaths(options.stateDir);
  const address = frontendAddress(settings);

  const binaries = await ensureClusterBinaries(settings, { env, log, ...options.build });
  await prepareDatabases(settings, binaries, env, log);
  writeServerConfig(options.stateDir, settings);

  const recorded = existsSync(paths.pidFile) ? Number(readFileSync(paths.pidFile, 'utf8')) : undefined;
  let pid: number;
  let started = false;
  let exited: number | null | undefined;
  if (recorded && isAlive(recorded) && (await isFrontendServing(address))) {
    pid = recorded;
  } else {
    const out = openSync(paths.logFile, 'a');
    const server = binaries.binaries['temporal-server'] as string;
    const child = spawn(server, ['--config-file', paths.config, '--allow-no-auth', 'start'], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...pick(env, POSTGRES_PASSWORD_ENV) },
    });
    closeSync(out);
    if (child.pid === undefined) throw new ClusterStartError(`could not start ${server}`);
    pid = child.pid;
    started = true;
    child.unref();
    child.once('exit', (code) => (exited = code));
    writeFileSync(paths.pidFile, String(pid));
    log(`Temporal server ${settings.server.version} starting on ${address} (pid ${pid}, log ${paths.logFile})`);
  }

  let lastError: unknown;
  try {
    await waitFor(
      `the Temporal server at ${address} with namespace ${settings.namespace} (log: ${paths.logFile})`,
      async () => {
        if (exited !== undefined) throw new ClusterStartError(`temporal-server exited with code ${exited}`);
        if (!(await isFrontendServing(address))) return false;
        try {
          return await withConnection(address, async (connection) => {
            await ensureNamespace(connection, settings);
            return searchAttributesUsable(connection, settings.namespace);
          });
        } catch (err) {
          if (err instanceof ClusterStartError) throw err;
          // The frontend answers before history and matching have joined: keep trying until the deadline.
          lastError = err;
          return false;
        }
      },
      options.timeoutMs ?? 120_000,
      500,
    );
  } catch (err) {
    const tail = existsSync(paths.logFile) ? readFileSync(paths.logFile, 'utf8').trim().split('\n').slice(-5) : [];
    const cause = lastError ? `\nlast error: ${(lastError as Error).message}` : '';
    throw new ClusterStartError(`${(err as Error).message}${cause}\n${tail.join('\n')}`);
  }
  return {
    address,
    namespace: settings.namespace,
    pid,
    version: settings.server.version,
    logFile: paths.logFile,
    configFile: paths.config,
    started,
  };
}

function pick(env: NodeJS.ProcessEnv, name: string): NodeJS.ProcessEnv {
  return env[name] === undefined ? {} : { [name]: env[name] };
}

/** Stops the server recorded in this state directory: SIGTERM, then SIGKILL after the grace period. */
export async function stopCluster(stateDir: string, graceMs = 20_000): Promise<boolean> {
  const { pidFile } = clusterPaths(stateDir);
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const stopped = await terminate(pid, 'the Temporal server', graceMs);
  rmSync(pidFile, { force: true });
  return stopped;
}

export interface ClusterStatus {
  address: string;
  pid?: number;
  running: boolean;
  serving: boolean;
}

export async function clusterStatus(stateDir: string, settings = readClusterSettings()): Promise<ClusterStatus> {
  const { pidFile } = clusterPaths(stateDir);
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
  const address = frontendAddress(settings);
  return { address, pid, running: pid !== undefined && isAlive(pid), serving: await isFrontendServing(address) };
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(line);
  const program = new Command('temporal-cluster').description(
    "amtflow's production Temporal server (PostgreSQL) on this machine",
  );
  program
    .command('install')
    .description('build temporal-server and temporal-sql-tool once per machine, print where they are')
    .action(async () => {
      const entry = await ensureClusterBinaries(readClusterSettings(), { log });
      console.log(entry.dir);
    });
  program
    .command('start')
    .description('prepare the databases, start the server, register namespace and search attributes')
    .action(async () => {
      const c = await startCluster({ stateDir: loadConfig().stateDir, log });
      console.log(
        `Temporal server ${c.version} ${c.started ? 'started' : 'already running'} on ${c.address} ` +
          `(namespace ${c.namespace}, pid ${c.pid}); connect amtflow with AMTFLOW_TEMPORAL_PROFILE=cluster`,
      );
    });
  program
    .command('stop')
    .description('stop the server started by `start`')
    .action(async () => {
      const stopped = await stopCluster(loadConfig().stateDir);
      console.log(stopped ? 'Temporal server stopped' : 'no Temporal server was running');
    });
  program
    .command('status')
    .description('whether the recorded server runs and its frontend serves')
    .action(async () => {
      const s = await clusterStatus(loadConfig().stateDir);
      console.log(
        `${s.address}: ${s.serving ? 'serving' : 'not serving'}; ` +
          (s.pid === undefined ? 'no recorded process' : `pid ${s.pid} ${s.running ? 'running' : 'gone'}`),
      );
      if (!s.serving) process.exitCode = 1;
    });
  await program.parseAsync();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error && 'code' in err ? err.message : err);
    process.exit(1);
  });
}
