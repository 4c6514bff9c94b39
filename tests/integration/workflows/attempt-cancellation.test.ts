import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { withAttemptScope } from '../../../activities/attempt';
import { FAILURE_CONVERTER_PATH } from '../../../runtime/data-converter';
import { waitFor } from '../../../scripts/lib/process';
import { connectTestEnv, FAST_TIMERS, testDataConverter, uniqueQueue } from '../../support/temporal';
import type { runnerProbe, runnerSlowProbe } from '../../support/runner-workflows';
import { adminSession } from '../amt/support';
import { testFleet } from '../emulator/support/fleet';

/**
 * Issue 12 §4: an attempt that timed out or was cancelled must not go on talking to the device.
 * Timeout: the probe's step T2 (timeout 5 s, two attempts) reads a slow device in a loop on its first
 * attempt; the attempt reaches its deadline, and from the moment the retry begins the firmware serves
 * nothing more from it. Cancellation: the run is cancelled while step T4 reads — run as a local
 * activity, as the runner runs steps, and as an activity, as a checkpoint runs — the worker (local)
 * or the server through the attempt's heartbeat tells the attempt, and it stops sending at once.
 */
describe('an attempt that timed out or was cancelled stops talking to the device', () => {
  let env: TestWorkflowEnvironment;
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  let bundle: WorkflowBundleWithSourceMap;
  const password = 'Att3mpt!Scope';

  beforeAll(async () => {
    env = await connectTestEnv();
    fleet = await testFleet([
      { state: 'post', adminPassword: password, helloEnabled: false },
      { state: 'post', adminPassword: password, helloEnabled: false },
      { state: 'post', adminPassword: password, helloEnabled: false },
    ]);
    bundle = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, '../../support/runner-workflows.ts'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
      workflowInterceptorModules: [FAST_TIMERS],
    });
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
      workflowBundle: bundle,
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

  it.each([
    ['a local activity', false, 1],
    ['an activity', true, 2],
  ])('stops when the run is cancelled (%s): told of it, the attempt sends nothing more', async (_, asActivity, at) => {
    const device = fleet.devices[at]!;
    fleet.inject({ kind: 'delay', ms: 1_500, match: 'Get' }, device.uuid);
    const attempt: { started: number; stoppedAt?: number; error?: string; cancelledBy?: string } = { started: 0 };
    const activities = withAttemptScope({
      slow: async () => {
        attempt.started += 1;
        const context = Context.current();
        const session = adminSession(device, password);
        try {
          for (;;) await session.wsman.device.getGeneralSettings();
        } catch (err) {
          attempt.stoppedAt = Date.now();
          attempt.error = (err as { code?: string }).code;
          // Set only when the server cancelled the attempt (not at the attempt's own deadline).
          attempt.cancelledBy = (context.cancellationSignal.reason as Error | undefined)?.message;
          throw err;
        }
      },
      recordAudit: async () => '1',
    });
    const taskQueue = uniqueQueue('attempt-cancel');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue,
      workflowBundle: bundle,
      dataConverter: testDataConverter,
      activities,
    });
    const outcome = await worker.runUntil(async () => {
      const deviceUuid = randomUUID();
      const handle = await env.client.workflow.start<typeof runnerSlowProbe>('runnerSlowProbe', {
        taskQueue,
        workflowId: `attempt-cancel-${deviceUuid}`,
        args: [deviceUuid, asActivity],
      });
      await waitFor(
        'the attempt to read from the device',
        async () => device.operations().some((op) => op.operation === 'Get'),
        30_000,
        50,
      );
      await handle.cancel();
      const result = await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
      // The worker stays up until the attempt has stopped: its shutdown would cancel it too.
      await waitFor('the attempt to stop', async () => attempt.stoppedAt !== undefined, 60_000, 50);
      return result;
    });

    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    expect((outcome as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(attempt.started).toBe(1);
    expect(attempt.error).toBe('REQUEST_CANCELLED');
    // The cancel itself (from the worker, or the server's word carried by a heartbeat), or that the
    // cancelled run is gone.
    expect(['CANCELLED', 'NOT_FOUND']).toContain(attempt.cancelledBy);
    const reads = device.operations().filter((op) => op.operation === 'Get');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((op) => op.at > attempt.stoppedAt!)).toEqual([]);
  });
});
