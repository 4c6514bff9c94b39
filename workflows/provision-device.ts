import { log } from '@temporalio/workflow';
import type { DeviceSession, DeviceUuid, ProvisioningMode } from '../activities/contract';
import { CONNECT, INFRASTRUCTURE, STAGE_ONE, STAGE_TWO, UNDO, VALIDATE, provisionSteps } from './catalogue';
import { applySecondStage, idempotencyKey, lifecycleRunner, markDevice, recordSuccess } from './lifecycle';

export interface ProvisionDeviceInput {
  deviceUuid: DeviceUuid;
  /** `out-of-band`: started by the device's hello (OOB1–OOB10); `in-band`: by the agent's OTP report (IB1–IB11). */
  mode: ProvisioningMode;
  requestedBy: string;
}

export interface ProvisionDeviceResult {
  deviceUuid: DeviceUuid;
  fqdn: string;
  amtVersion: string;
  certificateSerial: string;
  /** Which stored credential the device now accepts (a reference, never the password). */
  credentialRef: string;
}

/** Provision one device, out of band or in band, from validation to the site database's record. */
export async function provisionDevice(input: ProvisionDeviceInput): Promise<ProvisionDeviceResult> {
  const { deviceUuid, mode } = input;
  const runner = lifecycleRunner('provision', deviceUuid, provisionSteps(mode));

  return runner.withCompensation(async () => {
    // P, OOB2, OOB3 / IB9: checks that change nothing; each failure ends the run with its typed error.
    const device = await runner.run(mode === 'in-band' ? VALIDATE.registered : VALIDATE.imported, { deviceUuid, mode });
    markDevice(device.fqdn, device.collection);
    const { amtVersion, protocol } = await runner.run(VALIDATE.version, { deviceUuid });
    await runner.run(VALIDATE.directory, { deviceUuid, fqdn: device.fqdn, domain: device.domain });
    await runner.run(VALIDATE.rootHash, { deviceUuid });

    // I1, I3, I4: infrastructure around the device. Undo actions are known before each step runs.
    const templates = ['amt-web-server' as const, 'ieee8021x-client' as const];
    runner.onAbort(INFRASTRUCTURE.revoke, UNDO.revoke, { deviceUuid, reason: 'cessationOfOperation', templates });
    await runner.run(INFRASTRUCTURE.revoke, { deviceUuid, reason: 'superseded', templates });
    runner.onAbort(INFRASTRUCTURE.publish, UNDO.account, { deviceUuid });
    await runner.run(INFRASTRUCTURE.publish, { deviceUuid, idempotencyKey: idempotencyKey(INFRASTRUCTURE.publish.id) });
    await runner.run(INFRASTRUCTURE.spns, { deviceUuid });

    // OOB3–OOB6 (IB8): TLS with the provisioning certificate, then Digest with credential fallback.
    await runner.run(CONNECT.tls, { deviceUuid, protocol });
    const login = await runner.run(CONNECT.login, { session: { deviceUuid, tls: 'provisioning', protocol } });
    let session: DeviceSession = { deviceUuid, tls: 'provisioning', protocol, credentialRef: login.credentialRef };
    if (mode === 'in-band') await runner.run(CONNECT.otp, { session });
    const certificate = await runner.run(CONNECT.certificate, {
      session,
      fqdn: device.fqdn,
      idempotencyKey: idempotencyKey(CONNECT.certificate.id),
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
    await runner.run(STAGE_ONE.commit, { session });
    log.info('I9 first-stage provisioning complete', { deviceUuid });

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
