import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { auditActivities } from '../../../activities/audit';
import { SecretBox } from '../../../lib/crypto/secret-box';
import { createStore } from '../../../lib/store';
import { auditRepository } from '../../../lib/store/audit';
import { openDatabase, type Database } from '../../../lib/store/database';
import { systemCheck } from '../../../workflows';
import { findLeaks, historyText } from '../../support/history-scan';
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
    const worker = await createTestWorker(env, {
      taskQueue,
      activities: auditActivities(createStore(database, new SecretBox(Buffer.alloc(32, 1)))),
    });
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

  it('stores inputs and results in history only in encrypted form', async () => {
    const taskQueue = uniqueQueue('system-check-codec');
    const worker = await createTestWorker(env, {
      taskQueue,
      activities: auditActivities(createStore(database, new SecretBox(Buffer.alloc(32, 1)))),
    });
    const requestedBy = `marker-${randomUUID()}`;
    const handle = await env.client.workflow.start(systemCheck, {
      taskQueue,
      workflowId: `system-check-${randomUUID()}`,
      args: [{ requestedBy }],
    });
    await worker.runUntil(handle.result());
    const history = await handle.fetchHistory();
    const text = historyText(history);
    expect(text).toContain('systemCheck');
    expect(findLeaks(text, [requestedBy])).toEqual([]);
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(Buffer.from(input?.metadata?.encoding ?? []).toString()).toBe('binary/encrypted');
  });
});
