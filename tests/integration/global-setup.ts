import { rmSync } from 'node:fs';
import path from 'node:path';
import { STARTED_BY } from '../../scripts/lib/process';
import { leaseSambaDc } from '../../scripts/samba-dc';
import { ensureTemporalCli, startServer, stopServer } from '../../scripts/temporal-dev-server';
import { TEST_DC } from '../support/directory';
import { buildTestWorkflowBundle, TEST_SERVER } from '../support/temporal';
import { buildWorkflowBundle } from '../../workers/workflow-bundle';

/**
 * Starts what the integration tests need, once per run: the prebuilt workflow bundles (production's,
 * which replay uses, and the test bundle with shortened timers, which test workers run) and a real
 * Temporal dev server (headless, its own SQLite under .state/test, wiped first so every run starts
 * empty). AMTFLOW_TEST_TEMPORAL_ADDRESS means "use that server instead"; AMTFLOW_TEST_NO_TEMPORAL=1
 * skips both, for running only tests that do not touch Temporal.
 *
 * Beside it, the test Samba AD DC (.state/test/samba, kept between runs: provisioning costs seconds,
 * the tests clean up after themselves). Runs share it through leases: a DC already answering is
 * reused, and the last run out stops it unless it was started outside the tests.
 * AMTFLOW_TEST_NO_SAMBA=1 skips it.
 */
export default async function globalSetup(): Promise<void> {
  // Both finish before a failure is reported, so neither is left half-started.
  const failed = (await Promise.allSettled([startTemporal(), startSamba()])).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function startTemporal(): Promise<void> {
  if (process.env.AMTFLOW_TEST_NO_TEMPORAL === '1') return;
  await buildWorkflowBundle();
  await buildTestWorkflowBundle();
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
    startedBy: STARTED_BY.tests,
  });
  process.env.AMTFLOW_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.AMTFLOW_TEST_STARTED_TEMPORAL = '1';
}

async function startSamba(): Promise<void> {
  if (process.env.AMTFLOW_TEST_NO_SAMBA === '1') return;
  await leaseSambaDc(TEST_DC, (line) => console.log(line));
}
