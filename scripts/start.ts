/**
 * `npm start`: brings amtflow up on this machine and runs the main job, a demo to watch in the
 * Temporal Web UI: an emulated fleet says hello and amtflow provisions it.
 *
 * One process hosts the worker, the API and the hello listener because the embedded PGlite database
 * belongs to exactly one process (a second `npm start` on the same state directory is refused). The
 * Temporal dev server (with its Web UI) and, when no directory is configured, the dev Samba DC run
 * beside it, detached: a server left running by an earlier `npm start` that was killed is adopted.
 * Ctrl-C, at any moment, stops in reverse order what this run started and the servers it adopted from
 * an earlier `npm start`; a server started by hand (`npm run temporal:start`, `scripts/samba.ts
 * start`) is used and left running. Everything is kept in the state directory, so the next
 * `npm start` carries on from there, whatever state the last one left.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type pino from 'pino';
import { startCodecServer, startFrontDoor } from '../api/front-door';
import type { DeviceProfileInput } from '../emulator/device/profile';
import { loopbackAddresses, startFleet, uuidForAddress } from '../emulator/fleet/fleet';
import { loadConfig, type AmtflowConfig } from '../lib/config';
import { loadDerivationKey } from '../lib/crypto/kek';
import { parseDeviceUuid } from '../lib/device-uuid';
import { RedirectionBroker } from '../lib/console';
import type { Store } from '../lib/store';
import { buildActivityDeps } from '../runtime/activity-deps';
import { amtflowDataConverter } from '../runtime/data-converter';
import { createLogger } from '../runtime/logger';
import { connectClient, connectWorker } from '../runtime/temporal';
import { createLifecycleWorker, installRuntimeLogger } from '../workers/lifecycle-worker';
import { buildWorkflowBundle } from '../workers/workflow-bundle';
import { systemCheck } from '../workflows';
import { TASK_QUEUES, deviceWorkflowId } from '../workflows/names';
import { claimPidFile, STARTED_BY, type StartedBy } from './lib/process';
import { ensureSambaDc, sambaDc, stopSambaDc } from './samba-dc';
import { devServerOptions, ensureTemporalCli, startServer, stopServer } from './temporal-dev-server';

/** The dev setup's namespace when nothing is configured: the dev DC's domain and the emulator's suffix. */
const DEV_DOMAIN = 'corp.example.test';
const DEMO = { collection: 'demo', profile: 'demo' };
/** The demo fleet, in order; `dev.demoDevices` takes the first ones. Firmware before 6.0 is legacy. */
const DEMO_FIRMWARE = [
  { amtVersion: '5.2.70', legacy: true },
  { amtVersion: '11.8.50', legacy: false },
  { amtVersion: '15.0.23', legacy: false },
];

/** Thrown between start-up steps once Ctrl-C arrived: bring-up ends and everything started is stopped. */
class StopRequested extends Error {
  override readonly name = 'StopRequested';
}

/** The Ctrl-C (SIGINT) or SIGTERM that ends this run, whenever it arrives. */
class StopSignal {
  requested = false;
  private resolve!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.resolve = resolve));
  request(): void {
    this.requested = true;
    this.resolve();
  }
  /** Called between start-up steps, so a Ctrl-C during start-up does not wait for the whole of it. */
  check(): void {
    if (this.requested) throw new StopRequested('stop requested during start-up');
  }
}

/** What this run started, stopped in reverse order on Ctrl-C (or when start-up fails half-way). */
class Started {
  private readonly stops: Array<{ what: string; stop: () => Promise<unknown> }> = [];
  constructor(private readonly logger: pino.Logger) {}
  add(what: string, stop: () => Promise<unknown>): void {
    this.stops.push({ what, stop });
  }
  async stopAll(): Promise<void> {
    for (const { what, stop } of this.stops.reverse()) {
      try {
        await stop();
        this.logger.info(`${what} stopped`);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, `${what} did not stop cleanly`);
      }
    }
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'amtflow');
  // Ctrl-C reaches this process more than once (from the terminal and relayed by npm/tsx), so the
  // handler stays installed and only the first signal starts the shutdown.
  installRuntimeLogger(logger, []);
  const stop = new StopSignal();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop.request());

  const started = new Started(logger);
  try {
    mkdirSync(config.stateDir, { recursive: true });
    const release = claimPidFile(path.join(config.stateDir, 'npm-start.pid'), STARTED_BY.npmStart, 'another npm start');
    started.add('state directory claim', async () => release());
    await bringUp(config, logger, started, stop);
    logger.info('amtflow is up. Press Ctrl-C to stop.');
    await stop.promise;
  } catch (err) {
    // A Ctrl-C also reaches the tools a start-up step runs (samba-tool, go): their failure is the stop.
    if (!stop.requested) throw err;
    if (!(err instanceof StopRequested)) logger.warn({ err: (err as Error).message }, 'start-up interrupted by Ctrl-C');
  } finally {
    logger.info('stopping');
    await started.stopAll();
    logger.info('amtflow stopped');
  }
}

/**
 * Whether this run stops a server at Ctrl-C: the ones an `npm start` started (this run, or an earlier
 * one that was killed and left it running); not one started by hand, nor one an older amtflow
 * recorded without saying who started it.
 */
function stopsAtCtrlC(startedBy: StartedBy | undefined): boolean {
  return startedBy === STARTED_BY.npmStart;
}

function adoption(reused: boolean, startedBy: StartedBy | undefined): string {
  if (!reused) return 'started';
  return stopsAtCtrlC(startedBy)
    ? 'adopted from an earlier npm start (stopped at Ctrl-C)'
    : `already running, started ${startedBy === STARTED_BY.byHand ? startedBy : `outside npm start`} (left running at Ctrl-C)`;
}

async function bringUp(config: AmtflowConfig, logger: pino.Logger, started: Started, stop: StopSignal): Promise<void> {
  const kek = loadDerivationKey(config);
  if (!config.directory) {
    // The dev directory: amtflow's own Samba AD DC under the state directory.
    const dc = sambaDc({ stateDir: config.stateDir, ip: config.dev.dcIp });
    const running = await ensureSambaDc(dc, (line) => logger.info(line), STARTED_BY.npmStart);
    config.directory = running.config;
    if (stopsAtCtrlC(running.startedBy)) started.add('Samba DC', () => stopSambaDc(dc));
    logger.info(
      { domain: dc.domain, ldaps: running.config.url, pid: running.pid },
      `directory: dev Samba DC ${adoption(running.reused, running.startedBy)}`,
    );
  }
  config.ca.provisioningDomain ??= DEV_DOMAIN;
  stop.check();

  const cli = await ensureTemporalCli({ log: (line) => logger.info(line) });
  stop.check();
  const serverOptions = devServerOptions(config);

  // The codec server lets the Web UI show the encrypted payloads; its URL carries the token.
  config.listeners.webUiOrigins = [`http://${serverOptions.ip}:${serverOptions.uiPort}`];
  const codecServer = await startCodecServer(config, kek);
  started.add('codec server', () => codecServer.stop());
  const server = await startServer({
    cli,
    ...serverOptions,
    codecEndpoint: codecServer.endpoint,
    startedBy: STARTED_BY.npmStart,
  });
  if (stopsAtCtrlC(server.startedBy)) started.add('Temporal dev server', () => stopServer(config.stateDir));
  logger.info(
    { address: server.address, webUi: server.uiUrl, sqlite: server.dbFile, pid: server.pid },
    `Temporal dev server ${adoption(server.reused, server.startedBy)}`,
  );
  stop.check();

  const bundle = await buildWorkflowBundle();
  const deps = await buildActivityDeps(config);
  started.add('site database', () => deps.database.close());
  const { connection, namespace } = await connectWorker(config);
  started.add('worker connection', () => connection.close());
  const worker = await createLifecycleWorker({
    connection,
    namespace,
    deps,
    dataConverter: amtflowDataConverter(kek),
    workflowBundlePath: bundle,
  });
  const running = worker.run();
  started.add('worker', async () => {
    worker.shutdown();
    await running;
  });
  logger.info({ namespace, taskQueue: TASK_QUEUES.lifecycle }, 'worker running');

  const { client, connection: clientConnection } = await connectClient(config);
  started.add('Temporal client', () => clientConnection.close());

  const frontDoor = await startFrontDoor({
    config,
    derivationKey: kek,
    store: deps.store,
    ca: deps.ca,
    client,
    logger,
    sessions: new RedirectionBroker(deps),
  });
  started.add('API and hello listener', () => frontDoor.stop());

  const check = await client.workflow.execute(systemCheck, {
    taskQueue: TASK_QUEUES.lifecycle,
    workflowId: `system-check-${randomUUID()}`,
    args: [{ requestedBy: 'npm start' }],
  });
  logger.info({ auditId: check.auditId }, 'system check passed');
  stop.check();

  await runDemo(config, logger, started, deps.store, client, deps.ca.provisioning.summary().rootThumbprints);
  logger.info(`Web UI: ${server.uiUrl}/namespaces/${namespace}/workflows`);
}

/**
 * The main job: an emulated fleet — one legacy device (EOI), two modern ones — whose firmware trusts
 * amtflow's provisioning root and says hello to amtflow's listener; imported into a collection with
 * automatic provisioning, so the hellos start the runs. Everything is kept: a second start restores the
 * same devices (provisioned ones stay provisioned and stop saying hello). The import is keyed by UUID:
 * a device amtflow knows keeps the name, collection and state it has now — renamed, moved, removed or
 * provisioned again since — and the demo collection and profile, once created, are left as the
 * operator keeps them.
 */
async function runDemo(
  config: AmtflowConfig,
  logger: pino.Logger,
  started: Started,
  store: Store,
  client: Client,
  root: { sha1: string; sha256: string },
): Promise<void> {
  const domain = config.ca.provisioningDomain ?? DEV_DOMAIN;
  if (!(await store.profiles.get(DEMO.profile))) {
    await store.profiles.save(DEMO.profile, { ping: true, webUi: true, serialOverLan: true, ideRedirection: true });
  }
  if (!(await store.collections.get(DEMO.collection))) {
    await store.collections.save({ name: DEMO.collection, automaticProvisioning: true, settingsProfile: DEMO.profile });
  }
  if (config.dev.demoDevices === 0) return;

  // The devices are imported before the fleet starts: a device says hello as soon as it is up, and
  // a hello from a UUID not yet imported is discarded (OOB2), leaving the device a minute to its next.
  const addresses = loopbackAddresses(config.dev.demoFirstIp);
  const demo = DEMO_FIRMWARE.slice(0, config.dev.demoDevices).map((firmware, i) => {
    const address = addresses.next().value as string;
    return { ...firmware, address, uuid: uuidForAddress(address), hostName: `amt-demo-${i + 1}` };
  });
  for (const d of demo) {
    const known = await store.devices.get(d.uuid);
    const imported =
      known ??
      (await store.devices.importComputer({ uuid: d.uuid, hostName: d.hostName, domain, collection: DEMO.collection }))
        .device;
    logger.info(
      { uuid: d.uuid, address: d.address, collection: imported.collection, state: imported.provisioningState },
      `demo device ${imported.fqdn} ${known ? 'already imported' : 'imported'}`,
    );
  }

  // A device whose NVRAM is kept starts from it, whatever its profile says (firmware version included).
  const fleet = await startFleet({
    devices: demo.map((d): DeviceProfileInput => ({
      uuid: d.uuid,
      address: d.address,
      amtVersion: d.amtVersion,
      dnsSuffix: domain,
      hello: `${config.listeners.host}:${config.listeners.helloPort}`,
      // Firmware before 6.0 stores SHA-1 thumbprints only.
      customHashes: [
        d.legacy
          ? { algorithm: 'sha1', hash: root.sha1, description: 'amtflow provisioning root' }
          : { algorithm: 'sha256', hash: root.sha256, description: 'amtflow provisioning root' },
      ],
    })),
    stateDir: path.join(config.stateDir, 'emulator'),
    admin: false,
    logger: logger.child({ component: 'emulator' }),
  });
  started.add('emulator fleet', () => fleet.stop());
  fleet.events.on('hello', (uuid: string, attempt: { delivered: boolean }) =>
    logger.debug({ uuid, delivered: attempt.delivered }, 'emulator: hello sent'),
  );
  started.add(
    'progress watch',
    watchRuns(
      client,
      store,
      logger,
      fleet.devices.map((d) => d.uuid),
    ),
  );
}

/**
 * One line per run as its status changes: a console view of what the Web UI shows. Polls, since the
 * runs start whenever the hellos arrive. Once every demo device has a run and none is running, one
 * line says the demo has settled, with each device's state (again after later runs). Returns the
 * function that ends the watch.
 */
function watchRuns(client: Client, store: Store, logger: pino.Logger, uuids: string[]): () => Promise<void> {
  const seen = new Map<string, string>();
  let settled = false;
  const poll = async () => {
    const statuses: string[] = [];
    for (const uuid of uuids) {
      const description = await client.workflow
        .getHandle(deviceWorkflowId(parseDeviceUuid(uuid)))
        .describe()
        .catch(() => undefined);
      if (!description) continue;
      statuses.push(description.status.name);
      const status = `${description.runId} ${description.status.name}`;
      if (seen.get(uuid) === status) continue;
      seen.set(uuid, status);
      settled = false;
      logger.info(
        { uuid, workflowId: description.workflowId, status: description.status.name },
        `demo: ${description.type} of ${uuid} ${description.status.name.toLowerCase()}`,
      );
    }
    if (settled || statuses.length < uuids.length || statuses.includes('RUNNING')) return;
    settled = true;
    const devices = await Promise.all(uuids.map((uuid) => store.devices.require(uuid)));
    logger.info(
      { devices: devices.map((d) => ({ uuid: d.uuid, fqdn: d.fqdn, state: d.provisioningState })) },
      `demo devices settled: ${devices.filter((d) => d.provisioningState === 'provisioned').length} of ${devices.length} provisioned`,
    );
  };
  let polling = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(poll).catch(() => undefined);
  }, 1_000);
  return async () => {
    clearInterval(timer);
    await polling;
  };
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
