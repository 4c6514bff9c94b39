import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { withAttemptScope } from '../../../activities/attempt';
import { withFailureMapping } from '../../../activities/failures';
import { FAILURE_CONVERTER_PATH } from '../../../runtime/data-converter';
import { waitFor } from '../../../scripts/lib/process';
import { progressQuery } from '../../../workflows/messages';
import { connectTestEnv, FAST_TIMERS, testDataConverter, uniqueQueue } from '../../support/temporal';
import type { runnerProbe } from '../../support/runner-workflows';
import { adminSession } from '../amt/support';
import { testFleet } from '../emulator/support/fleet';

/**
 * Issue 12 §4 at the workflow: a device that answers a step with a 3 MB fault reason. The step's
 * error reaches `progress` and the workflow history as the AMT client bounded it — a few hundred
 * characters — however much the device sent, so nothing nears Temporal's payload limits and the
 * operator reads a message, not a dump.
 */
describe('a hostile device in a step', () => {
  let env: TestWorkflowEnvironment;
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const password = 'H0stile!Step';
  const REASON_BYTES = 3 * 1024 * 1024;

  beforeAll(async () => {
    env = await connectTestEnv();
    fleet = await testFleet([{ state: 'post', adminPassword: password, helloEnabled: false }]);
  });
  afterAll(async () => {
    await fleet?.cleanup();
    await env?.teardown();
  });

  it('keeps the step error bounded in progress and history', async () => {
    const device = fleet.devices[0]!;
    fleet.inject({ kind: 'hugeFaultReason', bytes: REASON_BYTES, match: 'Get' }, device.uuid);
    // As the lifecycle worker wraps its activities (activities/index.ts).
    const activities = withAttemptScope(
      withFailureMapping({
        check: async () => 'checked',
        write: async () => {
          await adminSession(device, password).wsman.device.getGeneralSettings();
          return 'written';
        },
        extra: async () => 'extra',
        undoWrite: async () => 'undone',
        recordAudit: async () => '1',
      }),
    );
    const taskQueue = uniqueQueue('hostile-step');
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
    await worker.runUntil(async () => {
      const deviceUuid = randomUUID();
      const handle = await env.client.workflow.start<typeof runnerProbe>('runnerProbe', {
        taskQueue,
        workflowId: `hostile-${deviceUuid}`,
        args: [deviceUuid],
      });
      await waitFor(
        'the run to wait for an operator at T2',
        async () => (await handle.query(progressQuery)).awaiting?.step === 'T2',
        60_000,
        100,
      );
      const progress = await handle.query(progressQuery);
      expect(progress.awaiting?.error.code).toBe('WSMAN_INTERNAL_ERROR');
      expect(progress.awaiting?.error.message).toMatch(/more characters\)$/);
      expect(progress.awaiting?.error.message.length).toBeLessThan(600);
      expect(JSON.stringify(progress).length).toBeLessThan(4096);

      // Every event of the run, the failed attempts' failures (message, details) included.
      const history = await handle.fetchHistory();
      // A failed attempt is a local activity's marker with its failure (workflows/step-runner.ts).
      const failed = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.failure);
      expect(failed.length).toBeGreaterThan(0);
      expect(temporal.api.history.v1.History.encode(history).finish().length).toBeLessThan(64 * 1024);
      await handle.terminate('test over');
    });
    expect(device.operations().some((op) => op.operation === 'Get')).toBe(true);
  });
});
