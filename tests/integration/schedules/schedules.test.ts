import { schedulesSchema } from '../../../lib/config/schema';
import { describeSchedules, ensureSchedules, listScheduleIds } from '../../../runtime/schedules';
import { waitFor } from '../../../scripts/lib/process';
import { createTestDeps, type TestDeps } from '../../support/activity-env';
import { connectTestEnv, uniqueQueue } from '../../support/temporal';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

/**
 * Issue 11 §4: the schedules a start creates — one automatic-provisioning sweep per collection with
 * the flag, certificate renewal, password rotation — are there once after any number of starts,
 * keep an operator's pause, follow the configuration, and lose the sweep of a collection whose
 * flag was switched off.
 */
describe('schedules created at start', () => {
  let env: TestWorkflowEnvironment;
  let deps: TestDeps;
  const idPrefix = uniqueQueue('sched');
  const options = { idPrefix, taskQueue: uniqueQueue('sched-queue') };
  const ours = async () => (await listScheduleIds(env.client)).filter((id) => id.startsWith(`${idPrefix}-`)).sort();

  beforeAll(async () => {
    env = await connectTestEnv();
    deps = await createTestDeps({ directory: false });
    await deps.store.profiles.save('p', { description: 'schedules test' });
    await deps.store.collections.save({ name: 'auto', automaticProvisioning: true, settingsProfile: 'p' });
    await deps.store.collections.save({ name: 'manual', automaticProvisioning: false, settingsProfile: 'p' });
  });
  afterAll(async () => {
    for (const id of await ours()) await env.client.schedule.getHandle(id).delete();
    await deps?.cleanup();
    await env?.teardown();
  });

  it('creates each schedule once, however often amtflow starts, and keeps an operator’s pause', async () => {
    const config = schedulesSchema.parse({ certificateRenewal: { daysBeforeExpiry: 30 } });
    const first = await ensureSchedules(env.client, deps.store, config, options);
    const expected = [
      `${idPrefix}-automatic-provisioning-auto`,
      `${idPrefix}-certificate-renewal`,
      `${idPrefix}-password-rotation`,
    ].sort();
    expect([...first.created].sort()).toEqual(expected);
    await waitFor('the schedules to be listed', async () => (await ours()).length === 3, 30_000);

    // An operator pauses the renewal in the Web UI; amtflow restarts twice.
    await env.client.schedule.getHandle(`${idPrefix}-certificate-renewal`).pause('maintenance window');
    for (let start = 0; start < 2; start++) {
      const again = await ensureSchedules(env.client, deps.store, config, options);
      expect(again.created).toEqual([]);
      expect([...again.updated].sort()).toEqual(expected);
    }
    expect(await ours()).toEqual(expected);
    const views = await describeSchedules(env.client, options);
    expect(views.map((v) => [v.scheduleId, v.paused, v.kind])).toEqual([
      [`${idPrefix}-automatic-provisioning-auto`, false, 'provision'],
      [`${idPrefix}-certificate-renewal`, true, 'renew-certificate'],
      [`${idPrefix}-password-rotation`, false, 'rotate-password'],
    ]);
    const renewal = await env.client.schedule.getHandle(`${idPrefix}-certificate-renewal`).describe();
    expect(renewal.action.args).toEqual([
      expect.objectContaining({ selector: { kind: 'certificates-expiring', withinDays: 30 } }),
    ]);
  });

  it('follows the collections: a sweep for a collection that gets the flag, none for one that loses it', async () => {
    const config = schedulesSchema.parse({});
    await deps.store.collections.setAutomaticProvisioning('auto', false);
    await deps.store.collections.setAutomaticProvisioning('manual', true);
    const sync = await ensureSchedules(env.client, deps.store, config, options);
    expect(sync.created).toEqual([`${idPrefix}-automatic-provisioning-manual`]);
    expect(sync.deleted).toEqual([`${idPrefix}-automatic-provisioning-auto`]);
    await waitFor(
      'the listing to show the change',
      async () =>
        JSON.stringify(await ours()) ===
        JSON.stringify(
          [
            `${idPrefix}-automatic-provisioning-manual`,
            `${idPrefix}-certificate-renewal`,
            `${idPrefix}-password-rotation`,
          ].sort(),
        ),
      30_000,
    );
  });
});
