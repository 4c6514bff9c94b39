/**
 * A workflow that exercises StepRunner alone, bundled only for the runner's tests (with the
 * test-only fast timers). Its activities are supplied by each test, so a test decides exactly when
 * a step fails.
 */
import { StepRunner, type StepDefinition } from '../../workflows/step-runner';

export const PROBE_STEPS = {
  check: {
    id: 'T1',
    title: 'check input',
    stage: 'validate',
    activity: 'check',
    retry: 'validation',
    timeout: '5 seconds',
    attempts: 1,
  },
  write: {
    id: 'T2',
    title: 'write something',
    stage: 'work',
    activity: 'write',
    retry: 'idempotent',
    timeout: '5 seconds',
    attempts: 2,
  },
  extra: {
    id: 'T3',
    title: 'optional extra',
    stage: 'work',
    activity: 'extra',
    retry: 'idempotent',
    timeout: '5 seconds',
    attempts: 1,
    skippable: true,
  },
} as const satisfies Record<string, StepDefinition>;

const UNDO_WRITE = {
  id: 'T2.undo',
  title: 'undo the write',
  stage: 'compensate',
  activity: 'undoWrite',
  retry: 'idempotent',
  timeout: '5 seconds',
  attempts: 1,
} as const satisfies StepDefinition;

const AUDIT = {
  id: 'P7',
  title: "record the operator's decision",
  stage: 'operator',
  activity: 'recordAudit',
  retry: 'idempotent',
  timeout: '5 seconds',
  attempts: 1,
} as const satisfies StepDefinition;

interface ProbeActivities {
  check(): Promise<string>;
  write(): Promise<string>;
  extra(): Promise<string>;
  undoWrite(): Promise<string>;
  recordAudit(entry: unknown): Promise<string>;
}

export async function runnerProbe(deviceUuid: string): Promise<string[]> {
  const runner = new StepRunner<ProbeActivities>({
    operation: 'probe',
    deviceUuid,
    steps: Object.values(PROBE_STEPS),
    audit: AUDIT,
  });
  return runner.withCompensation(async () => {
    const done: string[] = [];
    await runner.run(PROBE_STEPS.check);
    runner.onAbort(PROBE_STEPS.write, UNDO_WRITE);
    done.push(await runner.run(PROBE_STEPS.write));
    done.push((await runner.run(PROBE_STEPS.extra)) ?? 'extra skipped');
    return done;
  });
}

/**
 * A step long enough for a cancellation to reach it while it reads. As a local activity (how the
 * runner runs a step) the cancellation reaches the attempt through its worker once the workflow
 * sees it, at the latest at the next workflow task heartbeat (8 s); as an activity (`asActivity`: a
 * `checkpoint`, as P7 and OOB8.6 run) through the attempt's heartbeat, sent every third of the
 * runner's heartbeat timeout. A shorter step would end at its own deadline first.
 */
export const SLOW_STEP = {
  id: 'T4',
  title: 'read for a long time',
  stage: 'work',
  activity: 'slow',
  retry: 'idempotent',
  timeout: '2 minutes',
  attempts: 1,
} as const satisfies StepDefinition;

export async function runnerSlowProbe(deviceUuid: string, asActivity = false): Promise<string> {
  const step = asActivity ? { ...SLOW_STEP, checkpoint: true as const } : SLOW_STEP;
  const runner = new StepRunner<{ slow(): Promise<string>; recordAudit(entry: unknown): Promise<string> }>({
    operation: 'probe',
    deviceUuid,
    steps: [step],
    audit: AUDIT,
  });
  return runner.withCompensation(() => runner.run(step));
}
