import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { operatorDecisionUpdate, progressQuery } from '../../../workflows/messages';
import { parkedAt } from '../../support/progress';
import { expectNoSecretInHistories, expectProvisionedEverywhere } from '../../support/agreement';
import { PROFILE_SECRETS, startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';

/**
 * Injected firmware faults are retried or verified until the run converges; a step whose retry
 * budget runs out parks the run in AWAITING_OPERATOR, and retry, skip and abort each do what they say.
 */
describe('faults and operator decisions end to end', () => {
  let env: LifecycleEnv;
  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-faulty', amtVersion: '11.8.50' },
        { hostName: 'amt-retry', amtVersion: '11.8.50' },
        { hostName: 'amt-skip', amtVersion: '11.8.50' },
        { hostName: 'amt-abort', amtVersion: '11.8.50' },
      ],
      { firstIp: '127.31.3.1' },
    );
  });
  afterAll(async () => env?.stop());

  it('converges through drops, HTTP 500s, busy firmware and a reboot during CommitChanges', async () => {
    const device = env.devices[0]!;
    env.fleet.inject({ kind: 'drop', match: 'Get', times: 2 }, device.uuid);
    env.fleet.inject({ kind: 'http500', match: 'Put', times: 1 }, device.uuid);
    env.fleet.inject({ kind: 'busy', times: 1 }, device.uuid);
    env.fleet.inject({ kind: 'rebootDuringCommit', applied: true, rebootMs: 500, times: 1 }, device.uuid);
    const handle = await env.provision(device.uuid);
    const result = await handle.result();
    await expectProvisionedEverywhere(env, device, result);
    const commit = (await handle.query(progressQuery)).steps.find((s) => s.id === 'OOB8.6');
    expect(commit?.status).toBe('succeeded');
  });

  it('retry: a step that exhausted its budget runs again once the operator says so', async () => {
    const device = env.devices[1]!;
    const fault = env.fleet.inject({ kind: 'http500', match: 'SetHighAccuracyTimeSynch' }, device.uuid);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'OOB8.1');
    env.fleet.clearFaults(fault.id);
    await handle.executeUpdate(operatorDecisionUpdate, {
      args: [{ action: 'retry', operator: 'alice', step: 'OOB8.1' }],
    });
    await expectProvisionedEverywhere(env, device, await handle.result());
    const audit = await env.deps.store.audit.forTarget(device.uuid);
    expect(audit.map((a) => a.action)).toContain('provision.retry');
  });

  it('skip: a step the spec lets go is skipped, a required one is not', async () => {
    const device = env.devices[2]!;
    env.fleet.inject({ kind: 'http500', match: 'SetPowerScheme' }, device.uuid);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'OOB9.3b');
    await handle.executeUpdate(operatorDecisionUpdate, {
      args: [{ action: 'skip', operator: 'bob', step: 'OOB9.3b' }],
    });
    const result = await handle.result();
    expect((await handle.query(progressQuery)).steps.find((s) => s.id === 'OOB9.3b')?.status).toBe('skipped');
    await expectProvisionedEverywhere(env, device, result);
  });

  it('abort: undoes what the run did and leaves the device with a known credential', async () => {
    const device = env.devices[3]!;
    env.fleet.inject({ kind: 'http500', match: 'CommitChanges' }, device.uuid);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'OOB8.6');
    await handle.executeUpdate(operatorDecisionUpdate, { args: [{ action: 'abort', operator: 'carol' }] });
    const failure = await handle.result().catch((e: unknown) => e);
    expect(((failure as WorkflowFailedError).cause as ApplicationFailure).type).toBe('OPERATOR_ABORTED');

    // What this run issued is revoked; the directory was never touched (I3 runs after the commit).
    expect(await env.deps.ca.currentCertificates(device.uuid, ['amt-web-server'])).toEqual([]);
    expect(await env.deps.withDirectory((directory) => directory.findAmtAccount(device.fqdn))).toBeUndefined();
    // The admin password the device has is one the database holds.
    const admin = await env.deps.store.credentials.current(device.uuid, 'amt_admin');
    expect(admin).toBeDefined();
  });

  it('kept every password, passphrase and OTP out of every history', async () => {
    expect(await expectNoSecretInHistories(env, Object.values(PROFILE_SECRETS))).toBeGreaterThan(0);
  });
});
