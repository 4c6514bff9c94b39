import type { Duration } from '@temporalio/common';
import { condition, makeContinueAsNewFunc, setHandler } from '@temporalio/workflow';
import type { LifecycleActivities, ProvisioningMode } from '../activities/contract';
import { RENAME } from './catalogue';
import { markOperation, required } from './lifecycle';
import { renameCompletedSignal } from './messages';
import type { provisionDevice } from './provision-device';
import { REMOVAL_STEPS, removeSteps } from './remove-provisioning';
import { StepRunner, type RetryTiming } from './step-runner';

export interface RenameInput {
  deviceUuid: string;
  /** The computer's name and domain after the rename or domain move. */
  hostName: string;
  domain: string;
  /** How the device provisions again afterwards. */
  mode: ProvisioningMode;
  requestedBy: string;
  /** How often the directory is checked for the completed rename (REN2). */
  pollEvery?: Duration;
  timing?: RetryTiming;
}

/**
 * REN1–REN3: full removal with automatic provisioning disabled, wait until the rename or move is
 * complete (signalled by an operator or seen in the directory), re-enable automatic provisioning,
 * then provision again — as the same device's next run (continue-as-new keeps its workflow id).
 */
export async function renameOrMoveDevice(input: RenameInput): Promise<never> {
  const { deviceUuid } = input;
  markOperation('rename', deviceUuid);
  let confirmedBy: string | undefined;
  setHandler(renameCompletedSignal, ({ operator }) => {
    confirmedBy = operator;
  });
  const runner = new StepRunner<LifecycleActivities>({
    operation: 'rename',
    deviceUuid,
    steps: [...REMOVAL_STEPS, ...Object.values(RENAME)],
    timing: input.timing,
  });

  await runner.withCompensation(async () => {
    await runner.run(RENAME.disable, { deviceUuid, enabled: false, by: input.requestedBy });
    await removeSteps(runner, deviceUuid, 'full', 'rename');
    // REN2: re-provisioning must wait until the change is complete.
    for (;;) {
      const check = required(
        await runner.run(RENAME.wait, { deviceUuid, hostName: input.hostName, domain: input.domain, confirmedBy }),
        RENAME.wait.id,
      );
      if (check.complete) break;
      await condition(() => confirmedBy !== undefined, input.pollEvery ?? '5 minutes');
    }
    await runner.run(RENAME.enable, { deviceUuid, enabled: true, by: input.requestedBy });
  });

  const provisionAgain = makeContinueAsNewFunc<typeof provisionDevice>({ workflowType: 'provisionDevice' });
  return provisionAgain({ deviceUuid, mode: input.mode, requestedBy: input.requestedBy, timing: input.timing });
}
