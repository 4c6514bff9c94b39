/**
 * `tsx scripts/temporal.ts install|cache-dir|start|stop` — manage the Temporal dev server of
 * temporal-config/dev-server.json under amtflow's state directory.
 */
import { Command } from 'commander';
import { loadConfig } from '../lib/config';
import { STARTED_BY } from './lib/process';
import { devServerOptions, ensureTemporalCli, startServer, stopServer } from './temporal-dev-server';
import { goCacheRoot } from './lib/go-build-cache';

const program = new Command('temporal').description("amtflow's Temporal dev server");
const log = (line: string) => console.error(line);

program
  .command('install')
  .description('find or build the pinned Temporal CLI')
  .action(async () => {
    console.log(await ensureTemporalCli({ log }));
  });

program
  .command('cache-dir')
  .description(
    "print amtflow's Go build cache on this machine (the Temporal CLI in temporal/<version>, the server in temporal-server/<version>)",
  )
  .action(() => {
    console.log(goCacheRoot());
  });

program
  .command('start')
  .description('start the dev server (Web UI included) and wait until it is healthy')
  .action(async () => {
    const cli = await ensureTemporalCli({ log });
    const server = await startServer({ cli, ...devServerOptions(loadConfig()), startedBy: STARTED_BY.byHand });
    console.log(
      `Temporal dev server ${server.address} (namespace ${server.namespace}), Web UI ${server.uiUrl}` +
        (server.reused ? ', already running' : ''),
    );
  });

program
  .command('stop')
  .description('stop the dev server started by `start`')
  .action(async () => {
    const stopped = await stopServer(loadConfig().stateDir);
    console.log(stopped ? 'Temporal dev server stopped' : 'no Temporal dev server was running');
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
