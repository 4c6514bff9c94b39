/**
 * `npm start`: brings amtflow up on this machine and runs the main job, a demo to watch in the
 * Temporal Web UI: an emulated fleet says hello and amtflow provisions it.
 *
 * One process hosts the worker, the API and the hello listener because the embedded PGlite database
 * belongs to exactly one process. The Temporal dev server (with its Web UI) and, when no directory is
 * configured, the dev Samba DC run beside it. Ctrl-C stops everything this run started, in reverse
 * order; everything is kept in the state directory, so the next `npm start` carries on from there.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type pino from 'pino';
import { startCodecServer, startFrontDoor } from '../api/front-door';
import type { DeviceProfileInput } from '../emulator/device/profile';
import { startFleet } from '../emulator/fleet/fleet';
import { loadConfig, type AmtflowConfig } from '../lib/config';
import { loadDerivationKey } from '../lib/crypto/kek';
import { parseDeviceUuid } from '../lib/device-uuid';
import type { Store } from '../lib/store';
import { buildActivityDeps } from '../runtime/activity-deps';
import { amtflowDataConverter } from '../runtime/data-converter';
import { createLogger } from '../runtime/logger';
import { connectClient, connectWorker } from '../runtime/temporal';
import { createLifecycleWorker, installRuntimeLogger } from '../workers/lifecycle-worker';
import { buildWorkflowBundle } from '../workers/workflow-bundle';
import { systemCheck } from '../workflows';
import { TASK_QUEUES, deviceWorkflowId } from '../workflows/names';
import { ensureSambaDc, sambaDc, stopSambaDc } from './samba-dc';
import { ensureTemporalCli, isHealthy, readDevServerSettings, startServer, stopServer } from './temporal-dev-server';

/** The dev setup's namespace when nothing is configured: the dev DC's domain and the emulator's suffix. */
const DEV_DOMAIN = 'corp.example.test';
const DEMO = { collection: 'demo', profile: 'demo', firstIp: '127.20.0.1' };

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
  let stopRequested: (() => void) | undefined;
  const stopping = new Promise<void>((resolve) => (stopRequested = resolve));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopRequested?.());

  const started = new Started(logger);
  try {
    await bringUp(config, logger, started, stopping);
  } finally {
    logger.info('stopping');
    await started.stopAll();
  }
}

async function bringUp(
  config: AmtflowConfig,
  logger: pino.Logger,
  started: Started,
  stopping: Promise<void>,
): Promise<void> {
  const kek = loadDerivationKey(config);
  if (!config.directory) {
    // The dev directory: amtflow's own Samba AD DC under the state directory.
    const dc = sambaDc({ stateDir: config.stateDir });
    const running = await ensureSambaDc(dc, (line) => logger.info(line));
    config.directory = running.config;
    if (!running.reused) started.add('Samba DC', () => stopSambaDc(dc));
    logger.info({ domain: dc.domain, ldaps: running.config.url }, 'directory: dev Samba DC');
  }
  config.ca.provisioningDomain ??= DEV_DOMAIN;

  const cli = await ensureTemporalCli({ log: (line) => logger.info(line) });
  const settings = readDevServerSettings();
  const alreadyRunning = await isHealthy(cli, `${settings.ip}:${settings.port}`, settings.namespace);

  // The codec server lets the Web UI show the encrypted payloads; its URL carries the token.
  config.listeners.webUiOrigins = [`http://${settings.ip}:${settings.uiPort}`];
  const codecServer = await startCodecServer(config, kek);
  started.add('codec server', () => codecServer.stop());
  const server = await startServer({ cli, stateDir: config.stateDir, codecEndpoint: codecServer.endpoint });
  if (!alreadyRunning) started.add('Temporal dev server', () => stopServer(config.stateDir));
  logger.info({ address: server.address, webUi: server.uiUrl, sqlite: server.dbFile }, 'Temporal dev server ready');

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
  });
  started.add('API and hello listener', () => frontDoor.stop());

  const check = await client.workflow.execute(systemCheck, {
    taskQueue: TASK_QUEUES.lifecycle,
    workflowId: `system-check-${randomUUID()}`,
    args: [{ requestedBy: 'npm start' }],
  });
  logger.info({ auditId: check.auditId }, 'system check passed');

  await runDemo(config, logger, started, deps.store, client, deps.ca.provisioning.summary().rootThumbprints);
  logger.info(`Web UI: ${server.uiUrl}/namespaces/${namespace}/workflows`);
  logger.info('amtflow is up. Press Ctrl-C to stop.');
  await stopping;
}

/**
 * The main job: an emulated fleet — one legacy device (EOI), two modern ones — whose firmware trusts
 * amtflow's provisioning root and says hello to amtflow's listener; imported into a collection with
 * automatic provisioning, so the hellos start the runs. Everything is kept: a second start restores the
 * same devices (provisioned ones stay provisioned and stop saying hello) and imports nothing anew.
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
  const device = (amtVersion: string, legacy = false): DeviceProfileInput => ({
    amtVersion,
    dnsSuffix: domain,
    hello: `${config.listeners.host}:${config.listeners.helloPort}`,
    // Firmware before 6.0 stores SHA-1 thumbprints only.
    customHashes: [
      legacy
        ? { algorithm: 'sha1', hash: root.sha1, description: 'amtflow provisioning root' }
        : { algorithm: 'sha256', hash: root.sha256, description: 'amtflow provisioning root' },
    ],
  });
  if (!(await store.profiles.get(DEMO.profile))) {
    await store.profiles.save(DEMO.profile, { ping: true, webUi: true, serialOverLan: true, ideRedirection: true });
  }
  await store.collections.save({ name: DEMO.collection, automaticProvisioning: true, settingsProfile: DEMO.profile });

  const fleet = await startFleet({
    devices: [device('5.2.70', true), device('11.8.50'), device('15.0.23')],
    stateDir: path.join(config.stateDir, 'emulator'),
    firstIp: DEMO.firstIp,
    admin: false,
    logger: logger.child({ component: 'emulator' }),
  });
  started.add('emulator fleet', () => fleet.stop());
  for (const [i, d] of fleet.devices.entries()) {
    const { device: imported, created } = await store.devices.importComputer({
      uuid: d.uuid,
      hostName: `amt-demo-${i + 1}`,
      domain,
      collection: DEMO.collection,
    });
    logger.info(
      { uuid: d.uuid, address: d.address, amtVersion: d.nvram().amtVersion, state: imported.provisioningState },
      `demo device ${imported.fqdn} ${created ? 'imported' : 'already imported'}`,
    );
  }
  fleet.events.on('hello', (uuid: string, attempt: { delivered: boolean }) =>
    logger.debug({ uuid, delivered: attempt.delivered }, 'emulator: hello sent'),
  );
  started.add(
    'progress watch',
    watchRuns(
      client,
      logger,
      fleet.devices.map((d) => d.uuid),
    ),
  );
}

/**
 * One line per run as its status changes: a console view of what the Web UI shows. Polls, since the
 * runs start whenever the hellos arrive; returns the function that ends the watch.
 */
function watchRuns(client: Client, logger: pino.Logger, uuids: string[]): () => Promise<void> {
  const seen = new Map<string, string>();
  const poll = async () => {
    for (const uuid of uuids) {
      const description = await client.workflow
        .getHandle(deviceWorkflowId(parseDeviceUuid(uuid)))
        .describe()
        .catch(() => undefined);
      if (!description) continue;
      const status = `${description.runId} ${description.status.name}`;
      if (seen.get(uuid) === status) continue;
      seen.set(uuid, status);
      logger.info(
        { uuid, workflowId: description.workflowId, status: description.status.name },
        `demo: ${description.type} of ${uuid} ${description.status.name.toLowerCase()}`,
      );
    }
  };
  const timer = setInterval(() => void poll().catch(() => undefined), 5_000);
  return async () => clearInterval(timer);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
