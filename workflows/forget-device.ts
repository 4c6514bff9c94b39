import type { DeviceUuid, ForgetReason } from '../activities/contract';
import { FORGET, FORGET_STEPS, VALIDATE } from './catalogue';
import { idempotencyKey, lifecycleRunner, markDevice } from './lifecycle';
import { workflowInfo } from '@temporalio/workflow';

export interface ForgetInput {
  deviceUuid: DeviceUuid;
  /** Why the device is gone; `stolen` and `lost` revoke its certificates as key compromise. */
  reason: ForgetReason;
  /** The operator's words (a ticket, a serial number); never a secret. */
  note?: string;
  requestedBy: string;
}

export interface ForgetResult {
  deviceUuid: DeviceUuid;
  fqdn: string;
  /** Serials revoked by this run. */
  revoked: string[];
  /** Whether the directory held the AMT account (and its SPNs) this run deleted. */
  directoryObjectDeleted: boolean;
}

/**
 * Forgets a device that is gone — scrapped, stolen, lost, or its board replaced — without touching
 * its firmware (issue 11 §2): the operator's only way out when the removal flow (DEP1) cannot reach
 * the device. Under the device's one workflow id like every lifecycle run, so it is refused while
 * another run is in flight and nothing starts for the device while it runs.
 *
 * The one exception to law 9 (nothing that can hurt a working device before it is reached and
 * identified): the operator states the device is gone, and the request is authorized and audited.
 * In order — each step idempotent, so a crash or a retry at any point carries on:
 * 1. OOB2: the device is known;
 * 2. DEP2.1: every certificate issued for it revoked — `keyCompromise` when stolen or lost (its
 *    private key is in someone else's hands), `cessationOfOperation` otherwise — and the CRL
 *    published, so a relying party stops trusting a device that may turn up elsewhere;
 * 3. DEP2.2: its SPNs and AMT directory object deleted, so its Kerberos key opens nothing;
 * 4. the device, its sealed credentials, certificate keys, contact and trust records removed from the
 *    site database in one transaction, with the audit entry (lib/store/forgotten.ts says what stays).
 * No result row is recorded: the device's results are among what is removed.
 */
export async function forgetDevice(input: ForgetInput): Promise<ForgetResult> {
  const { deviceUuid } = input;
  const runner = lifecycleRunner('forget', deviceUuid, FORGET_STEPS);
  return runner.withCompensation(async () => {
    const device = await runner.run(VALIDATE.imported, { deviceUuid, mode: 'out-of-band' });
    markDevice(device.fqdn, device.collection);
    const compromised = input.reason === 'stolen' || input.reason === 'lost';
    const { revoked } = await runner.run(FORGET.revoke, {
      deviceUuid,
      reason: compromised ? 'keyCompromise' : 'cessationOfOperation',
      templates: ['amt-web-server', 'ieee8021x-client'],
    });
    const { deleted } = await runner.run(FORGET.account, { deviceUuid });
    await runner.run(FORGET.records, {
      deviceUuid,
      reason: input.reason,
      ...(input.note ? { note: input.note } : {}),
      requestedBy: input.requestedBy,
      workflowId: workflowInfo().workflowId,
      idempotencyKey: idempotencyKey(FORGET.records.id),
    });
    return { deviceUuid, fqdn: device.fqdn, revoked, directoryObjectDeleted: deleted };
  });
}
