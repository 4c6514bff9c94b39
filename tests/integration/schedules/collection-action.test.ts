import type { temporal } from '@temporalio/proto';
import { collectionActions } from '../../../runtime/collection-action-client';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import { waitFor } from '../../../scripts/lib/process';
import { TEST_COLLECTION, startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';
import { DEVICES_PER_RUN } from '../../../workflows/collection-action-messages';
import { progressQuery } from '../../../workflows/messages';

const DEVICES = 200;
const MAX_CONCURRENT = 10;

/**
 * Issue 11 §3 against the real stack: one collection action provisions 200 emulated devices of a
 * collection, at most ten at a time with a delay between batches — read back from the action's own
 * history, across its continue-as-new runs — under the one-run-per-device rule: a device whose run
 * is in flight is reported busy, a device of another forest refused, the others provisioned.
 */
describe('collection action over 200 emulated devices', () => {
  let env: LifecycleEnv;

  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        ...Array.from({ length: DEVICES - 1 }, (_, i) => ({
          hostName: `amt-fleet-${String(i).padStart(3, '0')}`,
          amtVersion: '11.8.50',
        })),
        { hostName: 'pc-other-forest', domain: 'fabrikam.test', amtVersion: '11.8.50' },
      ],
      { firstIp: '127.53.2.1' },
    );
  }, 900_000);
  afterAll(async () => env?.stop());

  it('provisions the collection ten at a time, reporting busy, refused and succeeded devices', async () => {
    const client = env.env.client;
    // One device already has a run in flight: an update of a device not yet provisioned cannot log
    // in, exhausts its attempts and waits for an operator.
    const busy = env.devices[0]!;
    const parked = await startLifecycle(
      client,
      'update',
      { deviceUuid: busy.uuid, requestedBy: 'e2e' },
      { taskQueue: env.taskQueue },
    );
    await waitFor(
      'the update to wait for an operator',
      async () => (await parked.query(progressQuery)).state === 'awaiting-operator',
      120_000,
    );

    const actions = collectionActions(client, { taskQueue: env.taskQueue });
    const actionId = await actions.start({
      kind: 'provision',
      selector: { kind: 'devices', collection: TEST_COLLECTION },
      throttle: { maxConcurrent: MAX_CONCURRENT, batchDelay: '3 seconds' },
      requestedBy: 'e2e',
    });
    const result = await actions.result(actionId);
    expect(result).toMatchObject({
      total: DEVICES,
      batches: DEVICES / MAX_CONCURRENT,
      counts: { started: 0, busy: 1, refused: 1, succeeded: DEVICES - 2, failed: 0 },
    });

    // Per-device results in the site database.
    const counts = await env.deps.store.collectionActions.counts(actionId);
    expect(counts).toEqual({ started: 0, busy: 1, refused: 1, succeeded: DEVICES - 2, failed: 0 });
    const [busyResult] = await env.deps.store.collectionActions.results(actionId, { status: 'busy' });
    expect(busyResult).toMatchObject({ device: busy.uuid, errorCode: 'OPERATION_IN_FLIGHT' });
    const [refused] = await env.deps.store.collectionActions.results(actionId, { status: 'refused' });
    expect(refused?.device).toBe(env.devices[DEVICES - 1]!.uuid);
    expect(refused?.errorCode).toMatch(/^[A-Z_]+$/);
    const provisioned = await env.deps.store.devices.list({ collection: TEST_COLLECTION });
    expect(provisioned.filter((d) => d.provisioningState === 'provisioned')).toHaveLength(DEVICES - 2);

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
    expect(runs.length).toBe(DEVICES / DEVICES_PER_RUN);

    let inFlight = 0;
    let peak = 0;
    let initiated = 0;
    let timers = 0;
    for (const run of runs) {
      for (const event of run.events ?? []) {
        if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
          inFlight += 1;
          initiated += 1;
          peak = Math.max(peak, inFlight);
        } else if (
          event.startChildWorkflowExecutionFailedEventAttributes ||
          event.childWorkflowExecutionCompletedEventAttributes ||
          event.childWorkflowExecutionFailedEventAttributes ||
          event.childWorkflowExecutionCanceledEventAttributes ||
          event.childWorkflowExecutionTerminatedEventAttributes ||
          event.childWorkflowExecutionTimedOutEventAttributes
        ) {
          inFlight -= 1;
        } else if (event.timerStartedEventAttributes) {
          // A delay between batches starts only when the batch before has no device in flight.
          expect(inFlight).toBe(0);
          timers += 1;
        }
      }
    }
    expect(initiated).toBe(DEVICES);
    expect(peak).toBe(MAX_CONCURRENT);
    expect(timers).toBe(DEVICES / MAX_CONCURRENT - 1);
  }, 1_800_000);
});
