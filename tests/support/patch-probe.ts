/**
 * A flow that gained a step behind `patched()`, as an upgrade sees it (workflows/names.ts PATCHES):
 * patch-probe-before.ts is the code a run started under, patch-probe-after.ts the code it replays
 * under after the upgrade. Each is bundled on its own for tests/integration/workflows/progress-truth.
 */
import { StepRunner, type StepDefinition } from '../../workflows/step-runner';

export const PROBE_PATCH = 'probe-adds-T3';

type ProbeActivity = keyof PatchProbeActivities & string;

const probeStep = <A extends ProbeActivity>(
  id: string,
  activity: A,
  extra: Pick<StepDefinition, 'patch'> = {},
): StepDefinition<A> => ({
  id,
  title: `${activity} something`,
  stage: 'work',
  activity,
  retry: 'idempotent',
  timeout: '5 seconds',
  attempts: 1,
  ...extra,
});

export const PATCH_PROBE_STEPS = {
  first: probeStep('T1', 'check'),
  added: probeStep('T3', 'extra', { patch: PROBE_PATCH }),
  last: probeStep('T2', 'write'),
} as const;

const AUDIT = { ...probeStep('P7', 'recordAudit'), stage: 'operator' };

export interface PatchProbeActivities {
  check(): Promise<string>;
  extra(): Promise<string>;
  write(): Promise<string>;
  recordAudit(entry: unknown): Promise<string>;
}

/** T1, then T3 if the code has it and the run takes its patch, then T2. */
export async function patchProbeFlow(deviceUuid: string, codeHasPatch: boolean): Promise<void> {
  const runner = new StepRunner<PatchProbeActivities>({
    operation: 'probe',
    deviceUuid,
    steps: Object.values(PATCH_PROBE_STEPS),
    audit: AUDIT,
  });
  await runner.withCompensation(async () => {
    await runner.run(PATCH_PROBE_STEPS.first);
    if (codeHasPatch && runner.takesPatch(PROBE_PATCH)) await runner.run(PATCH_PROBE_STEPS.added);
    await runner.run(PATCH_PROBE_STEPS.last);
  });
}
