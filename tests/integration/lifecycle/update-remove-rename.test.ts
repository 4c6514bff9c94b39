import { renameCompletedSignal, progressQuery } from '../../../workflows/messages';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import { waitFor } from '../../../scripts/lib/process';
import { expectNoSecretInHistories, expectProvisionedEverywhere } from '../../support/agreement';
import { PROFILE_SECRETS, startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';

/**
 * Update, removal (partial and full) and rename end to end, then the history of every run of this
 * file searched — decoded — for every secret the runs handled.
 */
describe('update, remove and rename end to end', () => {
  let env: LifecycleEnv;
  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-update', amtVersion: '11.8.50' },
        { hostName: 'amt-full', amtVersion: '5.2.70' },
        { hostName: 'amt-rename', amtVersion: '15.0.23' },
      ],
      { firstIp: '127.31.4.1' },
    );
  });
  afterAll(async () => env?.stop());

  const opts = () => ({ taskQueue: env.taskQueue });
  const run = async (...args: Parameters<typeof startLifecycle>) => (await startLifecycle(...args)).result();

  it('updates a provisioned device, keeps its web-server certificate, then removes it partially', async () => {
    const device = env.devices[0]!;
    const provisioned = await run(
      env.env.client,
      'provision',
      { deviceUuid: device.uuid, mode: 'out-of-band', requestedBy: 'e2e' },
      opts(),
    );
    await run(env.env.client, 'update', { deviceUuid: device.uuid, requestedBy: 'e2e' }, opts());
    await expectProvisionedEverywhere(env, device, provisioned);

    await run(env.env.client, 'remove', { deviceUuid: device.uuid, mode: 'partial', requestedBy: 'e2e' }, opts());
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual([]);
    expect(await env.deps.withDirectory((directory) => directory.findAmtAccount(device.fqdn))).toBeUndefined();
    const nvram = env.fleet.device(device.uuid).nvram();
    expect(nvram.general.hostName).toBe(device.hostName);
    expect((await env.deps.store.devices.require(device.uuid)).discoveryStatus).toBe('not_provisioned');
  });

  it('removes a legacy device fully: firmware back to pre-provisioning', async () => {
    const device = env.devices[1]!;
    await run(
      env.env.client,
      'provision',
      { deviceUuid: device.uuid, mode: 'out-of-band', requestedBy: 'e2e' },
      opts(),
    );
    await run(env.env.client, 'remove', { deviceUuid: device.uuid, mode: 'full', requestedBy: 'e2e' }, opts());
    expect(env.fleet.device(device.uuid).nvram().provisioning.state).toBe(0);
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual([]);
  });

  it('renames: removes with automatic provisioning off, waits for the rename, provisions under the new name', async () => {
    const device = env.devices[2]!;
    const first = await startLifecycle(
      env.env.client,
      'provision',
      { deviceUuid: device.uuid, mode: 'out-of-band', requestedBy: 'e2e' },
      opts(),
    );
    await first.result();
    const handle = await startLifecycle(
      env.env.client,
      'rename_or_move',
      {
        deviceUuid: device.uuid,
        hostName: 'amt-renamed',
        domain: 'corp.example.test',
        mode: 'out-of-band',
        requestedBy: 'e2e',
      },
      opts(),
    );
    await waitFor(
      'REN2',
      async () => (await handle.query(progressQuery)).steps.find((s) => s.id === 'REN2')?.status === 'waiting',
      120_000,
      250,
    );
    expect((await env.deps.store.devices.automaticProvisioning(device.uuid)).deviceEnabled).toBe(false);
    await handle.signal(renameCompletedSignal, {
      hostName: 'amt-renamed',
      domain: 'corp.example.test',
      operator: 'e2e',
    });
    const result = await handle.result();
    expect((await env.deps.store.devices.automaticProvisioning(device.uuid)).deviceEnabled).toBe(true);
    await expectProvisionedEverywhere(
      env,
      { uuid: device.uuid, hostName: 'amt-renamed', fqdn: 'amt-renamed.corp.example.test' },
      result,
    );
  });

  it('kept every password, passphrase and OTP out of every history', async () => {
    expect(
      await expectNoSecretInHistories(env, [PROFILE_SECRETS.digestPassword, PROFILE_SECRETS.mebxPassword]),
    ).toBeGreaterThan(5);
  });
});
