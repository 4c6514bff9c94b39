import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ActionResult, CollectionActionActivities, DeviceUuid } from '../../../activities/contract';
import { collectionActions } from '../../../runtime/collection-action-client';
import { operatorCommands, startLifecycle } from '../../../runtime/lifecycle-client';
import { waitFor } from '../../../scripts/lib/process';
import type { CollectionActionKind } from '../../../workflows/collection-action-messages';
import { progressQuery } from '../../../workflows/messages';
import { deviceWorkflowId } from '../../../workflows/names';
import { newDeviceUuid } from '../../support/device-uuid';
import { fakeLifecycleActivities, type Outcome } from '../../support/fake-lifecycle';
import { connectTestEnv, createTestWorker, uniqueQueue } from '../../support/temporal';

/**
 * The collection action's and the scheduled flows' own logic, with activities that only record
 * their calls: renewal and rotation step order, per-device outcomes under the one-run-per-device
 * rule, and an action that carries on after its worker stopped. The same flows against the
 * emulator are in tests/integration/schedules. Also keeps their replay fixtures
 * (AMTFLOW_WRITE_FIXTURES=1).
 */
const FIXTURES = path.resolve(__dirname, '../../fixtures/histories');

async function keepHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.AMTFLOW_WRITE_FIXTURES !== '1') return;
  writeFileSync(path.join(FIXTURES, `${name}.json`), historyToJSON(await handle.fetchHistory()));
}

/** The site database's part of a collection action, in memory: a fixed device list and the recorded results. */
function fakeTargets(devices: DeviceUuid[]) {
  const recorded = new Map<DeviceUuid, ActionResult>();
  const activities: CollectionActionActivities = {
    countActionTargets: async () => ({ total: devices.length }),
    listActionTargets: async ({ after, limit }) => ({
      devices: [...devices]
        .sort()
        .filter((d) => !after || d > after)
        .slice(0, limit),
    }),
    recordActionResults: async ({ results }) => {
      for (const r of results) recorded.set(r.device, r);
    },
  };
  return { activities, recorded };
}

/** Fake lifecycle activities whose device record is the device the run is for (the identity checks compare them). */
function perDeviceLifecycle(script: Parameters<typeof fakeLifecycleActivities>[0] = {}) {
  const lifecycle = fakeLifecycleActivities(script);
  const loadImported = lifecycle.activities.loadImportedDevice;
  lifecycle.activities.loadImportedDevice = async (input) => ({
    ...(await loadImported(input)),
    deviceUuid: input.deviceUuid,
  });
  return lifecycle;
}

/** OOB8.6's three attempts fail: the first run to reach it (the only one in flight) parks for an operator. */
const parkAtCommit = (): Partial<Record<'commitSetup', Outcome[]>> => ({ commitSetup: ['fail', 'fail', 'fail'] });

/** Three devices in UUID order. */
const threeDevices = () =>
  Array.from({ length: 3 }, () => newDeviceUuid()).sort() as [DeviceUuid, DeviceUuid, DeviceUuid];

/** A worker of its own over `lifecycle` and the devices' bookkeeping, and how to start an action over the devices. */
async function actionOver(
  env: TestWorkflowEnvironment,
  name: string,
  devices: DeviceUuid[],
  lifecycle: ReturnType<typeof fakeLifecycleActivities>,
) {
  const targets = fakeTargets(devices);
  const taskQueue = uniqueQueue(name);
  const worker = await createTestWorker(env, {
    taskQueue,
    activities: { ...lifecycle.activities, ...targets.activities },
  });
  const actions = collectionActions(env.client, { taskQueue });
  const start = (kind: CollectionActionKind, throttle: { maxConcurrent: number; batchDelay: string }) =>
    actions.start({ kind, selector: { kind: 'devices', deviceUuids: devices }, throttle, requestedBy: 'e2e' });
  return { targets, taskQueue, worker, actions, start };
}

describe('collection action and scheduled flows (fake activities)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await connectTestEnv();
  });
  afterAll(async () => env?.teardown());

  it('renews a certificate: request, switch, then revoke the old one', async () => {
    const fake = fakeLifecycleActivities();
    const taskQueue = uniqueQueue('renewal');
    const worker = await createTestWorker(env, { taskQueue, activities: fake.activities });
    await worker.runUntil(async () => {
      const handle = await startLifecycle(
        env.client,
        'renew_certificate',
        { deviceUuid: newDeviceUuid(), requestedBy: 'schedule' },
        { taskQueue },
      );
      expect(await handle.result()).toMatchObject({ certificateSerial: '0a1b2c', revoked: ['0a1b2b'] });
      expect(fake.names()).toEqual([
        'loadImportedDevice',
        'probeAmtVersion',
        'loginWithDigest',
        'requestWebServerCertificate',
        'switchWebServerCertificate',
        'revokeSupersededCertificates',
        'recordResult',
      ]);
      await keepHistory(handle, 'renew-certificate');
    });
  });

  it('rotates the admin password write-ahead and records the result', async () => {
    const fake = fakeLifecycleActivities();
    const taskQueue = uniqueQueue('rotation');
    const worker = await createTestWorker(env, { taskQueue, activities: fake.activities });
    await worker.runUntil(async () => {
      const handle = await startLifecycle(
        env.client,
        'rotate_password',
        { deviceUuid: newDeviceUuid(), requestedBy: 'schedule' },
        { taskQueue },
      );
      expect(await handle.result()).toMatchObject({ credentialRef: 'admin:2' });
      expect(fake.names()).toEqual([
        'loadImportedDevice',
        'probeAmtVersion',
        'loginWithDigest',
        'setAdminPassword',
        'recordResult',
      ]);
      await keepHistory(handle, 'rotate-password');
    });
  });

  it('reports busy, refused and succeeded devices, and carries on after its worker stopped', async () => {
    const devices = Array.from({ length: 12 }, () => newDeviceUuid()).sort();
    const targets = fakeTargets(devices);
    // Every P4 check of the third device is refused: its run ends at validation.
    const refusedDevice = devices[2]!;
    const lifecycle = perDeviceLifecycle();
    const checkDirectory = lifecycle.activities.checkDirectoryPrerequisites;
    lifecycle.activities.checkDirectoryPrerequisites = async (input) => {
      if (input.deviceUuid === refusedDevice) {
        throw ApplicationFailure.nonRetryable('pc1.fabrikam.test is in another forest', 'DIFFERENT_FOREST');
      }
      return checkDirectory(input);
    };
    const activities = { ...lifecycle.activities, ...targets.activities };
    const taskQueue = uniqueQueue('collection-action');

    // The first device is busy: a rename waits for REN2 and stays in flight.
    const busyDevice = devices[0]!;
    const first = await createTestWorker(env, { taskQueue, activities });
    const actions = collectionActions(env.client, { taskQueue });
    let actionId = '';
    let rename: WorkflowHandle | undefined;
    await first.runUntil(async () => {
      rename = await startLifecycle(
        env.client,
        'rename_or_move',
        {
          deviceUuid: busyDevice,
          hostName: 'renamed',
          domain: 'corp.example.test',
          mode: 'out-of-band',
          requestedBy: 'e2e',
        },
        { taskQueue },
      );
      await waitFor(
        'the rename to wait for REN2',
        async () => (await rename!.query(progressQuery)).steps.some((s) => s.id === 'REN2' && s.status === 'running'),
        // A guard against a run that never gets there, not a speed goal: a loaded machine is slow.
        120_000,
      );
      actionId = await actions.start({
        kind: 'provision',
        selector: { kind: 'devices', collection: 'lab' },
        throttle: { maxConcurrent: 5, batchDelay: '30 seconds' },
        requestedBy: 'e2e',
      });
      // The worker stops after the first batch; the action waits durably for the next one.
      await waitFor('the first batch', async () => (await actions.progress(actionId)).batches >= 1, 30_000);
    });

    const second = await createTestWorker(env, { taskQueue, activities });
    await second.runUntil(async () => {
      const result = await actions.result(actionId);
      expect(result).toEqual({
        kind: 'provision',
        total: 12,
        batches: 3,
        counts: { started: 0, busy: 1, refused: 1, succeeded: 10, failed: 0, waiting: 0 },
      });
      expect(targets.recorded.get(busyDevice)).toMatchObject({ status: 'busy', errorCode: 'OPERATION_IN_FLIGHT' });
      expect(targets.recorded.get(refusedDevice)).toMatchObject({ status: 'refused', errorCode: 'DIFFERENT_FOREST' });
      expect([...targets.recorded.values()].filter((r) => r.status === 'succeeded')).toHaveLength(10);
      await keepHistory(env.client.workflow.getHandle(actionId), 'collection-action');
    });
    await rename?.terminate('test over');
  });

  it('passes the provisioning states it selected a device in to its run, whose OOB2 checks them again', async () => {
    const devices = threeDevices();
    const lifecycle = fakeLifecycleActivities();
    const { worker, actions } = await actionOver(env, 'action-selected-as', devices, lifecycle);
    await worker.runUntil(async () => {
      const actionId = await actions.start({
        kind: 'provision',
        selector: { kind: 'devices', deviceUuids: devices, provisioningStates: ['unprovisioned'] },
        throttle: { maxConcurrent: 3, batchDelay: '1 second' },
        requestedBy: 'e2e',
      });
      await actions.result(actionId);
    });
    const oob2 = lifecycle.calls.filter((c) => c.name === 'loadImportedDevice').map((c) => c.input);
    expect(oob2).toHaveLength(3);
    for (const input of oob2) expect(input).toMatchObject({ mode: 'out-of-band', selectedAs: ['unprovisioned'] });
  });

  it('goes on past a device waiting for an operator, reports it waiting, and leaves its run to be decided', async () => {
    const devices = threeDevices();
    const [parkedDevice, ...others] = devices;
    const { targets, taskQueue, worker, actions, start } = await actionOver(
      env,
      'action-waiting',
      devices,
      perDeviceLifecycle(parkAtCommit()),
    );
    await worker.runUntil(async () => {
      const actionId = await start('provision', { maxConcurrent: 1, batchDelay: '5 seconds' });
      // Before, the first batch waited for the parked run forever and this never resolved.
      expect(await actions.result(actionId)).toEqual({
        kind: 'provision',
        total: 3,
        batches: 3,
        counts: { started: 0, busy: 0, refused: 0, succeeded: 2, failed: 0, waiting: 1 },
      });
      expect(await actions.progress(actionId)).toMatchObject({ state: 'completed', handled: 3, inFlight: [] });
      expect(targets.recorded.get(parkedDevice)).toEqual({
        device: parkedDevice,
        status: 'waiting',
        workflowId: deviceWorkflowId(parkedDevice),
        errorCode: 'Error',
        errorMessage: 'OOB8.6 commit and enter post-provisioning: commitSetup failed',
      });
      for (const device of others) expect(targets.recorded.get(device)).toMatchObject({ status: 'succeeded' });

      // The parked run still waits, and an operator's decision finishes it; the action is over, so
      // its row stays `waiting`.
      const parked = env.client.workflow.getHandle(deviceWorkflowId(parkedDevice));
      expect((await parked.query(progressQuery)).awaiting).toMatchObject({ step: 'OOB8.6' });
      await operatorCommands(env.client, { taskQueue }).decide(parkedDevice, 'retry', 'alice', { step: 'OOB8.6' });
      expect(await parked.result()).toMatchObject({ deviceUuid: parkedDevice });
      expect(targets.recorded.get(parkedDevice)).toMatchObject({ status: 'waiting' });
      await keepHistory(env.client.workflow.getHandle(actionId), 'collection-action-waiting');
      await keepHistory(parked, 'provision-told-action-waiting');
    });
  });

  it('records the final status of a waiting device whose run ends while the action still runs', async () => {
    const devices = threeDevices();
    const [parkedDevice, heldDevice] = devices;
    const lifecycle = perDeviceLifecycle(parkAtCommit());
    // The second device's run holds at its first step until the test lets it go, so the action is
    // still in its second batch when the first device's run is decided and ends.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const loadImported = lifecycle.activities.loadImportedDevice;
    lifecycle.activities.loadImportedDevice = async (input) => {
      // OOB2 runs as a local activity: its worker keeps the workflow task alive while it is held.
      if (input.deviceUuid === heldDevice) await released;
      return loadImported(input);
    };
    const { targets, taskQueue, worker, actions, start } = await actionOver(
      env,
      'action-waiting-ends',
      devices,
      lifecycle,
    );
    // Released however the test ends: a held activity would keep the worker from shutting down.
    await worker.runUntil(async () => {
      try {
        const actionId = await start('provision', { maxConcurrent: 1, batchDelay: '5 seconds' });
        await waitFor(
          'the action to report the first device waiting and go on to the second',
          async () => {
            const progress = await actions.progress(actionId);
            return progress.counts.waiting === 1 && progress.inFlight.includes(heldDevice);
          },
          60_000,
          100,
        );
        expect(targets.recorded.get(parkedDevice)).toMatchObject({ status: 'waiting' });
        const parked = env.client.workflow.getHandle(deviceWorkflowId(parkedDevice));
        await operatorCommands(env.client, { taskQueue }).decide(parkedDevice, 'retry', 'alice', { step: 'OOB8.6' });
        await parked.result();
        // The action has heard of the end (a child's end reaches its parent's history on its own time).
        await waitFor(
          "the first device's end in the action's history",
          async () =>
            ((await env.client.workflow.getHandle(actionId).fetchHistory()).events ?? []).some(
              (e) =>
                e.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId === parked.workflowId,
            ),
          30_000,
          100,
        );
        release();
        expect((await actions.result(actionId)).counts).toEqual({
          started: 0,
          busy: 0,
          refused: 0,
          succeeded: 3,
          failed: 0,
          waiting: 0,
        });
        expect(targets.recorded.get(parkedDevice)).toEqual({
          device: parkedDevice,
          status: 'succeeded',
          workflowId: deviceWorkflowId(parkedDevice),
        });
      } finally {
        release();
      }
    });
  });

  it('switches automatic provisioning off for every selected device, one activity each', async () => {
    const devices = threeDevices();
    const lifecycle = fakeLifecycleActivities();
    const { worker, actions, start } = await actionOver(env, 'automatic-off', devices, lifecycle);
    await worker.runUntil(async () => {
      const actionId = await start('disable-automatic-provisioning', { maxConcurrent: 10, batchDelay: '1 second' });
      expect((await actions.result(actionId)).counts).toMatchObject({ succeeded: 3 });
      const calls = lifecycle.calls.map((c) => c.input as { deviceUuid: string });
      expect(calls.sort((a, b) => a.deviceUuid.localeCompare(b.deviceUuid))).toEqual(
        devices.map((deviceUuid) => ({ deviceUuid, enabled: false, by: 'e2e' })),
      );
    });
  });
});
