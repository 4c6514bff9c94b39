import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../../activities';
import { auditRepository } from '../../../lib/store/audit';
import { openDatabase, type Database } from '../../../lib/store/database';
import { systemCheck } from '../../../workflows';
import { connectTestEnv, createTestWorker, uniqueQueue } from '../../support/temporal';

describe('systemCheck on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let database: Database;

  beforeAll(async () => {
    env = await connectTestEnv();
    database = await openDatabase({});
  });
  afterAll(async () => {
    await database?.close();
    await env?.teardown();
  });

  it('runs a workflow whose activity writes to the site database', async () => {
    const taskQueue = uniqueQueue('system-check');
    const worker = await createTestWorker(env, { taskQueue, activities: createActivities({ database }) });
    const requestedBy = `tester-${randomUUID()}`;
    const result = await worker.runUntil(
      env.client.workflow.execute(systemCheck, {
        taskQueue,
        workflowId: `system-check-${randomUUID()}`,
        args: [{ requestedBy }],
      }),
    );
    const [entry] = await auditRepository(database.db)
      .forTarget('amtflow')
      .then((rows) => rows.filter((r) => r.actor === requestedBy));
    expect(entry?.id).toBe(result.auditId);
    expect(entry?.action).toBe('system.check');
  });
});
