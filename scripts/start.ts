/**
 * `npm start`: brings amtflow up on this machine and runs the main job, a demo to watch in the
 * Temporal Web UI: an emulated fleet of 20 devices provisions, two are refused, one collection is
 * updated and one device removed (scripts/demo.ts). `AMTFLOW_DEMO=off` brings the stack up without
 * it. The console is readable on a terminal (pino-pretty) and JSON otherwise or with `--json`.
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
import type pino from 'pino';
import { startCodecServer, startFrontDoor } from '../api/front-door';
import { loadConfig, type AmtflowConfig } from '../lib/config';
import { loadDerivationKey } from '../lib/crypto/kek';
import { RedirectionBroker } from '../lib/console';
import { buildActivityDeps } from '../runtime/activity-deps';
import { amtflowDataConverter } from '../runtime/data-converter';
import { consoleFormat, createLogger } from '../runtime/logger';
import { connectClient, connectWorker } from '../runtime/temporal';
import { createLifecycleWorker, installRuntimeLogger } from '../workers/lifecycle-worker';
import { buildWorkflowBundleApart } from '../workers/workflow-bundle';
import { systemCheck } from '../workflows';
import { TASK_QUEUES } from '../workflows/names';
import { runDemo } from './demo';
import { claimPidFile, STARTED_BY, type StartedBy } from './lib/process';
import { ensureSambaDc, sambaDc, stopSambaDc } from './samba-dc';
import { devServerOptions, ensureTemporalCli, startServer, stopServer } from './temporal-dev-server';

/** The dev setup's namespace when nothing is configured: the dev DC's domain and the emulator's suffix. */
const DEV_DOMAIN = 'corp.example.test';

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
  // Readable on a terminal, JSON when piped or with `npm start -- --json`.
  const logger = createLogger(config, 'amtflow', { format: consoleFormat() });
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

  // In a child process: webpack's memory would otherwise stay with this long-lived process.
  const bundle = await buildWorkflowBundleApart();
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
    tuning: config.worker,
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

  const { apiPort } = config.listeners;
  const api = `http://${config.listeners.apiHost ?? config.listeners.host}:${apiPort}`;
  const tokenDir = path.join(config.stateDir, 'keys');
  // The first screen: where to look, and with what.
  logger.info(
    {
      webUi: `${server.uiUrl}/namespaces/${namespace}/workflows`,
      api: `${api}/api/v1`,
      apiDocs: `${api}/docs (OpenAPI: ${api}/docs/json; the narrative: docs/api.md)`,
      metrics: `${api}/metrics`,
      operatorToken: path.join(tokenDir, 'api-operator.token'),
      agentCredentials: 'one per computer: POST /api/v1/devices/<uuid>/agent-credential',
      codecServer: `${codecServer.endpoint.replace(/\/[^/]+$/, '')}/<token> (already set in the Web UI)`,
    },
    `Web UI: ${server.uiUrl}/namespaces/${namespace}/workflows`,
  );
  if (config.dev.demo === 'off') {
    logger.info('demo off (AMTFLOW_DEMO=off): no emulated fleet; import real devices and they provision on hello');
    return;
  }
  await runDemo({
    config,
    logger,
    store: deps.store,
    client,
    root: deps.ca.provisioning.summary().rootThumbprints,
    apiUrl: api,
    onStop: (what, stopIt) => started.add(what, stopIt),
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
