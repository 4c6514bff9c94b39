import type { temporal } from '@temporalio/proto';
import type { DeviceUuid } from '../../../lib/device-uuid';
import { collectionActions } from '../../../runtime/collection-action-client';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import { DEVICES_PER_RUN } from '../../../workflows/collection-action-messages';
import { newDeviceUuid } from '../../support/device-uuid';
import { TEST_COLLECTION, startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';
import { uniqueQueue } from '../../support/temporal';

const DEVICES = 200;
const EMULATED = 2;
const MAX_CONCURRENT = 10;

/**
 * Issue 11 §3 against the real stack: one collection action over a collection of 200 devices, at
 * most ten at a time with a delay between batches — read back from the action's own history, across
 * its continue-as-new runs — under the one-run-per-device rule. Sized to run in about two minutes on
 * two shared cores: two emulated devices are provisioned end to end; the 198 others were imported
 * but never said hello, so their runs are refused at P2 (no address known) after real activities;
 * one of those has a run in flight and is reported busy.
 */
describe('collection action over 200 devices', () => {
  let env: LifecycleEnv;
  const imported: DeviceUuid[] = [];

  beforeAll(async () => {
    env = await startLifecycleEnv(
      Array.from({ length: EMULATED }, (_, i) => ({ hostName: `amt-fleet-${i}`, amtVersion: '11.8.50' })),
      { firstIp: '127.53.2.1' },
    );
    for (let i = 0; i < DEVICES - EMULATED; i++) {
      const uuid = newDeviceUuid();
      await env.deps.store.devices.importComputer({
        uuid,
        hostName: `pc-silent-${String(i).padStart(3, '0')}`,
        domain: 'corp.example.test',
        collection: TEST_COLLECTION,
      });
      imported.push(uuid);
    }
  }, 300_000);
  afterAll(async () => env?.stop());

  it('handles the collection ten at a time, reporting busy, refused and succeeded devices', async () => {
    const client = env.env.client;
    // A run in flight for one device: on a queue no worker polls, it stays in flight.
    const busy = imported[0]!;
    const inFlight = await startLifecycle(
      client,
      'update',
      { deviceUuid: busy, requestedBy: 'e2e' },
      { taskQueue: uniqueQueue('nobody-polls') },
    );
    try {
      const actions = collectionActions(client, { taskQueue: env.taskQueue });
      const actionId = await actions.start({
        kind: 'provision',
        selector: { kind: 'devices', collection: TEST_COLLECTION },
        throttle: { maxConcurrent: MAX_CONCURRENT, batchDelay: '1 second' },
        requestedBy: 'e2e',
      });
      const expected = {
        started: 0,
        busy: 1,
        refused: DEVICES - EMULATED - 1,
        succeeded: EMULATED,
        failed: 0,
        waiting: 0,
      };
      expect(await actions.result(actionId)).toMatchObject({
        total: DEVICES,
        batches: DEVICES / MAX_CONCURRENT,
        counts: expected,
      });

      // Per-device results in the site database.
      expect(await env.deps.store.collectionActions.counts(actionId)).toEqual(expected);
      const [busyResult] = await env.deps.store.collectionActions.results(actionId, { status: 'busy' });
      expect(busyResult).toMatchObject({ device: busy, errorCode: 'OPERATION_IN_FLIGHT' });
      const refused = await env.deps.store.collectionActions.results(actionId, { status: 'refused', limit: 1000 });
      expect(new Set(refused.map((r) => r.errorCode))).toEqual(new Set(['DEVICE_NOT_REACHABLE_ADDRESS']));
      expect(refused.map((r) => r.device).sort()).toEqual(imported.slice(1).sort());
      const succeeded = await env.deps.store.collectionActions.results(actionId, { status: 'succeeded' });
      expect(succeeded.map((r) => r.device).sort()).toEqual(env.devices.map((d) => d.uuid).sort());
      for (const device of env.devices)
        expect((await env.deps.store.devices.require(device.uuid)).provisioningState).toBe('provisioned');

      // Throttling, from the history of every run of the action: the chain from the first run
      // through each continued-as-new event.
      const runs: temporal.api.history.v1.IHistory[] = [];
      const latest = await client.workflow.getHandle(actionId).fetchHistory();
      let runId = latest.events?.[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId ?? undefined;
      while (runId) {
        const history = await client.workflow.getHandle(actionId, runId).fetchHistory();
        runs.push(history);
        runId =
          history.events?.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)
            ?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
      }
      // Each run handles at most DEVICES_PER_RUN devices, then continues as new (the run after the
      // last full page finds no more).
      expect(runs.length).toBeGreaterThanOrEqual(DEVICES / DEVICES_PER_RUN);
      const perRun: number[] = [];

      let inFlightChildren = 0;
      let peak = 0;
      let initiated = 0;
      let timers = 0;
      for (const run of runs) {
        perRun.push(0);
        for (const event of run.events ?? []) {
          if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
            inFlightChildren += 1;
            initiated += 1;
            perRun[perRun.length - 1]! += 1;
            peak = Math.max(peak, inFlightChildren);
          } else if (
            event.startChildWorkflowExecutionFailedEventAttributes ||
            event.childWorkflowExecutionCompletedEventAttributes ||
            event.childWorkflowExecutionFailedEventAttributes ||
            event.childWorkflowExecutionCanceledEventAttributes ||
            event.childWorkflowExecutionTerminatedEventAttributes ||
            event.childWorkflowExecutionTimedOutEventAttributes
          ) {
            inFlightChildren -= 1;
          } else if (event.timerStartedEventAttributes) {
            // A delay between batches starts only when the batch before has no device in flight.
            expect(inFlightChildren).toBe(0);
            timers += 1;
          }
        }
      }
      expect(initiated).toBe(DEVICES);
      expect(perRun.every((n) => n <= DEVICES_PER_RUN)).toBe(true);
      expect(peak).toBe(MAX_CONCURRENT);
      expect(timers).toBe(DEVICES / MAX_CONCURRENT - 1);
    } finally {
      await inFlight.terminate('test over');
    }
  }, 600_000);
});
