/**
 * A workflow that exercises StepRunner alone, bundled only for the runner's tests. Its activities
 * are supplied by each test, so a test decides exactly when a step fails.
 */
import { proxyActivities } from '@temporalio/workflow';
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

interface ProbeActivities {
  check(): Promise<string>;
  write(): Promise<string>;
  extra(): Promise<string>;
  undoWrite(): Promise<void>;
  recordAudit(entry: unknown): Promise<string>;
}

const { undoWrite } = proxyActivities<ProbeActivities>({ startToCloseTimeout: '5 seconds' });

export async function runnerProbe(deviceUuid: string): Promise<string[]> {
  const runner = new StepRunner<ProbeActivities>({
    operation: 'probe',
    deviceUuid,
    steps: Object.values(PROBE_STEPS),
    timing: { initialInterval: '50 milliseconds', maximumInterval: '100 milliseconds' },
  });
  return runner.withCompensation(async () => {
    const done: string[] = [];
    await runner.run(PROBE_STEPS.check);
    runner.onAbort(PROBE_STEPS.write, () => undoWrite());
    done.push((await runner.run(PROBE_STEPS.write)) ?? 'write skipped');
    done.push((await runner.run(PROBE_STEPS.extra)) ?? 'extra skipped');
    return done;
  });
}
