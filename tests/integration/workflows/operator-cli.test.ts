import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { formatProgress } from '../../../cli/progress';
import { operatorCommands } from '../../../runtime/lifecycle-client';
import { waitFor } from '../../../scripts/lib/process';
import { fakeLifecycleActivities } from '../../support/fake-lifecycle';
import { newDeviceUuid } from '../../support/device-uuid';
import { connectTestEnv, createTestWorker, uniqueQueue } from '../../support/temporal';

describe('operator commands', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await connectTestEnv();
  });
  afterAll(async () => env?.teardown());

  it('show a parked run step by step, refuse a decision the spec forbids, and resume on retry', async () => {
    const fake = fakeLifecycleActivities({ commitSetup: ['fail', 'fail', 'fail'] });
    const taskQueue = uniqueQueue('cli');
    const worker = await createTestWorker(env, { taskQueue, activities: fake.activities });
    const commands = operatorCommands(env.client, { taskQueue });
    const deviceUuid = newDeviceUuid();
    await worker.runUntil(async () => {
      await commands.provision(deviceUuid, 'out-of-band', 'alice');
      await waitFor(
        'the run to park',
        async () => (await commands.progress(deviceUuid)).awaiting !== undefined,
        30_000,
        100,
      );

      const text = formatProgress(await commands.progress(deviceUuid));
      expect(text).toContain('provision of ' + deviceUuid + ': awaiting-operator');
      expect(text).toMatch(/succeeded\s+OOB8\.2\s+set host name and domain \(attempts 1\)/);
      expect(text).toMatch(
        /awaiting-operator\s+OOB8\.6\s+commit and enter post-provisioning \(attempts 3\)\s+last error Error: commitSetup failed/,
      );
      expect(text).toContain('waiting for an operator at OOB8.6: retry | abort');

      await expect(commands.decide(deviceUuid, 'skip', 'alice')).rejects.toThrow();
      await expect(commands.decide(deviceUuid, 'retry', 'alice', { step: 'OOB8.5' })).rejects.toThrow();
      const after = await commands.decide(deviceUuid, 'retry', 'alice', { step: 'OOB8.6', reason: 'device rebooted' });
      expect(after.state).toBe('running');
      await env.client.workflow.getHandle(`amt-device-${deviceUuid}`).result();
    });
    expect(fake.calls.filter((c) => c.name === 'commitSetup')).toHaveLength(4);
  });
});
