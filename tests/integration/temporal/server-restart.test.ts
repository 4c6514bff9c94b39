import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { auditActivities } from '../../../activities/audit';
import { SecretBox } from '../../../lib/crypto/secret-box';
import { createStore } from '../../../lib/store';
import { openDatabase, type Database } from '../../../lib/store/database';
import { systemCheck } from '../../../workflows';
import { isAlive, waitFor } from '../../../scripts/lib/process';
import { ensureTemporalCli, startServer, type RunningServer } from '../../../scripts/temporal-dev-server';
import { TEST_SERVER, createTestWorker, testDataConverter, uniqueQueue } from '../../support/temporal';

/**
 * Durability of the embedded server itself: a workflow sleeping on a timer survives a SIGKILL of
 * the dev server, because the restarted server reads the same SQLite file.
 */
describe('Temporal dev server killed while a workflow waits on a timer', () => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-restart-'));
  const port = TEST_SERVER.port + 17;
  let cli: string;
  let server: RunningServer | undefined;
  let database: Database;

  beforeAll(async () => {
    cli = await ensureTemporalCli();
    database = await openDatabase({});
  });
  afterAll(async () => {
    if (server) process.kill(server.pid, 'SIGKILL');
    await database?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('completes the workflow after a restart on the same SQLite file', async () => {
    server = await startServer({ cli, stateDir, port, uiPort: false });
    const env = await TestWorkflowEnvironment.createFromExistingServer({
      address: server.address,
      namespace: server.namespace,
      client: { dataConverter: testDataConverter },
    });
    const taskQueue = uniqueQueue('restart');
    const worker = await createTestWorker(env, {
      taskQueue,
      activities: auditActivities(createStore(database, new SecretBox(Buffer.alloc(32, 1)))),
    });
    const workflowId = `restart-${randomUUID()}`;
    const running = worker.run();
    try {
      const handle = await env.client.workflow.start(systemCheck, {
        taskQueue,
        workflowId,
        args: [{ requestedBy: 'restart-test', settleFor: '3 seconds' }],
      });
      await waitFor(
        'the workflow timer to start',
        async () => {
          const history = await handle.fetchHistory();
          return (history.events ?? []).some((e) => e.timerStartedEventAttributes);
        },
        30_000,
      );

      const killed = server.pid;
      process.kill(killed, 'SIGKILL');
      await waitFor('the killed server to exit', async () => !isAlive(killed), 10_000, 50);
      server = await startServer({ cli, stateDir, port, uiPort: false });
      expect(server.pid).not.toBe(killed);

      const result = await handle.result();
      expect(result.auditId).toBeDefined();
    } finally {
      worker.shutdown();
      await running;
      await env.teardown();
    }
  });
});
