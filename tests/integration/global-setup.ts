import { rmSync } from 'node:fs';
import path from 'node:path';
import { buildWorkflowBundle } from '../../scripts/build-workflow-bundle';
import { ensureTemporalCli, startServer, stopServer } from '../../scripts/temporal-dev-server';
import { TEST_SERVER } from '../support/temporal';

/**
 * Starts what the integration tests need, once per run: the prebuilt workflow bundle and a real
 * Temporal dev server (headless, its own SQLite under .state/test, wiped first so every run starts
 * empty). AMTFLOW_TEST_TEMPORAL_ADDRESS means "use that server instead"; AMTFLOW_TEST_NO_TEMPORAL=1
 * skips both, for running only tests that do not touch Temporal.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.AMTFLOW_TEST_NO_TEMPORAL === '1') return;
  await buildWorkflowBundle();
  if (process.env.AMTFLOW_TEST_TEMPORAL_ADDRESS) return;
  const cli = await ensureTemporalCli({ log: (line) => console.log(line) });
  await stopServer(TEST_SERVER.stateDir);
  rmSync(path.join(TEST_SERVER.stateDir, 'temporal'), { recursive: true, force: true });
  const server = await startServer({
    cli,
    stateDir: TEST_SERVER.stateDir,
    port: TEST_SERVER.port,
    uiPort: false,
    ip: TEST_SERVER.ip,
  });
  process.env.AMTFLOW_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.AMTFLOW_TEST_STARTED_TEMPORAL = '1';
}
