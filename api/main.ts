/**
 * `npm run api`: the front door as its own process — HTTP API, hello listener and codec server —
 * beside any number of workers (`npm run worker`), all over one PostgreSQL site database. Wiring
 * only; runs until SIGINT/SIGTERM, then stops what it started in reverse order.
 */
import { loadConfig } from '../lib/config';
import { loadDerivationKey } from '../lib/crypto/kek';
import { RedirectionBroker } from '../lib/console';
import { provisioningAccounts } from '../runtime/activity-deps';
import { createLogger } from '../runtime/logger';
import { openSite } from '../runtime/site';
import { connectClient } from '../runtime/temporal';
import { startCodecServer, startFrontDoor, type Stoppable } from './front-door';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.database.url) {
    throw new Error(
      'npm run api needs PostgreSQL (database.url or AMTFLOW_DATABASE_URL): the embedded PGlite database ' +
        'belongs to one process; `npm start` runs everything in one process over it',
    );
  }
  const logger = createLogger(config, 'api');
  // The codec key and token derive from the ring's first key, so they survive rotation.
  const derivationKey = loadDerivationKey(config);
  const stopping = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  const started: Stoppable[] = [];
  try {
    const site = await openSite(config);
    started.push({ stop: () => site.database.close() });
    const { client, connection } = await connectClient(config);
    started.push({ stop: () => connection.close() });
    started.push(await startCodecServer(config, derivationKey));
    const sessions = new RedirectionBroker({
      ...site,
      provisioningAccounts: provisioningAccounts(config),
      amtTimeouts: { connectMs: config.amt.connectTimeoutMs, responseMs: config.amt.responseTimeoutMs },
    });
    started.push(await startFrontDoor({ config, store: site.store, ca: site.ca, client, logger, sessions }));
    logger.info('front door running');
    await stopping;
  } finally {
    for (const piece of started.reverse()) {
      await piece.stop().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'did not stop cleanly'));
    }
    logger.info('front door stopped');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
