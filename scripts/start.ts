/**
 * `npm start`: brings amtflow up on this machine and runs the main job.
 *
 * One process hosts the worker (and, as they arrive, the API and hello listener) because the
 * embedded PGlite database belongs to exactly one process. The Temporal dev server runs beside it
 * with its Web UI. Ctrl-C stops the worker gracefully, then the dev server if this run started it;
 * everything is kept in the state directory, so the next `npm start` carries on from there.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../lib/config';
import { loadKeyEncryptionKey } from '../lib/crypto/kek';
import { buildCodecServer } from '../api/codec-server';
import { buildActivityDeps } from '../runtime/activity-deps';
import { codecServerToken } from '../runtime/codec-token';
import { amtflowDataConverter } from '../runtime/data-converter';
import { createLogger } from '../runtime/logger';
import { EncryptionCodec, deriveCodecKey } from '../runtime/payload-codec';
import { connectClient, connectWorker } from '../runtime/temporal';
import { createLifecycleWorker, installRuntimeLogger } from '../workers/lifecycle-worker';
import { systemCheck } from '../workflows';
import { TASK_QUEUES } from '../workflows/names';
import { buildWorkflowBundle } from './build-workflow-bundle';
import { ensureTemporalCli, isHealthy, readDevServerSettings, startServer, stopServer } from './temporal-dev-server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'amtflow');
  // Ctrl-C reaches this process more than once (from the terminal and relayed by npm/tsx), so the
  // handler stays installed and only the first signal starts the shutdown.
  installRuntimeLogger(logger, []);
  let stopRequested: (() => void) | undefined;
  const stopping = new Promise<void>((resolve) => (stopRequested = resolve));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopRequested?.());

  const kek = loadKeyEncryptionKey(config);
  const cli = await ensureTemporalCli({ log: (line) => logger.info(line) });
  const settings = readDevServerSettings();
  const address = `${settings.ip}:${settings.port}`;
  const alreadyRunning = await isHealthy(cli, address, settings.namespace);

  // The codec server lets the Web UI show the encrypted payloads; its URL carries the token.
  const token = codecServerToken(kek);
  const codecServer = await buildCodecServer({
    codec: new EncryptionCodec(deriveCodecKey(kek)),
    token,
    allowedOrigins: [`http://${settings.ip}:${settings.uiPort}`],
  });
  await codecServer.listen({ host: config.listeners.host, port: config.listeners.codecPort });
  const codecEndpoint = `http://${config.listeners.host}:${config.listeners.codecPort}/${token}`;
  const server = await startServer({ cli, stateDir: config.stateDir, codecEndpoint });
  logger.info({ address: server.address, webUi: server.uiUrl, sqlite: server.dbFile }, 'Temporal dev server ready');

  const bundle = await buildWorkflowBundle();
  const deps = await buildActivityDeps(config);
  const { connection, namespace } = await connectWorker(config);
  const worker = await createLifecycleWorker({
    connection,
    namespace,
    deps,
    dataConverter: amtflowDataConverter(kek),
    workflowBundlePath: bundle,
  });
  const running = worker.run();
  logger.info({ namespace, taskQueue: TASK_QUEUES.lifecycle }, 'worker running');

  const { client, connection: clientConnection } = await connectClient(config);
  try {
    // The main job. Later issues replace this with the demo fleet's provisioning run.
    const result = await client.workflow.execute(systemCheck, {
      taskQueue: TASK_QUEUES.lifecycle,
      workflowId: `system-check-${randomUUID()}`,
      args: [{ requestedBy: 'npm start' }],
    });
    logger.info(
      { auditId: result.auditId },
      `system check passed; open ${server.uiUrl}/namespaces/${namespace}/workflows`,
    );
    logger.info('amtflow is up. Press Ctrl-C to stop.');
  } finally {
    await clientConnection.close();
  }

  await stopping;
  logger.info('stopping');
  worker.shutdown();
  await running;
  await connection.close();
  await deps.database.close();
  await codecServer.close();
  if (!alreadyRunning) {
    await stopServer(config.stateDir);
    logger.info('Temporal dev server stopped');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
