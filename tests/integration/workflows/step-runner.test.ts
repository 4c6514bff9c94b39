import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  ApplicationFailure,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { operatorDecisionSignal, operatorDecisionUpdate, progressQuery } from '../../../workflows/messages';
import { SEARCH_ATTRIBUTES } from '../../../workflows/names';
import { waitFor } from '../../../scripts/lib/process';
import { FAILURE_CONVERTER_PATH } from '../../../runtime/data-converter';
import { connectTestEnv, FAST_TIMERS, testDataConverter, uniqueQueue } from '../../support/temporal';
import type { runnerProbe } from '../../support/runner-workflows';

/** Activities whose failures the test scripts: each name maps to a queue of outcomes. */
function scriptedActivities(script: Record<string, Array<'ok' | 'fail' | 'invalid'>>, calls: string[]) {
  const make = (name: string) => async () => {
    calls.push(name);
    const next = script[name]?.shift() ?? 'ok';
    if (next === 'fail') throw new Error(`${name} failed`);
    if (next === 'invalid') throw ApplicationFailure.nonRetryable(`${name}: input is not acceptable`, 'INPUT_INVALID');
    return `${name} done`;
  };
  const recordAudit = async (entry: { actor: string; action: string }) => {
    calls.push(`audit ${entry.actor} ${entry.action}`);
    return '1';
  };
  return {
    check: make('check'),
    write: make('write'),
    extra: make('extra'),
    undoWrite: make('undoWrite'),
    recordAudit,
  };
}

describe('StepRunner: operator decisions at the edge of the retry budget', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;

  beforeAll(async () => {
    env = await connectTestEnv();
    bundle = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, '../../support/runner-workflows.ts'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
      workflowInterceptorModules: [FAST_TIMERS],
    });
  });
  afterAll(async () => env?.teardown());

  type Run = {
    handle: WorkflowHandle<typeof runnerProbe>;
    calls: string[];
    parkedAt(step: string): Promise<void>;
  };

  /** Runs the probe workflow under a worker of its own until `body` is done (worker.runUntil). */
  async function withProbe(
    script: Record<string, Array<'ok' | 'fail' | 'invalid'>>,
    body: (run: Run) => Promise<void>,
  ): Promise<void> {
    const taskQueue = uniqueQueue('runner');
    const calls: string[] = [];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue,
      workflowBundle: bundle,
      dataConverter: testDataConverter,
      activities: scriptedActivities(script, calls),
    });
    await worker.runUntil(async () => {
      const deviceUuid = randomUUID();
      const handle = await env.client.workflow.start<typeof runnerProbe>('runnerProbe', {
        taskQueue,
        workflowId: `probe-${deviceUuid}`,
        args: [deviceUuid],
      });
      const parkedAt = async (step: string) =>
        waitFor(
          `the run to wait for an operator at ${step}`,
          async () => {
            const progress = await handle.query(progressQuery);
            return progress.state === 'awaiting-operator' && progress.awaiting?.step === step;
          },
          30_000,
          100,
        );
      await body({ handle, calls, parkedAt });
    });
  }

  it('parks an exhausted step in AWAITING_OPERATOR and retries it on request', async () => {
    await withProbe({ write: ['fail', 'fail'] }, async (run) => {
      await run.parkedAt('T2');
      const progress = await run.handle.query(progressQuery);
      expect(progress.awaiting).toEqual({
        step: 'T2',
        error: { code: 'Error', message: 'write failed' },
        allowed: ['retry', 'abort'],
      });
      expect(progress.steps.find((s) => s.id === 'T2')).toMatchObject({ status: 'awaiting-operator', attempts: 2 });
      const described = await run.handle.describe();
      expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage)).toBe('AWAITING_OPERATOR');

      const after = await run.handle.executeUpdate(operatorDecisionUpdate, {
        args: [{ action: 'retry', operator: 'alice', step: 'T2' }],
      });
      expect(after.steps.find((s) => s.id === 'T2')?.status).not.toBe('awaiting-operator');
      expect(await run.handle.result()).toEqual(['write done', 'extra done']);
      expect(run.calls.filter((c) => c === 'write')).toHaveLength(3);
      const final = await run.handle.describe();
      expect(final.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage)).toBe('COMPLETED');
    });
  });

  it('counts the attempts that happened, a success after failures included', async () => {
    await withProbe({ write: ['fail'] }, async (run) => {
      expect(await run.handle.result()).toEqual(['write done', 'extra done']);
      const steps = (await run.handle.query(progressQuery)).steps;
      expect(run.calls.filter((c) => c === 'write')).toHaveLength(2);
      expect(steps.find((s) => s.id === 'T2')).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(steps.find((s) => s.id === 'T2')?.lastError).toBeUndefined();
      expect(steps.find((s) => s.id === 'T3')).toMatchObject({ status: 'succeeded', attempts: 1 });
    });
  });

  it('lists only the steps of the run: the P7 audit and the undo steps join when they run', async () => {
    await withProbe({ write: ['fail', 'fail'] }, async (run) => {
      await run.parkedAt('T2');
      expect((await run.handle.query(progressQuery)).steps.map((s) => s.id)).toEqual(['T1', 'T2', 'T3']);
      await run.handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', operator: 'erin' }] });
      await run.handle.result();
      const steps = (await run.handle.query(progressQuery)).steps;
      expect(steps.map((s) => s.id)).toEqual(['T1', 'T2', 'T3', 'P7']);
      expect(steps.find((s) => s.id === 'P7')).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(run.calls).toContain('audit erin probe.retry');
    });
  });

  it('refuses to skip a step the spec requires, and skips one it allows', async () => {
    await withProbe({ write: ['fail', 'fail'], extra: ['fail'] }, async (run) => {
      await run.parkedAt('T2');
      await expect(
        run.handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'skip', operator: 'bob' }] }),
      ).rejects.toThrow(WorkflowUpdateFailedError);
      await run.handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'retry', operator: 'bob' }] });
      await run.parkedAt('T3');
      expect((await run.handle.query(progressQuery)).awaiting?.allowed).toEqual(['retry', 'skip', 'abort']);
      await run.handle.executeUpdate(operatorDecisionUpdate, {
        args: [{ action: 'skip', operator: 'bob', step: 'T3' }],
      });
      expect(await run.handle.result()).toEqual(['write done', 'extra skipped']);
    });
  });

  it('aborts on request: undoes completed steps and ends with OPERATOR_ABORTED', async () => {
    await withProbe({ extra: ['fail'] }, async (run) => {
      await run.parkedAt('T3');
      await run.handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', operator: 'carol' }] });
      const failure = await run.handle.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect(((failure as WorkflowFailedError).cause as ApplicationFailure).type).toBe('OPERATOR_ABORTED');
      expect(run.calls).toContain('undoWrite');
      expect(run.calls).toContain('audit carol probe.abort');
      const progress = await run.handle.query(progressQuery);
      expect(progress.state).toBe('aborted');
      expect(progress.steps.find((s) => s.id === 'T2')?.status).toBe('compensated');
      expect(progress.steps.find((s) => s.id === 'T2.undo')).toMatchObject({
        status: 'succeeded',
        stage: 'compensate',
      });
    });
  });

  it('accepts the decision as a signal from the Web UI', async () => {
    await withProbe({ write: ['fail', 'fail'] }, async (run) => {
      await run.parkedAt('T2');
      await run.handle.signal(operatorDecisionSignal, { action: 'retry', operator: 'dave' });
      expect(await run.handle.result()).toEqual(['write done', 'extra done']);
    });
  });

  it('ends at once with the typed error when validation fails, having done nothing', async () => {
    await withProbe({ check: ['invalid'] }, async (run) => {
      const failure = await run.handle.result().catch((err: unknown) => err);
      expect(((failure as WorkflowFailedError).cause as ApplicationFailure).type).toBe('INPUT_INVALID');
      expect(run.calls).toEqual(['check']);
    });
  });
});
