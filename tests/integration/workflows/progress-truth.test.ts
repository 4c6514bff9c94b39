import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { formatProgress } from '../../../cli/progress';
import type { LifecycleActivities } from '../../../activities/contract';
import { operatorCommands } from '../../../runtime/lifecycle-client';
import { FAILURE_CONVERTER_PATH } from '../../../runtime/data-converter';
import { progressFromHistory } from '../../../runtime/progress-history';
import { waitFor } from '../../../scripts/lib/process';
import {
  operatorDecisionUpdate,
  progressQuery,
  renameCompletedSignal,
  wiredIeee8021xDecisionUpdate,
  type Progress,
} from '../../../workflows/messages';
import { provisionSteps } from '../../../workflows/catalogue';
import { deviceWorkflowId } from '../../../workflows/names';
import { newDeviceUuid } from '../../support/device-uuid';
import { fakeLifecycleActivities, type Outcome } from '../../support/fake-lifecycle';
import { expectAllDone } from '../../support/progress';
import type { PatchProbeActivities } from '../../support/patch-probe';
import { connectTestEnv, createTestWorker, testDataConverter, uniqueQueue } from '../../support/temporal';

/**
 * Progress tells the truth (issue 14): a completed run of every flow and mode lists only steps that
 * succeeded or were skipped with a reason; a run waiting for an operator's signal says so and what to
 * send; and with no worker running, progress is read from the run's history and says the same as
 * the query did. Fake activities (tests/support/fake-lifecycle.ts): the workflows' own bookkeeping.
 * A run from before a patch does not list the steps the patch added, once it is past them.
 */
describe('progress tells the truth', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await connectTestEnv();
  });
  afterAll(async () => env?.teardown());

  const fromHistory = async (handle: WorkflowHandle): Promise<Progress> =>
    progressFromHistory(env.client.options.loadedDataConverter, (await handle.fetchHistory()).events ?? []);

  type Flow = {
    name: string;
    start: (c: ReturnType<typeof operatorCommands>, uuid: ReturnType<typeof newDeviceUuid>) => Promise<string>;
    script?: Partial<Record<keyof LifecycleActivities, Outcome[]>>;
    /** Activities that answer otherwise than the fakes' defaults (a legacy device). */
    activities?: Partial<LifecycleActivities>;
    /** A step that fails until an operator skips it. */
    skip?: string;
  };
  /** A device of the legacy generation (before AMT 6): AMT 5.2 over EOI, as the emulator's legacy profile answers. */
  const legacy: Partial<LifecycleActivities> = {
    probeAmtVersion: async () => ({
      amtVersion: '5.2.70',
      protocol: 'eoi',
      endpoint: { host: '192.0.2.10', httpPort: 16992, tlsPort: 16993 },
    }),
  };
  const flows: Flow[] = [
    {
      name: 'provision out of band, one step skipped by an operator',
      start: (c, uuid) => c.provision(uuid, 'out-of-band', 'alice'),
      script: { setPowerPolicy: ['fail', 'fail', 'fail', 'fail', 'fail'] },
      skip: 'OOB9.3b',
    },
    { name: 'provision in band', start: (c, uuid) => c.provision(uuid, 'in-band', 'agent') },
    { name: 'update', start: (c, uuid) => c.update(uuid, 'alice') },
    { name: 'remove partial', start: (c, uuid) => c.remove(uuid, 'partial', 'alice') },
    { name: 'remove full', start: (c, uuid) => c.remove(uuid, 'full', 'alice') },
    { name: 'forget a stolen device', start: (c, uuid) => c.forget(uuid, 'stolen', 'ticket 12', 'alice') },
    { name: 'rotate the admin password', start: (c, uuid) => c.rotatePassword(uuid, 'schedule:password-rotation') },
    { name: 'renew the certificate', start: (c, uuid) => c.renewCertificate(uuid, 'schedule:certificate-renewal') },
    // Firmware generation: every step listed for a legacy (AMT 5.2, EOI) device applies to it and is taken.
    {
      name: 'provision out of band, legacy firmware (AMT 5.2, EOI)',
      start: (c, uuid) => c.provision(uuid, 'out-of-band', 'hello'),
      activities: legacy,
    },
    { name: 'update, legacy firmware', start: (c, uuid) => c.update(uuid, 'alice'), activities: legacy },
    { name: 'remove full, legacy firmware', start: (c, uuid) => c.remove(uuid, 'full', 'alice'), activities: legacy },
  ];

  it.each(flows)(
    '$name: every listed step succeeded or was skipped with a reason; history says the same',
    async (flow) => {
      const fake = fakeLifecycleActivities(flow.script);
      const taskQueue = uniqueQueue('truth');
      const worker = await createTestWorker(env, {
        taskQueue,
        activities: { ...fake.activities, ...flow.activities },
      });
      const commands = operatorCommands(env.client, { taskQueue });
      const uuid = newDeviceUuid();
      const handle = env.client.workflow.getHandle(deviceWorkflowId(uuid));
      await worker.runUntil(async () => {
        await flow.start(commands, uuid);
        if (flow.skip) {
          await waitFor(
            `the run to park at ${flow.skip}`,
            async () => (await handle.query(progressQuery)).awaiting?.step === flow.skip,
            30_000,
            100,
          );
          await commands.decide(uuid, 'skip', 'alice', { step: flow.skip, reason: 'no power policy on this board' });
        }
        await handle.result();
        const live = await handle.query(progressQuery);
        expectAllDone(live);
        if (flow.skip) {
          expect(live.steps.find((s) => s.id === flow.skip)).toMatchObject({
            status: 'skipped',
            reason: 'skipped by alice: no power policy on this board',
          });
          expect(formatProgress(live)).toContain('(skipped by alice: no power policy on this board)');
        }
        expect(await fromHistory(handle)).toEqual({ ...live, source: 'history' });
      });
      // No worker any more: the CLI's and API's progress still answers, from the history.
      const after = await commands.progress(uuid);
      expect(after.source).toBe('history');
      expectAllDone(after);
    },
  );

  it.each(['out-of-band', 'in-band'] as const)(
    'rename %s: REN2 says it waits for rename-complete and what to send; it and the provisioning run it continues into complete every step',
    async (mode) => {
      const fake = fakeLifecycleActivities();
      // REN2 sees the rename once an operator confirmed it.
      const checkRenameComplete: LifecycleActivities['checkRenameComplete'] = async (input) => ({
        complete: input.confirmedBy !== undefined,
      });
      const taskQueue = uniqueQueue('truth-rename');
      const worker = await createTestWorker(env, {
        taskQueue,
        activities: { ...fake.activities, checkRenameComplete },
      });
      const commands = operatorCommands(env.client, { taskQueue });
      const uuid = newDeviceUuid();
      const target = { hostName: 'amt-0001-new', domain: 'corp.example.test' };
      await worker.runUntil(async () => {
        await commands.rename(uuid, { ...target, mode }, 'alice');
        const handle = env.client.workflow.getHandle(deviceWorkflowId(uuid));
        const firstExecutionRunId = (await handle.describe()).runId;
        let waiting: Progress | undefined;
        await waitFor(
          'the rename to wait for the operator',
          async () => {
            waiting = await handle.query(progressQuery);
            return waiting.state === 'waiting-for-signal';
          },
          30_000,
          50,
        );
        const progress = waiting as Progress;
        expect(progress.waiting).toMatchObject({ step: 'REN2', signal: 'rename-completed' });
        expect(progress.waiting?.message).toMatch(/^waiting for rename-complete: /);
        expect(progress.waiting?.message).toContain(
          `amtflow rename-complete ${uuid} --host-name amt-0001-new --domain corp.example.test`,
        );
        expect(progress.steps.find((s) => s.id === 'REN2')?.status).toBe('waiting');
        expect(formatProgress(progress)).toContain('REN2 waiting for rename-complete: ');

        await handle.signal(renameCompletedSignal, { ...target, operator: 'alice' });
        const renameRun = env.client.workflow.getHandle(deviceWorkflowId(uuid), firstExecutionRunId);
        await waitFor(
          'the rename run to continue as the provisioning run',
          async () => (await renameRun.describe()).status.name !== 'RUNNING',
          30_000,
          100,
        );
        const done = await renameRun.query(progressQuery);
        expectAllDone(done);
        expect(done.waiting).toBeUndefined();
        expect(await fromHistory(renameRun)).toEqual({ ...done, source: 'history' });
        await handle.result();
        // The provisioning run the rename continued into, in the rename's mode.
        const provisioned = await handle.query(progressQuery);
        expect(provisioned.operation).toBe('provision');
        expect(provisioned.steps.map((step) => step.id)).toEqual(provisionSteps(mode).map((step) => step.id));
        expectAllDone(provisioned);
        expect(await fromHistory(handle)).toEqual({ ...provisioned, source: 'history' });
      });
    },
  );

  it('update: UPD4 waits for apply or skip, and with no worker the history says the same; the answer completes it', async () => {
    const fake = fakeLifecycleActivities();
    const checkWiredIeee8021xUpdate: LifecycleActivities['checkWiredIeee8021xUpdate'] = async () => ({
      hostState: 'off',
      warning: 'the host is off, so its operating system is not running',
    });
    const taskQueue = uniqueQueue('truth-upd4');
    const activities = { ...fake.activities, checkWiredIeee8021xUpdate };
    const commands = operatorCommands(env.client, { taskQueue });
    const uuid = newDeviceUuid();
    const handle = env.client.workflow.getHandle(deviceWorkflowId(uuid));
    let waiting: Progress | undefined;
    await (
      await createTestWorker(env, { taskQueue, activities })
    ).runUntil(async () => {
      await commands.update(uuid, 'alice');
      await waitFor(
        'the update to wait at UPD4',
        async () => {
          waiting = await handle.query(progressQuery);
          return waiting.state === 'waiting-for-signal';
        },
        30_000,
        50,
      );
    });
    expect(waiting?.waiting).toMatchObject({ step: 'UPD4', message: expect.stringContaining('amtflow wired-8021x') });
    // No worker: the chaos suite and the CLI read this from the history, and must see a run at rest.
    const unanswered = await commands.progress(uuid);
    expect(unanswered).toEqual({ ...waiting, source: 'history' });

    await (
      await createTestWorker(env, { taskQueue, activities })
    ).runUntil(async () => {
      await handle.executeUpdate(wiredIeee8021xDecisionUpdate, { args: [{ apply: false, operator: 'bob' }] });
      await handle.result();
      const done = await handle.query(progressQuery);
      expectAllDone(done);
      expect(await fromHistory(handle)).toEqual({ ...done, source: 'history' });
    });
  });

  it.each([
    { activity: 'commitSetup', failures: 3, step: 'OOB8.6', allowed: ['retry', 'abort'] },
    {
      activity: 'resolveAccountSids',
      failures: 5,
      step: 'I8',
      allowed: ['retry', 'abort'],
    },
  ] as const)(
    'a run parked at $step with no worker running: progress comes from the history, awaiting the same decision',
    async ({ activity, failures, step, allowed }) => {
      const fake = fakeLifecycleActivities({ [activity]: Array.from({ length: failures }, () => 'fail' as const) });
      const taskQueue = uniqueQueue('truth-parked');
      const worker = await createTestWorker(env, { taskQueue, activities: fake.activities });
      const commands = operatorCommands(env.client, { taskQueue });
      const uuid = newDeviceUuid();
      let parked: Progress | undefined;
      await worker.runUntil(async () => {
        await commands.provision(uuid, 'out-of-band', 'alice');
        await waitFor(
          'the run to park',
          async () => {
            parked = await commands.progress(uuid);
            return parked.awaiting !== undefined;
          },
          30_000,
          100,
        );
      });
      expect(parked?.source).toBe('query');
      const unanswered = await commands.progress(uuid);
      expect(unanswered).toEqual({ ...parked, source: 'history' });
      expect(unanswered.awaiting).toMatchObject({ step, allowed });
      expect(unanswered.steps.find((s) => s.id === step)).toMatchObject({
        status: 'awaiting-operator',
        attempts: failures,
      });
      expect(formatProgress(unanswered)).toContain("(read from the run's history)");
      await env.client.workflow.getHandle(deviceWorkflowId(uuid)).terminate('test over');
    },
  );

  it("a step retrying below its own limit: history reads it with its flow's limit (I8 is also rotation's step, with 3)", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const fake = fakeLifecycleActivities({ resolveAccountSids: ['fail', 'fail', 'fail', { until: held }] });
    const taskQueue = uniqueQueue('truth-i8');
    const worker = await createTestWorker(env, { taskQueue, activities: fake.activities });
    const commands = operatorCommands(env.client, { taskQueue });
    const uuid = newDeviceUuid();
    const handle = env.client.workflow.getHandle(deviceWorkflowId(uuid));
    await worker.runUntil(async () => {
      await commands.provision(uuid, 'out-of-band', 'alice');
      let live: Progress | undefined;
      // The fourth attempt is held: three failures are in the history, the run still retries.
      await waitFor(
        'the fourth attempt of I8',
        async () => {
          live = await handle.query(progressQuery);
          return (
            live.steps.find((s) => s.id === 'I8')?.attempts === 3 &&
            live.steps.find((s) => s.id === 'I8')?.status === 'running'
          );
        },
        30_000,
        100,
      );
      expect(live).toMatchObject({ state: 'running', stage: 'stage-two' });
      expect(await fromHistory(handle)).toEqual({ ...live, source: 'history' });
      release();
      await handle.result();
    });
  });

  it.each([
    ['update-before-i7-upd4.json', ['I7', 'UPD4']],
    ['provision-in-band-before-i5.json', ['I5']],
    ['remove-full-before-i5.json', ['I5.leave']],
    ['remove-partial-before-i5.json', ['I5.leave']],
  ])('%s: a run from before a patch does not list the steps it never took', async (file, added) => {
    const FIXTURES = path.resolve(__dirname, '../../fixtures/histories');
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')));
    const progress = await progressFromHistory(env.client.options.loadedDataConverter, history.events ?? []);
    expectAllDone(progress);
    for (const id of added) expect(progress.steps.map((s) => s.id)).not.toContain(id);
  });

  it('a run parked before a patch, replayed by code with it, does not list the added step; a new run takes it', async () => {
    const bundle = (name: string) =>
      bundleWorkflowCode({
        workflowsPath: path.resolve(__dirname, `../../support/patch-probe-${name}.ts`),
        failureConverterPath: FAILURE_CONVERTER_PATH,
      });
    const [before, after] = await Promise.all([bundle('before'), bundle('after')]);
    const taskQueue = uniqueQueue('truth-patch');
    // T2 fails once: the run parks there, past the point where the new code takes the patch.
    const writes: Array<'fail' | 'ok'> = ['fail'];
    const activities: PatchProbeActivities = {
      check: async () => 'checked',
      extra: async () => 'extra',
      write: async () => {
        if (writes.shift() === 'fail') throw new Error('write failed');
        return 'written';
      },
      recordAudit: async () => '1',
    };
    const worker = (workflowBundle: typeof before) =>
      Worker.create({
        connection: env.nativeConnection,
        namespace: env.namespace,
        taskQueue,
        workflowBundle,
        dataConverter: testDataConverter,
        activities,
      });
    const uuid = newDeviceUuid();
    const handle = env.client.workflow.getHandle(`probe-${uuid}`);
    const parkedAtT2 = async () => (await handle.query(progressQuery)).awaiting?.step === 'T2';

    await (
      await worker(before)
    ).runUntil(async () => {
      await env.client.workflow.start('patchProbe', { taskQueue, workflowId: handle.workflowId, args: [uuid] });
      await waitFor('the run to park at T2', parkedAtT2, 30_000, 100);
    });
    // The upgrade: a worker with the patched code replays the run's history to answer.
    await (
      await worker(after)
    ).runUntil(async () => {
      const parked = await handle.query(progressQuery);
      expect(parked.steps.map((s) => [s.id, s.status])).toEqual([
        ['T1', 'succeeded'],
        ['T2', 'awaiting-operator'],
      ]);
      await handle.executeUpdate(operatorDecisionUpdate, {
        args: [{ action: 'retry', operator: 'alice', step: 'T2' }],
      });
      await handle.result();
      const done = await handle.query(progressQuery);
      expect(done.steps.map((s) => s.id)).toEqual(['T1', 'T2', 'P7']);
      expect(done.state).toBe('completed');

      // A run started under the new code takes the patch: T3 is listed, and done.
      const fresh = newDeviceUuid();
      const started = await env.client.workflow.start('patchProbe', {
        taskQueue,
        workflowId: `probe-${fresh}`,
        args: [fresh],
      });
      await started.result();
      expect((await started.query(progressQuery)).steps.map((s) => [s.id, s.status])).toEqual([
        ['T1', 'succeeded'],
        ['T3', 'succeeded'],
        ['T2', 'succeeded'],
      ]);
    });
  });
});
