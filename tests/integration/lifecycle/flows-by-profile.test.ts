import { startLifecycle } from '../../../runtime/lifecycle-client';
import { progressQuery, renameCompletedSignal } from '../../../workflows/messages';
import { waitFor } from '../../../scripts/lib/process';
import { expectNoSecretInHistories, expectProvisionedEverywhere } from '../../support/agreement';
import { expectAllDone } from '../../support/progress';
import { PROFILE_SECRETS, reportOtpHash, startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';

/**
 * Every flow, both provisioning modes, on a legacy profile (AMT 5.x, EOI for stage one) and a
 * modern one (AMT 11, WS-Man): in-band provisioning → update → partial removal, and out-of-band
 * provisioning → rename → full removal. Each run's progress lists only steps that apply to the
 * firmware generation, every one of them taken (issue 14 §2).
 */
describe.each([
  ['legacy', '5.2.70', '127.31.6.1'],
  ['modern', '11.8.50', '127.31.7.1'],
])('every flow on a %s device (AMT %s)', (_label, amtVersion, firstIp) => {
  let env: LifecycleEnv;
  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: `inband-${amtVersion.replace(/\./g, '-')}`, amtVersion },
        { hostName: `oob-${amtVersion.replace(/\./g, '-')}`, amtVersion },
      ],
      { firstIp },
    );
  });
  afterAll(async () => env?.stop());

  /**
   * One run to its end; then its progress tells the truth: every step it lists applies to this
   * firmware generation and was taken (succeeded) — or skipped with a reason.
   */
  const run = async (...args: Parameters<typeof startLifecycle>) => {
    const handle = await startLifecycle(...args);
    const { runId } = await handle.describe();
    const result = await handle.result();
    await expectRunDone(handle.workflowId, runId);
    return result;
  };
  const expectRunDone = async (workflowId: string, runId?: string) =>
    expectAllDone(await env.env.client.workflow.getHandle(workflowId, runId).query(progressQuery));

  it('in band: provision, update, partial removal', async () => {
    const device = env.devices[0]!;
    await reportOtpHash(env, device.uuid);
    const q = { taskQueue: env.taskQueue };
    const provisioned = await run(
      env.env.client,
      'provision',
      { deviceUuid: device.uuid, mode: 'in-band', requestedBy: 'e2e' },
      q,
    );
    await expectProvisionedEverywhere(env, device, provisioned);
    await run(env.env.client, 'update', { deviceUuid: device.uuid, requestedBy: 'e2e' }, q);
    await expectProvisionedEverywhere(env, device, provisioned);
    await run(env.env.client, 'remove', { deviceUuid: device.uuid, mode: 'partial', requestedBy: 'e2e' }, q);
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual([]);
    expect((await env.deps.store.devices.require(device.uuid)).discoveryStatus).toBe('not_provisioned');
  });

  it('out of band: provision, rename, full removal', async () => {
    const device = env.devices[1]!;
    const q = { taskQueue: env.taskQueue };
    await run(env.env.client, 'provision', { deviceUuid: device.uuid, mode: 'out-of-band', requestedBy: 'e2e' }, q);
    const renamed = {
      uuid: device.uuid,
      hostName: `${device.hostName}-new`,
      fqdn: `${device.hostName}-new.corp.example.test`,
    };
    const handle = await startLifecycle(
      env.env.client,
      'rename_or_move',
      {
        deviceUuid: device.uuid,
        hostName: renamed.hostName,
        domain: 'corp.example.test',
        mode: 'out-of-band',
        requestedBy: 'e2e',
      },
      q,
    );
    const renameRunId = (await handle.describe()).runId;
    await waitFor(
      'REN2',
      async () => (await handle.query(progressQuery)).steps.find((s) => s.id === 'REN2')?.status === 'waiting',
      120_000,
      250,
    );
    await handle.signal(renameCompletedSignal, {
      hostName: renamed.hostName,
      domain: 'corp.example.test',
      operator: 'e2e',
    });
    await expectProvisionedEverywhere(env, renamed, await handle.result());
    // The rename run, and the provisioning run it continued into.
    await expectRunDone(handle.workflowId, renameRunId);
    await expectRunDone(handle.workflowId);

    await run(env.env.client, 'remove', { deviceUuid: device.uuid, mode: 'full', requestedBy: 'e2e' }, q);
    expect(env.fleet.device(device.uuid).nvram().provisioning.state).toBe(0);
    expect(await env.deps.withDirectory((directory) => directory.findAmtAccount(renamed.fqdn))).toBeUndefined();
  });

  it('kept every password, passphrase and OTP out of every history', async () => {
    expect(await expectNoSecretInHistories(env, Object.values(PROFILE_SECRETS))).toBeGreaterThan(5);
  });
});
