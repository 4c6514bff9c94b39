/**
 * `tsx scripts/temporal.ts install|cache-dir|start|stop` — manage the Temporal dev server of
 * temporal-config/dev-server.json under amtflow's state directory.
 */
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../lib/config';
import { STARTED_BY } from './lib/process';
import { cacheDir, devServerOptions, ensureTemporalCli, startServer, stopServer } from './temporal-dev-server';

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
  .description('print where built Temporal CLIs are kept on this machine (one directory per version)')
  .action(() => {
    console.log(path.join(cacheDir(), 'temporal'));
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
