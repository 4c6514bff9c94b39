import { log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { DeviceSession, DeviceUuid } from '../activities/contract';
import { AUDIT, STAGE_TWO, UPDATE, UPDATE_STEPS, VALIDATE, wiredIeee8021xWait } from './catalogue';
import {
  applySecondStage,
  idempotencyKey,
  lifecycleRunner,
  markDevice,
  recordSuccess,
  type LifecycleRunner,
} from './lifecycle';
import { wiredIeee8021xDecisionSignal, wiredIeee8021xDecisionUpdate, type WiredIeee8021xDecision } from './messages';
import { PATCHES } from './names';

export interface UpdateInput {
  deviceUuid: DeviceUuid;
  requestedBy: string;
}

/**
 * UPD1–UPD4: re-apply the current settings to a provisioned device, refresh its directory object
 * and SPNs, and renew its 802.1X client certificates. The web-server certificate is kept (UPD3).
 */
export async function updateManagementController(input: UpdateInput): Promise<{ deviceUuid: DeviceUuid }> {
  const { deviceUuid } = input;
  const runner = lifecycleRunner('update', deviceUuid, UPDATE_STEPS);

  return runner.withCompensation(async () => {
    const device = await runner.run(VALIDATE.imported, { deviceUuid, mode: 'out-of-band' });
    markDevice(device.fqdn, device.collection);
    const { protocol, endpoint } = await runner.run(VALIDATE.version, { deviceUuid });

    // UPD1 first (issue 9): the device is reached over TLS pinned to amtflow's CA, its FQDN and a
    // certificate not revoked, logged into and identified before the directory or the CA change.
    const reached: DeviceSession = { deviceUuid, tls: 'managed', protocol, endpoint };
    const login = await runner.run(UPDATE.login, { session: reached });
    const session = { ...reached, credentialRef: login.credentialRef };
    // I7 before Kerberos is re-applied (OOB9.3a): a drifted clock breaks Kerberos logins. Runs that
    // started before this step existed replay without it.
    if (runner.takesPatch(PATCHES.updateClock)) await runner.run(UPDATE.clock, { session });

    await runner.run(UPDATE.publish, { deviceUuid, idempotencyKey: idempotencyKey(UPDATE.publish.id) });
    await runner.run(UPDATE.spns, { deviceUuid });
    await applySecondStage(runner, session, {
      update: true,
      ...(runner.takesPatch(PATCHES.updateWiredWarning)
        ? { skipWired: (managed) => askBeforeWired(runner, managed) }
        : {}),
    });
    // UPD3 once the firmware holds the new 802.1X certificates: those issued before this run go.
    await runner.run(UPDATE.revoke, {
      deviceUuid,
      reason: 'superseded',
      templates: ['ieee8021x-client'],
      exceptRequestIds: [idempotencyKey(STAGE_TWO.network.id)],
    });
    await recordSuccess(runner, {
      deviceUuid,
      operation: 'update',
      stageReached: 'stage-two',
      summary: `settings re-applied to ${device.fqdn}`,
    });
    return { deviceUuid };
  });
}

/**
 * UPD4: when OOB9.4 would re-apply 802.1X wired settings to a device whose OS is not running, the
 * run shows the warning and waits for the operator to apply or skip them; the answer is audited (P7).
 * Resolves with true when the wired settings are to be skipped.
 */
async function askBeforeWired(runner: LifecycleRunner, session: DeviceSession): Promise<boolean> {
  let answer: WiredIeee8021xDecision | undefined;
  let asking = false;
  // Refusals name what is wrong; the update's validator sends them to the caller, the signal's to the log.
  const refusal = (decision: WiredIeee8021xDecision): string | undefined => {
    if (!asking || answer !== undefined) return 'the run is not waiting for a wired 802.1X decision';
    if (typeof decision?.apply !== 'boolean') return '"apply" must be true or false';
    if (typeof decision.operator !== 'string' || !decision.operator) return 'a decision names the operator who made it';
    return undefined;
  };
  setHandler(
    wiredIeee8021xDecisionUpdate,
    (decision) => {
      answer = decision;
    },
    {
      validator: (decision) => {
        const refused = refusal(decision);
        if (refused) throw new Error(refused);
      },
    },
  );
  setHandler(wiredIeee8021xDecisionSignal, (decision) => {
    const refused = refusal(decision);
    if (refused) log.warn(`wired 802.1X decision ignored: ${refused}`, { deviceUuid: session.deviceUuid });
    else answer = decision;
  });
  const check = await runner.run(UPDATE.wired, { session });
  if (!check.warning) return false;
  asking = true;
  await runner.waitForSignal(
    UPDATE.wired,
    wiredIeee8021xWait(session.deviceUuid, check.warning),
    () => answer !== undefined,
  );
  const decision = answer as WiredIeee8021xDecision;
  await runner.run(AUDIT.decision, {
    actor: decision.operator,
    action: `update.wired-8021x.${decision.apply ? 'apply' : 'skip'}`,
    target: session.deviceUuid,
    outcome: 'success',
    details: {
      step: UPDATE.wired.id,
      hostState: check.hostState,
      reason: decision.reason ?? null,
      workflowId: workflowInfo().workflowId,
    },
  });
  return !decision.apply;
}
