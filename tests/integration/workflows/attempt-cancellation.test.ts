import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { withAttemptScope } from '../../../activities/attempt';
import { FAILURE_CONVERTER_PATH } from '../../../runtime/data-converter';
import { connectTestEnv, FAST_TIMERS, testDataConverter, uniqueQueue } from '../../support/temporal';
import type { runnerProbe } from '../../support/runner-workflows';
import { adminSession } from '../amt/support';
import { testFleet } from '../emulator/support/fleet';

/**
 * Issue 12 §4: an attempt that timed out must not go on talking to the device while its retry does.
 * The probe's step T2 (timeout 5 s, two attempts) reads a slow device in a loop on its first attempt;
 * the attempt reaches its deadline, and from the moment the retry begins the firmware serves nothing
 * more from it.
 */
describe('an attempt that timed out stops talking to the device', () => {
  let env: TestWorkflowEnvironment;
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const password = 'Att3mpt!Scope';

  beforeAll(async () => {
    env = await connectTestEnv();
    fleet = await testFleet([{ state: 'post', adminPassword: password, helloEnabled: false }]);
  });
  afterAll(async () => {
    await fleet?.cleanup();
    await env?.teardown();
  });

  it('cuts its requests off before the retry starts', async () => {
    const device = fleet.devices[0]!;
    // Every read takes 1.5 s: the first attempt is still reading when its 5 s run out.
    fleet.inject({ kind: 'delay', ms: 1_500, match: 'Get' }, device.uuid);
    const attempts: { attempt: number; startedAt: number; error?: string }[] = [];
    let attempt = 0;
    const activities = withAttemptScope({
      check: async () => 'checked',
      write: async () => {
        attempt += 1;
        const record: (typeof attempts)[number] = { attempt, startedAt: Date.now() };
        attempts.push(record);
        if (attempt > 1) return 'written';
        const session = adminSession(device, password);
        try {
          for (;;) await session.wsman.device.getGeneralSettings();
        } catch (err) {
          record.error = (err as { code?: string }).code;
          throw err;
        }
      },
      extra: async () => 'extra',
      undoWrite: async () => 'undone',
      recordAudit: async () => '1',
    });
    const taskQueue = uniqueQueue('attempt');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: path.resolve(__dirname, '../../support/runner-workflows.ts'),
        failureConverterPath: FAILURE_CONVERTER_PATH,
        workflowInterceptorModules: [FAST_TIMERS],
      }),
      dataConverter: testDataConverter,
      activities,
    });
    const done = await worker.runUntil(async () => {
      const deviceUuid = randomUUID();
      const handle = await env.client.workflow.start<typeof runnerProbe>('runnerProbe', {
        taskQueue,
        workflowId: `attempt-${deviceUuid}`,
        args: [deviceUuid],
      });
      return handle.result();
    });

    expect(done).toEqual(['written', 'extra']);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(attempts[0]?.error).toBe('REQUEST_CANCELLED');
    const reads = device.operations().filter((op) => op.operation === 'Get');
    expect(reads.length).toBeGreaterThan(0);
    const retryStarted = attempts[1]!.startedAt;
    expect(reads.filter((op) => op.at >= retryStarted)).toEqual([]);
  });
});
