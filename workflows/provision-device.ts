import { log } from '@temporalio/workflow';
import type { DeviceSession, LifecycleActivities, ProvisioningMode } from '../activities/contract';
import { CONNECT, INFRASTRUCTURE, REPORT, STAGE_ONE, STAGE_TWO, UNDO, VALIDATE } from './catalogue';
import { applySecondStage, idempotencyKey, markDevice, markOperation, recordSuccess, required } from './lifecycle';
import { StepRunner, type RetryTiming } from './step-runner';

export interface ProvisionDeviceInput {
  deviceUuid: string;
  /** `out-of-band`: started by the device's hello (OOB1–OOB10); `in-band`: by the agent's OTP report (IB1–IB11). */
  mode: ProvisioningMode;
  requestedBy: string;
  /** Retry timing; tests shorten it. */
  timing?: RetryTiming;
}

export interface ProvisionDeviceResult {
  deviceUuid: string;
  fqdn: string;
  amtVersion: string;
  certificateSerial: string;
  /** Which stored credential the device now accepts (a reference, never the password). */
  credentialRef: string;
}

const STEPS = [
  ...Object.values(VALIDATE),
  ...Object.values(INFRASTRUCTURE),
  ...Object.values(CONNECT),
  ...Object.values(STAGE_ONE),
  ...Object.values(STAGE_TWO),
  ...Object.values(REPORT),
  ...Object.values(UNDO),
];

/** Provision one device, out of band or in band, from validation to the site database's record. */
export async function provisionDevice(input: ProvisionDeviceInput): Promise<ProvisionDeviceResult> {
  const { deviceUuid, mode } = input;
  markOperation('provision', deviceUuid);
  const runner = new StepRunner<LifecycleActivities>({
    operation: 'provision',
    deviceUuid,
    steps: STEPS,
    timing: input.timing,
  });

  return runner.withCompensation(async () => {
    // P, OOB2, OOB3 / IB9: checks that change nothing; each failure ends the run with its typed error.
    const device = required(
      await runner.run(mode === 'in-band' ? VALIDATE.registered : VALIDATE.imported, { deviceUuid, mode }),
      VALIDATE.imported.id,
    );
    markDevice(device.fqdn, device.collection);
    const { amtVersion, protocol } = required(await runner.run(VALIDATE.version, { deviceUuid }), VALIDATE.version.id);
    await runner.run(VALIDATE.directory, { deviceUuid, fqdn: device.fqdn, domain: device.domain });
    await runner.run(VALIDATE.rootHash, { deviceUuid });

    // I1, I3, I4: infrastructure around the device. Undo actions are known before each step runs.
    runner.onAbort(INFRASTRUCTURE.revoke, async () => {
      await runner.run(UNDO.revoke, {
        deviceUuid,
        reason: 'cessationOfOperation',
        templates: ['amt-web-server', '8021x-client'],
      });
    });
    await runner.run(INFRASTRUCTURE.revoke, {
      deviceUuid,
      reason: 'superseded',
      templates: ['amt-web-server', '8021x-client'],
    });
    runner.onAbort(INFRASTRUCTURE.publish, async () => {
      await runner.run(UNDO.account, { deviceUuid });
    });
    await runner.run(INFRASTRUCTURE.publish, { deviceUuid, idempotencyKey: idempotencyKey(INFRASTRUCTURE.publish.id) });
    await runner.run(INFRASTRUCTURE.spns, { deviceUuid });

    // OOB3–OOB6 (IB8): TLS with the provisioning certificate, then Digest with credential fallback.
    await runner.run(CONNECT.tls, { deviceUuid, protocol });
    const login = required(
      await runner.run(CONNECT.login, { session: { deviceUuid, tls: 'provisioning', protocol } }),
      CONNECT.login.id,
    );
    let session: DeviceSession = { deviceUuid, tls: 'provisioning', protocol, credentialRef: login.credentialRef };
    if (mode === 'in-band') await runner.run(CONNECT.otp, { session });
    const certificate = required(
      await runner.run(CONNECT.certificate, {
        session,
        fqdn: device.fqdn,
        idempotencyKey: idempotencyKey(CONNECT.certificate.id),
      }),
      CONNECT.certificate.id,
    );

    // OOB8: first stage (I6, I7).
    log.info('I9 first-stage provisioning started', { deviceUuid, fqdn: device.fqdn });
    await runner.run(STAGE_ONE.clock, { session });
    await runner.run(STAGE_ONE.hostName, { session, hostName: device.hostName, domain: device.domain });
    await runner.run(STAGE_ONE.tls, { session, serial: certificate.serial });
    const admin = required(
      await runner.run(STAGE_ONE.adminPassword, {
        session,
        idempotencyKey: idempotencyKey(STAGE_ONE.adminPassword.id),
      }),
      STAGE_ONE.adminPassword.id,
    );
    session = { ...session, credentialRef: admin.credentialRef };
    await runner.run(STAGE_ONE.mebx, { session, idempotencyKey: idempotencyKey(STAGE_ONE.mebx.id) });
    await runner.run(STAGE_ONE.commit, { session });
    log.info('I9 first-stage provisioning complete', { deviceUuid });

    // OOB9: second stage (I8), now over the device's own TLS certificate.
    session = await applySecondStage(runner, { ...session, tls: 'managed' }, { update: false });

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
      credentialRef: required(session.credentialRef, STAGE_ONE.adminPassword.id),
    };
  });
}
