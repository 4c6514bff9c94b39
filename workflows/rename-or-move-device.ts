import { makeContinueAsNewFunc, setHandler } from '@temporalio/workflow';
import type { DeviceUuid, ProvisioningMode } from '../activities/contract';
import { RENAME, RENAME_POLL, RENAME_STEPS, renameWait } from './catalogue';
import { lifecycleRunner } from './lifecycle';
import { PATCHES } from './names';
import { renameCompletedSignal } from './messages';
import type { provisionDevice } from './provision-device';
import { removeSteps } from './remove-provisioning';

export interface RenameInput {
  deviceUuid: DeviceUuid;
  /** The computer's name and domain after the rename or domain move. */
  hostName: string;
  domain: string;
  /** How the device provisions again afterwards. */
  mode: ProvisioningMode;
  requestedBy: string;
}

/**
 * REN1–REN3: the new name and domain checked against the directory (P4), full removal with automatic provisioning disabled, wait until the rename or move is
 * complete (signalled by an operator or seen in the directory), re-enable automatic provisioning,
 * then provision again — as the same device's next run (continue-as-new keeps its workflow id).
 */
export async function renameOrMoveDevice(input: RenameInput): Promise<never> {
  const { deviceUuid } = input;
  let confirmedBy: string | undefined;
  setHandler(renameCompletedSignal, ({ operator }) => {
    confirmedBy = operator;
  });
  const runner = lifecycleRunner('rename_or_move', deviceUuid, RENAME_STEPS);

  await runner.withCompensation(async () => {
    // REN1 removes everything: a name or domain provisioning would refuse (P4) is refused first,
    // while the device is still provisioned, instead of after its removal. Patched: a run that
    // started before this check existed replays without it.
    if (runner.takesPatch(PATCHES.renameCheck)) {
      await runner.run(RENAME.target, {
        deviceUuid,
        fqdn: `${input.hostName}.${input.domain}`,
        domain: input.domain,
        renamed: true,
      });
    }
    await runner.run(RENAME.disable, { deviceUuid, enabled: false, by: input.requestedBy });
    await removeSteps(runner, deviceUuid, 'full', 'rename_or_move');
    // REN2: re-provisioning must wait until the change is complete.
    for (;;) {
      const check = await runner.run(RENAME.wait, {
        deviceUuid,
        hostName: input.hostName,
        domain: input.domain,
        confirmedBy,
      });
      if (check.complete) break;
      await runner.waitForSignal(RENAME.wait, renameWait(input), () => confirmedBy !== undefined, RENAME_POLL);
    }
    await runner.run(RENAME.enable, { deviceUuid, enabled: true, by: input.requestedBy });
  });

  const provisionAgain = makeContinueAsNewFunc<typeof provisionDevice>({ workflowType: 'provisionDevice' });
  return provisionAgain({ deviceUuid, mode: input.mode, requestedBy: input.requestedBy });
}
