import { CancellationScope, log, workflowInfo } from '@temporalio/workflow';
import type { DeviceSession, DeviceUuid, ProvisioningMode } from '../activities/contract';
import type { ProvisioningState } from '../lib/store/vocabulary';
import { CONNECT, INFRASTRUCTURE, STAGE_ONE, STAGE_TWO, UNDO, VALIDATE, provisionSteps } from './catalogue';
import {
  applySecondStage,
  idempotencyKey,
  lifecycleRunner,
  markDevice,
  recordSuccess,
  type LifecycleRunner,
} from './lifecycle';
import { PATCHES } from './names';
import { OperatorAbort } from './step-runner';

export interface ProvisionDeviceInput {
  deviceUuid: DeviceUuid;
  /** `out-of-band`: started by the device's hello (OOB1–OOB10); `in-band`: by the agent's OTP report (IB1–IB11). */
  mode: ProvisioningMode;
  requestedBy: string;
  /**
   * The provisioning states a collection action selected the device in (the automatic-provisioning
   * sweep: `unprovisioned`). The action lists a batch before it starts the batch's runs, and a run
   * started by the device's hello may end in between: OOB2 then refuses the device, whose state is
   * no longer one of these (PROVISIONING_STATE_CHANGED), before anything is sent to it.
   */
  selectedAs?: ProvisioningState[];
}

export interface ProvisionDeviceResult {
  deviceUuid: DeviceUuid;
  fqdn: string;
  amtVersion: string;
  certificateSerial: string;
  /** Which stored credential the device now accepts (a reference, never the password). */
  credentialRef: string;
}

/**
 * Whether the firmware reports post-provisioning, read over the run's pinned session (which also
 * accepts this run's certificate, the one a committed firmware serves). An operator who aborts this
 * read too leaves amtflow unable to tell: the run undoes its work, as before the read existed.
 */
async function firmwareCommitted(runner: LifecycleRunner, session: DeviceSession): Promise<boolean> {
  try {
    const { provisioningState } = await runner.runOnDemand(UNDO.commitRead, { session });
    return provisioningState === 'post';
  } catch (err) {
    if (err instanceof OperatorAbort) return false;
    throw err;
  }
}

/** Provision one device, out of band or in band, from validation to the site database's record. */
export async function provisionDevice(input: ProvisionDeviceInput): Promise<ProvisionDeviceResult> {
  const { deviceUuid, mode } = input;
  const runner = lifecycleRunner('provision', deviceUuid, provisionSteps(mode));

  return runner.withCompensation(async () => {
    // P, OOB2, OOB3 / IB9: checks that change nothing; each failure ends the run with its typed error.
    // P2 also fixes the address of the whole run: a later hello from elsewhere is never dialled.
    const device = await runner.run(mode === 'in-band' ? VALIDATE.registered : VALIDATE.imported, {
      deviceUuid,
      mode,
      ...(input.selectedAs ? { selectedAs: input.selectedAs } : {}),
    });
    markDevice(device.fqdn, device.collection);
    const { amtVersion, protocol, endpoint } = await runner.run(VALIDATE.version, { deviceUuid });
    await runner.run(VALIDATE.directory, { deviceUuid, fqdn: device.fqdn, domain: device.domain });
    const { rootThumbprint: provisioningRoot } = await runner.run(VALIDATE.rootHash, { deviceUuid });

    // OOB3–OOB6 (IB8): reach and identify the device before anything changes (issue 9). The
    // certificate it presents is pinned for every later provisioning-TLS call of this run, and the
    // login reads its platform UUID back (DEVICE_IDENTITY_MISMATCH otherwise).
    const { serverCertificateSha256 } = await runner.run(CONNECT.tls, {
      deviceUuid,
      protocol,
      endpoint,
      provisioningRoot,
    });
    const reached = {
      deviceUuid,
      tls: 'provisioning' as const,
      protocol,
      endpoint,
      certificateSha256: serverCertificateSha256,
      provisioningRoot,
    };
    const login = await runner.run(CONNECT.login, { session: reached });
    let session: DeviceSession = { ...reached, credentialRef: login.credentialRef };
    if (mode === 'in-band') await runner.run(CONNECT.otp, { session });

    // I2: this run's certificate. Its undo is known before it runs, and revokes only what this
    // request issued: certificates issued before the run are left as they are until commit.
    const certificateRequest = idempotencyKey(CONNECT.certificate.id);
    runner.onAbort(CONNECT.certificate, UNDO.revoke, {
      deviceUuid,
      reason: 'cessationOfOperation',
      templates: ['amt-web-server'],
      requestIds: [certificateRequest],
    });
    const certificate = await runner.run(CONNECT.certificate, {
      session,
      fqdn: device.fqdn,
      idempotencyKey: certificateRequest,
    });

    // OOB8: first stage (I6, I7).
    log.info('I9 first-stage provisioning started', { deviceUuid, fqdn: device.fqdn });
    await runner.run(STAGE_ONE.clock, { session });
    await runner.run(STAGE_ONE.hostName, { session, hostName: device.hostName, domain: device.domain });
    await runner.run(STAGE_ONE.tls, { session, serial: certificate.serial });
    const admin = await runner.run(STAGE_ONE.adminPassword, {
      session,
      idempotencyKey: idempotencyKey(STAGE_ONE.adminPassword.id),
    });
    session = { ...session, credentialRef: admin.credentialRef };
    await runner.run(STAGE_ONE.mebx, { session, idempotencyKey: idempotencyKey(STAGE_ONE.mebx.id) });
    // Once the firmware holds this run's certificate and password, an abort undoes nothing and
    // records the device as stage one left it (docs/architecture.md, abort matrix).
    const keep = {
      deviceUuid,
      operation: 'provision' as const,
      outcome: 'aborted' as const,
      stageReached: 'stage-one',
      workflowId: workflowInfo().workflowId,
      summary: `aborted after commit: ${device.fqdn} stays provisioned with certificate ${certificate.serial}; update the management controller to finish it`,
      idempotencyKey: idempotencyKey(`${UNDO.keep.id}/provision`),
    };
    try {
      await runner.run(STAGE_ONE.commit, { session });
    } catch (err) {
      // Aborted at OOB8.6: the commit may have taken effect though its answer was lost. Revoking
      // then would leave a provisioned device serving a revoked certificate, so the firmware is
      // read first (runs from before this replay without it and undo, as they did).
      if (
        err instanceof OperatorAbort &&
        runner.takesPatch(PATCHES.readCommitBeforeUndo) &&
        // Part of the abort, like the compensation it decides on: a cancellation must not cut it
        // short between the two, leaving an issued certificate and no record.
        (await CancellationScope.nonCancellable(() => firmwareCommitted(runner, session)))
      ) {
        runner.keepWorkDone(STAGE_ONE.commit, UNDO.keep, keep);
      }
      throw err;
    }
    log.info('I9 first-stage provisioning complete', { deviceUuid });
    runner.keepWorkDone(STAGE_ONE.commit, UNDO.keep, keep);

    // I1, I3, I4: infrastructure around the device, now that it holds the new certificate. I1
    // revokes the certificates issued before this run (superseded), never this run's own.
    const templates = ['amt-web-server' as const, 'ieee8021x-client' as const];
    await runner.run(INFRASTRUCTURE.revoke, {
      deviceUuid,
      reason: 'superseded',
      templates,
      exceptRequestIds: [certificateRequest],
    });
    await runner.run(INFRASTRUCTURE.publish, { deviceUuid, idempotencyKey: idempotencyKey(INFRASTRUCTURE.publish.id) });
    await runner.run(INFRASTRUCTURE.spns, { deviceUuid });
    // I5 (SP2+, in band only): the account joins the 802.1X and wireless groups the profile names.
    if (mode === 'in-band' && runner.takesPatch(PATCHES.securityGroups))
      await runner.run(INFRASTRUCTURE.groups, { deviceUuid });

    // OOB9: second stage (I8), now over the device's own TLS certificate.
    await applySecondStage(runner, { ...session, tls: 'managed' }, { login: STAGE_TWO.login, update: false });

    // OOB10 / IB11.
    await recordSuccess(runner, {
      deviceUuid,
      operation: 'provision',
      stageReached: 'stage-two',
      summary: `${mode} provisioning of ${device.fqdn} (AMT ${amtVersion})`,
    });
    return {
      deviceUuid,
      fqdn: device.fqdn,
      amtVersion,
      certificateSerial: certificate.serial,
      credentialRef: admin.credentialRef,
    };
  });
}
