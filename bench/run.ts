/**
 * `npm run bench -- --devices N --latency-ms L --topology dev|cluster --workers W [--baseline]`
 * (issue 15 §2; not part of `npm test`). Starts what the run needs with the project's own scripts —
 * the Temporal dev server or the production server on PostgreSQL (scripts/temporal-cluster.ts), the
 * Samba AD DC, a fresh PostgreSQL site database, the emulated fleet (`emulator/cli.ts`, its own
 * process), the front door (`api/main.ts`) and W worker processes (`workers/main.ts`) — imports N
 * devices into a collection with automatic provisioning, lets their hellos start the runs, waits
 * until every device is provisioned, and reports devices/min, per-device p50/p95/p99, CPU-seconds per
 * device and peak RSS per process group from /proc, and Temporal history events per second.
 * `--baseline` provisions the same way with the same activities in a plain loop, without Temporal
 * (bench/baseline.ts). Every run ends with the invariants (bench/invariants.ts) and exits non-zero
 * when one breaks. Reports go to `<state-dir>/reports/`; when the counterpart run (amtflow or
 * baseline, same N and L) is there, the amtflow/baseline ratios are printed too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import type { Client } from '@temporalio/client';
import { Client as LdapClient, escapeFilter } from 'ldapts';
import pg from 'pg';
import { AmtAuthError, openAmtSession } from '../lib/amt';
import { loadConfig, type AmtflowConfig } from '../lib/config';
import { workerSchema } from '../lib/config/schema';
import { parseDeviceUuid } from '../lib/device-uuid';
import { amtSpns } from '../lib/directory/names';
import { buildActivityDeps } from '../runtime/activity-deps';
import { connectClient } from '../runtime/temporal';
import { isAlive, terminate, waitFor, STARTED_BY } from '../scripts/lib/process';
import { ensureSambaDc, sambaDc, stopSambaDc } from '../scripts/samba-dc';
import { clusterSettingsAt, startCluster, stopCluster, type ClusterSettings } from '../scripts/temporal-cluster';
import { ensureTemporalCli, startServer, stopServer } from '../scripts/temporal-dev-server';
import { buildWorkflowBundle } from '../workers/workflow-bundle';
import { deviceWorkflowId } from '../workflows/names';
import { BenchArgumentError, parseBenchArgs, type BenchOptions } from './args';
import type { BaselineJob, BaselineResult } from './baseline-worker';
import { runSpan } from './history';
import { checkInvariants, InvariantError, type DeviceEvidence } from './invariants';
import { GroupSampler, readAllProcesses } from './proc';
import { compare, markdownTable, summarise, type Group, type RunMeasurement, type RunReport } from './report';

const ROOT = path.resolve(__dirname, '..');
const COLLECTION = 'bench';
const PROFILE = 'bench';
const AMT_VERSION = '11.8.50';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Stops what a run started, in reverse order, whatever happened. */
class Stack {
  private readonly stops: Array<{ what: string; stop: () => Promise<unknown> }> = [];
  add(what: string, stop: () => Promise<unknown>): void {
    this.stops.push({ what, stop });
  }
  private unwinding?: Promise<void>;
  /**
   * Each stop runs once, and every caller waits for the same unwinding: an interrupted run unwinds
   * from its signal handler while the run itself fails (its children stopped under it) and reaches
   * `finally` — which must not return, and let `main` exit, before the site database is dropped.
   */
  unwind(): Promise<void> {
    this.unwinding ??= (async () => {
      for (const { what, stop } of this.stops.splice(0).reverse()) {
        await stop().catch((err: unknown) => log(`${what} did not stop cleanly: ${(err as Error).message}`));
      }
    })();
    return this.unwinding;
  }
}

/**
 * Emulated devices per emulator process. Each device listens on its four AMT ports (16992–16995), so
 * one process of 2,000 devices holds about 8,000 descriptors with its connections — inside the hard
 * `nofile` limits machines commonly have (20,000 on the one docs/benchmarks.md describes), which
 * 10,000 devices in one process (40,000) would not be.
 */
const EMULATOR_SHARD = 2_000;
const {
  maxConcurrentLocalActivityExecutions: LOCAL_ACTIVITY_SLOTS_DEFAULT,
  maxConcurrentWorkflowTaskExecutions: WORKFLOW_TASK_SLOTS_DEFAULT,
} = workerSchema.parse({});

/**
 * Ports of one run, all derived from --temporal-port so that runs side by side never meet; the
 * emulator processes' admin APIs take emulatorAdmin, +1, … (at most five of them for 10,000 devices).
 */
function ports(o: BenchOptions) {
  const t = o.temporalPort;
  return { api: t + 10, hello: t + 11, codec: t + 12, emulatorAdmin: t + 13 };
}

function clusterSettings(o: BenchOptions): ClusterSettings {
  return clusterSettingsAt(o.temporalPort, {
    database: 'amtflow_temporal_bench',
    visibilityDatabase: 'amtflow_temporal_vis_bench',
  });
}

async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** The environment without the overrides of the workers' slots: the run's own settings are what it reports. */
function withoutWorkerOverrides(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { AMTFLOW_WORKER_WORKFLOW_TASK_SLOTS: _slots, AMTFLOW_WORKER_LOCAL_ACTIVITY_SLOTS: _steps, ...rest } = env;
  return rest;
}

/**
 * A TypeScript entry point as one node process (tsx's loader, not its launcher): its pid is the process.
 * With `cpuProfDir`, V8 profiles every thread of it (the workflow threads of a worker included) into
 * `<cpuProfDir>/<name>/CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile` when it exits.
 */
function spawnTs(
  runDir: string,
  name: string,
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin: 'ignore' | 'pipe' = 'ignore',
  cpuProfDir?: string,
): ChildProcess {
  const out = openSync(path.join(runDir, `${name}.log`), 'a');
  const profile = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(cpuProfDir, name)] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', file, ...args], {
    cwd: ROOT,
    env: { ...withoutWorkerOverrides(process.env), ...env, NODE_OPTIONS: '' },
    stdio: [stdin, out, out],
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && code !== null) log(`${name} exited with ${code} (see ${path.join(runDir, `${name}.log`)})`);
    else if (signal && signal !== 'SIGTERM') log(`${name} ended by ${signal}`);
  });
  return child;
}

async function stopChild(child: ChildProcess, what: string): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || !isAlive(child.pid)) return;
  await terminate(child.pid, what, 20_000);
}

/** The postmaster(s) on this machine: the database group (shared with anything else using the server). */
function postgresRoots(): number[] {
  const all = readAllProcesses();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  return all.filter((p) => p.comm === 'postgres' && byPid.get(p.ppid)?.comm !== 'postgres').map((p) => p.pid);
}

interface BenchDevice {
  uuid: string;
  address: string;
  hostName: string;
  fqdn: string;
}

function* addresses(first: string): Generator<string> {
  const toInt = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  for (let n = toInt(first); ; n++) {
    if ((n & 255) === 0 || (n & 255) === 255) continue;
    const ip = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    if (!ip.startsWith('127.')) throw new BenchArgumentError('ran out of 127/8 addresses for the fleet');
    yield ip;
  }
}

export async function runBench(o: BenchOptions): Promise<RunReport> {
  const stack = new Stack();
  // Ctrl-C or SIGTERM stops what this run started — the Temporal server and the Samba DC run
  // detached and would outlive it — and exits as interrupted.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping what this run started`);
    void stack.unwind().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    return await runWith(o, stack);
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await stack.unwind();
  }
}

async function runWith(o: BenchOptions, stack: Stack): Promise<RunReport> {
  const stateDir = path.resolve(ROOT, o.stateDir);
  const tag = randomBytes(3).toString('hex');
  const runDir = path.join(stateDir, 'runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${tag}`);
  mkdirSync(runDir, { recursive: true });
  const p = ports(o);
  log(
    `run ${tag}: ${o.baseline ? 'baseline' : `amtflow on ${o.topology}, ${o.workers} worker(s) × ${o.workflowTaskSlots} workflow task slots`}, ${o.devices} devices, ${o.latencyMs} ms; files in ${runDir}`,
  );

  // The directory: the bench's own Samba AD DC, provisioned once under the state directory.
  const dc = sambaDc({ stateDir, ip: o.dcIp });
  const samba = await ensureSambaDc(dc, log, STARTED_BY.byHand);
  if (!samba.reused) stack.add('Samba DC', () => stopSambaDc(dc));

  // The site database: a fresh PostgreSQL database (the front door and the workers share it).
  const dbName = `amtflow_bench_${tag}`;
  await withPg(o.postgresUrl, (c) => c.query(`create database ${dbName}`));
  stack.add('site database', () =>
    withPg(o.postgresUrl, (c) => c.query(`drop database if exists ${dbName} with (force)`)),
  );
  const databaseUrl = o.postgresUrl.replace(/\/[^/]*$/, `/${dbName}`);

  const temporalAddress = `127.0.0.1:${o.temporalPort}`;
  const file = {
    stateDir: runDir,
    secrets: { key: randomBytes(32).toString('base64') },
    database: { url: databaseUrl },
    temporal: { profile: o.topology === 'cluster' ? 'cluster' : 'dev', address: temporalAddress },
    directory: samba.config,
    ca: { provisioningDomain: dc.domain },
    listeners: { host: '127.0.0.1', apiPort: p.api, helloPort: p.hello, codecPort: p.codec },
    log: { level: 'info' },
    worker: {
      maxConcurrentWorkflowTaskExecutions: o.workflowTaskSlots,
      maxConcurrentLocalActivityExecutions: Math.max(o.workflowTaskSlots, LOCAL_ACTIVITY_SLOTS_DEFAULT),
    },
  };
  const configFile = path.join(runDir, 'amtflow.config.json');
  writeFileSync(configFile, JSON.stringify(file, null, 2), { mode: 0o600 });
  const config = loadConfig({ file: configFile, env: {}, cwd: ROOT });

  // The CA and the schema are made here, once, before any other process opens them.
  const deps = await buildActivityDeps(config);
  stack.add('bench database connection', () => deps.database.close());
  const rootSha256 = deps.ca.provisioning.credential().rootThumbprints.sha256;

  const groups: Record<string, number[]> = {
    directory: samba.pid ? [samba.pid] : [],
    database: postgresRoots(),
  };
  let client: Client | undefined;
  if (!o.baseline) client = await startTemporal(o, config, runDir, stateDir, stack, groups);

  // The devices, imported before the fleet says hello (a hello from an unknown UUID is discarded).
  await deps.store.profiles.save(PROFILE, { ping: true, webUi: true, serialOverLan: true, ideRedirection: false });
  await deps.store.collections.save({ name: COLLECTION, automaticProvisioning: true, settingsProfile: PROFILE });
  const ips = addresses(o.firstIp);
  const devices: BenchDevice[] = Array.from({ length: o.devices }, (_, i) => {
    const hostName = `b${tag}-${i + 1}`;
    return { uuid: '', address: ips.next().value as string, hostName, fqdn: `${hostName}.${dc.domain}` };
  });
  for (const d of devices) {
    d.uuid = (await import('../emulator/fleet/fleet')).uuidForAddress(d.address);
    await deps.store.devices.importComputer({
      uuid: d.uuid,
      hostName: d.hostName,
      domain: dc.domain,
      collection: COLLECTION,
    });
  }

  const childEnv = { AMTFLOW_CONFIG: configFile };
  const cpuProfDir = o.cpuProf === undefined ? undefined : path.resolve(o.cpuProf);
  if (cpuProfDir) {
    mkdirSync(cpuProfDir, { recursive: true });
    log(`CPU profiles of the workers, the front door and the baseline go to ${cpuProfDir}`);
  }
  if (!o.baseline) {
    const frontDoor = spawnTs(runDir, 'front-door', 'api/main.ts', [], childEnv, 'ignore', cpuProfDir);
    stack.add('front door', () => stopChild(frontDoor, 'the front door'));
    groups.frontDoor = [frontDoor.pid as number];
    const workers = Array.from({ length: o.workers }, (_, i) =>
      spawnTs(runDir, `worker-${i + 1}`, 'workers/main.ts', [], childEnv, 'ignore', cpuProfDir),
    );
    for (const [i, w] of workers.entries()) stack.add(`worker ${i + 1}`, () => stopChild(w, `worker ${i + 1}`));
    groups.workers = workers.map((w) => w.pid as number);
    await waitFor('the hello listener', () => canConnect('127.0.0.1', p.hello), 120_000, 200);
    await waitFor(
      'the workers',
      async () =>
        workers.every((_, i) =>
          readFileSync(path.join(runDir, `worker-${i + 1}.log`), 'utf8').includes('worker running'),
        ),
      180_000,
      250,
    );
  }

  // The fleet, in its own processes (EMULATOR_SHARD devices each); a device says hello as soon as it listens.
  const shards = Array.from({ length: Math.ceil(devices.length / EMULATOR_SHARD) }, (_, k) =>
    devices.slice(k * EMULATOR_SHARD, (k + 1) * EMULATOR_SHARD),
  );
  const fleetFiles = shards.map((shard, k) => {
    const file = path.join(runDir, `fleet-${k + 1}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        devices: shard.map((d) => ({
          count: 1,
          uuid: d.uuid,
          address: d.address,
          amtVersion: AMT_VERSION,
          dnsSuffix: dc.domain,
          hello: o.baseline ? null : `127.0.0.1:${p.hello}`,
          customHashes: [{ algorithm: 'sha256', hash: rootSha256, description: 'amtflow provisioning root' }],
        })),
      }),
    );
    return file;
  });
  // The baseline's process starts (and loads what it needs) before the measured interval, as the workers do.
  const jobFile = path.join(runDir, 'baseline-job.json');
  const resultFile = path.join(runDir, 'baseline-result.json');
  let loop: ChildProcess | undefined;
  if (o.baseline) {
    const job: BaselineJob = {
      concurrency: o.concurrency,
      rootSha256,
      // The fleet runs on the real AMT ports, one address per device.
      devices: devices.map((d) => ({ uuid: d.uuid, address: d.address, httpPort: 16992, tlsPort: 16993 })),
    };
    writeFileSync(jobFile, JSON.stringify(job));
    const started = spawnTs(
      runDir,
      'baseline',
      'bench/baseline-worker.ts',
      [jobFile, resultFile],
      childEnv,
      'pipe',
      cpuProfDir,
    );
    loop = started;
    groups.workers = [started.pid as number];
    stack.add('baseline', () => stopChild(started, 'the baseline'));
    await waitFor(
      'the baseline process',
      async () => readFileSync(path.join(runDir, 'baseline.log'), 'utf8').includes('baseline ready'),
      180_000,
      250,
    );
  }
  const sampler = new GroupSampler(() => groups);
  sampler.start();
  const emulators = fleetFiles.map((fleetFile, k) => {
    const name = fleetFiles.length === 1 ? 'emulator' : `emulator-${k + 1}`;
    const child = spawnTs(
      runDir,
      name,
      'emulator/cli.ts',
      [
        'start',
        '--fleet-file',
        fleetFile,
        '--latency-ms',
        String(o.latencyMs),
        '--state-dir',
        path.join(runDir, name),
        '--key-pool-dir',
        path.join(stateDir, 'emulator-keypool'),
        '--admin-port',
        String(p.emulatorAdmin + k),
        '--log-level',
        'warn',
      ],
      {},
    );
    stack.add(`the emulator ${name}`, () => stopChild(child, name));
    return child;
  });
  groups.emulator = emulators.map((e) => e.pid as number);
  const listed = (
    await Promise.all(
      emulators.map(async (_, k) => {
        const adminUrl = `http://127.0.0.1:${p.emulatorAdmin + k}`;
        await waitFor(
          'the emulated fleet',
          () =>
            fetch(`${adminUrl}/devices`).then(
              (r) => r.ok,
              () => false,
            ),
          600_000,
          250,
        );
        return (await (await fetch(`${adminUrl}/devices`)).json()) as Array<{
          uuid: string;
          address: string;
          httpPort: number;
          tlsPort: number;
        }>;
      }),
    )
  ).flat();
  const endpoints = new Map(listed.map((d) => [d.uuid, d]));

  let measurement: Omit<RunMeasurement, 'groups'>;
  if (loop) {
    const exited = new Promise<number | null>((resolve) => (loop as ChildProcess).once('exit', resolve));
    loop.stdin?.end('go\n');
    const code = await exited;
    if (code !== 0 || !existsSync(resultFile))
      throw new Error(`the baseline failed (exit ${code}); see ${runDir}/baseline.log`);
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as BaselineResult;
    const failed = result.devices.filter((d) => d.error);
    if (failed.length > 0)
      throw new Error(
        `${failed.length} device(s) failed in the baseline, e.g. ${failed[0]?.uuid}: ${failed[0]?.error}`,
      );
    const first = Math.min(...result.devices.map((d) => d.startedAt));
    const last = Math.max(...result.devices.map((d) => d.endedAt));
    measurement = {
      mode: 'baseline',
      topology: o.topology,
      devices: o.devices,
      latencyMs: o.latencyMs,
      workers: 0,
      concurrency: o.concurrency,
      wallSeconds: (last - first) / 1000,
      deviceMs: result.devices.map((d) => d.endedAt - d.startedAt),
    };
  } else {
    await waitForProvisioned(deps.database.db, devices, o.timeoutSeconds);
    const runs = await mapLimit(devices, 16, async (d) => {
      const handle = (client as Client).workflow.getHandle(deviceWorkflowId(parseDeviceUuid(d.uuid)));
      // The site database says provisioned at OOB10, a moment before the run closes.
      await handle.result();
      return runSpan(d.uuid, await handle.fetchHistory());
    });
    const first = Math.min(...runs.map((r) => r.start));
    const last = Math.max(...runs.map((r) => r.end));
    measurement = {
      mode: 'amtflow',
      topology: o.topology,
      devices: o.devices,
      latencyMs: o.latencyMs,
      workers: o.workers,
      concurrency: o.concurrency,
      wallSeconds: (last - first) / 1000,
      deviceMs: runs.map((r) => r.end - r.taken),
      waitMs: runs.map((r) => r.taken - r.start),
      historyEvents: runs.reduce((s, r) => s + r.events, 0),
      longestGaps: runs.map((r) => r.longestGap),
      stickyTimeoutRuns: runs.filter((r) => r.stickyTimeouts > 0).length,
      timedOutRuns: runs.filter((r) => r.startedTimeouts > 0).length,
    };
  }
  const usage = sampler.stop() as Partial<Record<Group, { cpuSeconds: number; peakRssBytes: number }>>;
  const report = summarise({ ...measurement, groups: usage });

  // The invariants, checked from the outside: the emulator, the site database, the directory.
  log('checking the invariants');
  const evidence = await gatherEvidence(deps, config, dc, devices, endpoints);
  const violations = checkInvariants(evidence);
  writeReports(stateDir, runDir, report, o.out);
  if (violations.length > 0) throw new InvariantError(violations);
  log(`invariants hold for all ${devices.length} devices`);
  return report;
}

async function startTemporal(
  o: BenchOptions,
  config: AmtflowConfig,
  runDir: string,
  stateDir: string,
  stack: Stack,
  groups: Record<string, number[]>,
): Promise<Client> {
  if (o.topology === 'dev') {
    const cli = await ensureTemporalCli({ log });
    // A fresh SQLite file per run: history of earlier runs does not weigh on this one.
    const server = await startServer({
      cli,
      stateDir: runDir,
      ip: '127.0.0.1',
      port: o.temporalPort,
      uiPort: false,
      namespace: config.temporal.namespace ?? 'amtflow',
      startedBy: STARTED_BY.byHand,
    });
    stack.add('Temporal dev server', () => stopServer(runDir));
    groups.temporal = [server.pid];
  } else {
    const cluster = await startCluster({ stateDir, settings: clusterSettings(o), log });
    if (cluster.started) stack.add('Temporal server', () => stopCluster(stateDir));
    groups.temporal = [cluster.pid];
  }
  await buildWorkflowBundle();
  const { client, connection } = await connectClient(config);
  stack.add('Temporal client', () => connection.close());
  return client;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

type Db = Awaited<ReturnType<typeof buildActivityDeps>>['database']['db'];

async function waitForProvisioned(db: Db, devices: readonly BenchDevice[], timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let lastLine = '';
  for (;;) {
    const rows = await db
      .selectFrom('devices')
      .select(['provisioning_state'])
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('collection', '=', COLLECTION)
      .groupBy('provisioning_state')
      .execute();
    const counts = Object.fromEntries(rows.map((r) => [r.provisioning_state, Number(r.n)]));
    const line = JSON.stringify(counts);
    if (line !== lastLine) log(`devices: ${line}`);
    lastLine = line;
    if ((counts.provisioned ?? 0) === devices.length) return;
    if (Date.now() > deadline) throw new Error(`not every device was provisioned after ${timeoutSeconds} s: ${line}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function gatherEvidence(
  deps: Awaited<ReturnType<typeof buildActivityDeps>>,
  config: AmtflowConfig,
  dc: ReturnType<typeof sambaDc>,
  devices: readonly BenchDevice[],
  endpoints: Map<string, { address: string; httpPort: number; tlsPort: number }>,
): Promise<DeviceEvidence[]> {
  const directory = config.directory as NonNullable<AmtflowConfig['directory']>;
  const ldap = new LdapClient({
    url: directory.url,
    tlsOptions: { ca: readFileSync(dc.caFile), servername: dc.serverName },
  });
  await ldap.bind(directory.bindDn, readFileSync(dc.adminPasswordFile, 'utf8'));
  try {
    return await mapLimit(devices, 8, async (d) => {
      const endpoint = endpoints.get(d.uuid) as { address: string; httpPort: number; tlsPort: number };
      const spns = amtSpns(d.fqdn);
      const { searchEntries } = await ldap.search(dc.domainDn, {
        scope: 'sub',
        filter: escapeFilter`(|(cn=${d.hostName})(servicePrincipalName=${spns[0] as string})(servicePrincipalName=${spns[1] as string}))`,
        attributes: ['servicePrincipalName'],
      });
      const directoryObjects = searchEntries.map((e) => ({
        dn: e.dn,
        spns: ([] as unknown[]).concat(e.servicePrincipalName ?? []).map(String),
      }));
      const certificates = (
        await deps.database.db
          .selectFrom('certificates')
          .select(['serial', 'template', 'status'])
          .where('device_uuid', '=', d.uuid)
          .execute()
      ).map((c) => ({ serial: c.serial, template: c.template, status: c.status as 'issued' | 'revoked' }));
      return {
        uuid: d.uuid,
        fqdn: d.fqdn,
        adminPassword: await adminPasswordWorks(deps, d.uuid, endpoint),
        certificates,
        presentedSerial: await presentedSerial(endpoint.address, endpoint.tlsPort),
        directoryObjects,
        expectedSpns: spns,
      };
    });
  } finally {
    await ldap.unbind();
  }
}

async function adminPasswordWorks(
  deps: Awaited<ReturnType<typeof buildActivityDeps>>,
  uuid: string,
  endpoint: { address: string; httpPort: number },
): Promise<DeviceEvidence['adminPassword']> {
  const admin = await deps.store.credentials.current(uuid, 'amt_admin');
  if (!admin) return 'missing';
  const password = await deps.store.credentials.reveal({ device: uuid, kind: 'amt_admin', version: admin.version });
  const session = openAmtSession({
    host: endpoint.address,
    port: endpoint.httpPort,
    credentials: [{ username: 'admin', password, ref: 'stored' }],
    timeouts: deps.amtTimeouts,
  });
  try {
    await session.login();
    return 'authenticates';
  } catch (err) {
    return err instanceof AmtAuthError ? 'rejected' : { error: (err as Error).message };
  }
}

/** The serial of the certificate the device presents on its TLS port (what is installed and in use). */
function presentedSerial(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial || undefined);
    });
    socket.setTimeout(10_000, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', () => resolve(undefined));
  });
}

function reportName(
  r: Pick<RunReport, 'mode' | 'topology' | 'workers' | 'concurrency' | 'devices' | 'latencyMs'>,
): string {
  const what = r.mode === 'baseline' ? 'baseline' : `amtflow-${r.topology}-w${r.workers}-c${r.concurrency}`;
  return `${what}-n${r.devices}-l${r.latencyMs}.json`;
}

/** An amtflow run at the configuration's default slots: the one a baseline's ratios are taken against. */
const atDefaultSlots = (r: RunReport) => r.concurrency === r.workers * WORKFLOW_TASK_SLOTS_DEFAULT;

/** Writes the run's JSON and Markdown, and prints the table with its counterparts and ratios. */
function writeReports(stateDir: string, runDir: string, report: RunReport, out: string | undefined): void {
  const dir = path.join(stateDir, 'reports');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, reportName(report)), JSON.stringify(report, null, 2));
  writeFileSync(path.join(runDir, 'report.json'), JSON.stringify(report, null, 2));
  const suffix = `-n${report.devices}-l${report.latencyMs}.json`;
  const peers = readdirSync(dir)
    .filter((f) => f.endsWith(suffix) && f !== reportName(report))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as RunReport);
  const baseline = report.mode === 'baseline' ? report : peers.find((r) => r.mode === 'baseline');
  const amtflow =
    report.mode === 'amtflow'
      ? report
      : peers.find((r) => r.mode === 'amtflow' && r.topology === 'dev' && atDefaultSlots(r));
  const ratios = amtflow && baseline ? compare(amtflow, baseline) : undefined;
  const table = markdownTable([report, ...peers.filter((r) => r.mode !== report.mode)], ratios);
  const json = JSON.stringify({ ...report, ...(ratios && { ratios }) }, null, 2);
  writeFileSync(path.join(runDir, 'report.md'), `${table}\n`);
  if (out) {
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    writeFileSync(out, `${json}\n`);
    writeFileSync(out.replace(/(\.json)?$/, '.md'), `${table}\n`);
  }
  process.stdout.write(`${json}\n\n${table}\n`);
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2), process.env);
  await runBench(options);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  });
}
