/**
 * Worker entrypoint: wiring only. Loads the configuration, opens the site database, connects to
 * Temporal and runs the lifecycle worker until SIGINT/SIGTERM (the SDK's Runtime turns those into
 * a graceful shutdown: running activities finish, then `run()` resolves).
 */
import { loadConfig } from '../lib/config';
import { loadDerivationKey } from '../lib/crypto/kek';
import { createLogger } from '../runtime/logger';
import { buildActivityDeps } from '../runtime/activity-deps';
import { amtflowDataConverter } from '../runtime/data-converter';
import { connectWorker } from '../runtime/temporal';
import { createLifecycleWorker, installRuntimeLogger } from './lifecycle-worker';
import { WORKFLOW_BUNDLE } from './workflow-bundle';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  installRuntimeLogger(logger, undefined, { metricsAddress: config.metrics.workerAddress });
  if (config.metrics.workerAddress)
    logger.info({ url: `http://${config.metrics.workerAddress}/metrics` }, 'worker SDK metrics');
  const deps = await buildActivityDeps(config);
  const { connection, namespace } = await connectWorker(config);
  try {
    const worker = await createLifecycleWorker({
      connection,
      namespace,
      deps,
      dataConverter: amtflowDataConverter(loadDerivationKey(config)),
      workflowBundlePath: WORKFLOW_BUNDLE,
      tuning: config.worker,
    });
    logger.info({ namespace, taskQueue: worker.options.taskQueue, ...config.worker }, 'worker running');
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
    await deps.database.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
