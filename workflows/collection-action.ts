/**
 * Collection-wide work (issue 11 §3–§4): one durable workflow that applies an action to every
 * device a selector names — a collection, a filtered set, the devices whose certificate expires —
 * with the out-of-band service point's throttling: at most `maxConcurrent` devices at a time, and
 * `batchDelay` between one batch and the next.
 *
 * Each device is handled by its kind: a lifecycle kind starts the device's own run as a child under
 * the device's one workflow id (architecture law 1), so a device with a run in flight is `busy`
 * (the server refuses the second run) rather than failed, and a schedule retries it at its next
 * tick; an activity kind (automatic provisioning on or off) is one activity per device. Another
 * kind — power control, discovery — plugs in as one entry of `KINDS`.
 *
 * A device whose run parks for an operator (its retry budget spent) tells the action, which reports
 * it `waiting` and stops waiting for it: the batch ends without it and the next one starts, so one
 * device waiting for a decision never stalls the action. Should that run end while this run of the
 * action still goes on, its row takes the final status at the next bookkeeping point.
 *
 * Per-device results (started, busy, refused, succeeded, failed, waiting) go to the site database as they
 * happen; the run keeps only counters and a cursor (the last UUID handled), reads its devices page
 * by page in UUID order, and continues as new every `DEVICES_PER_RUN` devices, so 10,000 devices
 * never make one long history or one large payload. A worker restart resumes it where it was.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type Duration, type Workflow } from '@temporalio/common';
import type {
  ActionResult,
  CollectionActionActivities,
  ConsoleActivities,
  DeviceUuid,
  LifecycleActivities,
  LifecycleOperation,
  PowerAction,
  RemovalMode,
  TargetSelector,
} from '../activities/contract';
import {
  DEVICES_PER_RUN,
  collectionActionProgressQuery,
  deviceAwaitingOperatorSignal,
  type ActionCounts,
  type DeviceAwaitingOperator,
  type CollectionActionKind,
  type CollectionActionProgress,
} from './collection-action-messages';
import { PATCHES, SEARCH_ATTRIBUTES, deviceWorkflowId } from './names';
import { provisionDevice } from './provision-device';
import { removeProvisioning } from './remove-provisioning';
import { renewDeviceCertificate } from './renew-device-certificate';
import { rotateAdminPassword } from './rotate-admin-password';
import { updateManagementController } from './update-management-controller';

export { DEVICES_PER_RUN, collectionActionProgressQuery } from './collection-action-messages';
export type { ActionCounts, CollectionActionKind, CollectionActionProgress } from './collection-action-messages';

export interface CollectionActionInput {
  kind: CollectionActionKind;
  /** Which devices: a collection and/or filter, or what a schedule looks for. */
  selector: TargetSelector;
  /** `remove`: DEP1 option (a) `partial` or (b) `full`. */
  removalMode?: RemovalMode;
  /** At most this many devices at a time; `batchDelay` (e.g. `5 seconds`) between batches. */
  throttle: { maxConcurrent: number; batchDelay: Duration };
  /** Operator name, or `schedule:<id>` for a scheduled run; passed on to every device's run. */
  requestedBy: string;
  /** Set by the run itself when it continues as new; absent when an operator or a schedule starts it. */
  carried?: Carried;
}

interface Carried {
  /** The action's start (ISO 8601): a selector in days reads the same in every continued run. */
  now: string;
  /** The last device UUID handled; the next page starts after it. */
  after?: DeviceUuid;
  total: number;
  counts: ActionCounts;
  batches: number;
}

export interface CollectionActionResult {
  kind: CollectionActionKind;
  total: number;
  counts: ActionCounts;
  batches: number;
}

const bookkeeping = proxyActivities<CollectionActionActivities>({
  startToCloseTimeout: '1 minute',
  // The site database being away must not lose an action's results: retried until it answers.
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});

/** OPS2: one power change per device, one attempt (a refusal is the device's `failed` result; a schedule retries). */
const power = proxyActivities<Pick<ConsoleActivities, 'requestPowerChange'>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});
const powerKind = (action: PowerAction): KindHandler => ({
  perDevice: 'activity',
  perform: async (deviceUuid) => void (await power.requestPowerChange({ deviceUuid, action })),
});

const perDevice = proxyActivities<Pick<LifecycleActivities, 'setAutomaticProvisioning'>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

type Lifecycle = Workflow;

/** How one kind handles one device. */
type KindHandler =
  | {
      perDevice: 'lifecycle';
      operation: LifecycleOperation;
      workflow: Lifecycle;
      input(device: DeviceUuid, action: CollectionActionInput): unknown;
    }
  | { perDevice: 'activity'; perform(device: DeviceUuid, action: CollectionActionInput): Promise<void> };

const lifecycle = (operation: LifecycleOperation, workflow: Lifecycle, extra: (a: CollectionActionInput) => object) =>
  ({
    perDevice: 'lifecycle',
    operation,
    workflow,
    input: (deviceUuid: DeviceUuid, action: CollectionActionInput) => ({
      deviceUuid,
      requestedBy: action.requestedBy,
      ...extra(action),
    }),
  }) as const;

/** Every kind of collection action and how it handles a device. */
const KINDS: Record<CollectionActionKind, KindHandler> = {
  // A device listed by its provisioning state may have changed before its run starts (a hello-started
  // run ending in between): the run checks the state again at OOB2.
  provision: lifecycle('provision', provisionDevice, (a) => ({
    mode: 'out-of-band',
    ...(a.selector.kind === 'devices' && a.selector.provisioningStates
      ? { selectedAs: a.selector.provisioningStates }
      : {}),
  })),
  update: lifecycle('update', updateManagementController, () => ({})),
  remove: lifecycle('remove', removeProvisioning, (a) => ({ mode: a.removalMode ?? 'partial' })),
  'renew-certificate': lifecycle('renew_certificate', renewDeviceCertificate, () => ({})),
  'rotate-password': lifecycle('rotate_password', rotateAdminPassword, () => ({})),
  'enable-automatic-provisioning': {
    perDevice: 'activity',
    perform: (deviceUuid, a) => perDevice.setAutomaticProvisioning({ deviceUuid, enabled: true, by: a.requestedBy }),
  },
  'disable-automatic-provisioning': {
    perDevice: 'activity',
    perform: (deviceUuid, a) => perDevice.setAutomaticProvisioning({ deviceUuid, enabled: false, by: a.requestedBy }),
  },
  'power-on': powerKind('on'),
  'power-off': powerKind('off'),
  'power-reset': powerKind('reset'),
  'power-cycle': powerKind('cycle'),
};

const emptyCounts = (): ActionCounts => ({ started: 0, busy: 0, refused: 0, succeeded: 0, failed: 0, waiting: 0 });

/** The failure of a device's run, as the action reports it: refused (a validation failed, nothing changed) or failed. */
function finalResult(device: DeviceUuid, workflowId: string, err: unknown): ActionResult {
  const cause = err instanceof ChildWorkflowFailure || err instanceof ActivityFailure ? err.cause : err;
  const code = cause instanceof ApplicationFailure ? (cause.type ?? 'ApplicationFailure') : 'FAILED';
  const message = cause instanceof Error ? cause.message : String(cause);
  // A lifecycle run fails without an operator only at a validation step (step-runner.ts): nothing
  // changed, the device was refused. An operator's abort, a termination or a timeout is a failure.
  const refused =
    err instanceof ChildWorkflowFailure &&
    cause instanceof ApplicationFailure &&
    cause.nonRetryable &&
    code !== 'OPERATOR_ABORTED';
  return { device, status: refused ? 'refused' : 'failed', workflowId, errorCode: code, errorMessage: message };
}

export async function collectionAction(input: CollectionActionInput): Promise<CollectionActionResult> {
  const kind = KINDS[input.kind];
  if (!kind) throw ApplicationFailure.nonRetryable(`unknown collection action kind "${input.kind}"`, 'INVALID_INPUT');
  const { maxConcurrent, batchDelay } = input.throttle;
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
    throw ApplicationFailure.nonRetryable(
      'throttle.maxConcurrent must be a whole number of at least 1',
      'INVALID_INPUT',
    );
  }
  const actionId = workflowInfo().workflowId;
  const now = input.carried?.now ?? new Date().toISOString();
  // Counts carried by a run from before `waiting` existed lack it.
  const counts = { ...emptyCounts(), ...input.carried?.counts };
  let after = input.carried?.after;
  let batches = input.carried?.batches ?? 0;
  let inFlight: DeviceUuid[] = [];
  /** Devices of the current batch whose run told the action it waits for an operator. */
  const parked = new Map<DeviceUuid, DeviceAwaitingOperator>();
  /** Final results of runs that ended after the action stopped waiting for them, not yet recorded. */
  let lateFinals: ActionResult[] = [];
  let state: CollectionActionProgress['state'] = 'running';

  if (!input.carried) {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.operation, value: `collection-${input.kind}` },
      ...(input.selector.collection ? [{ key: SEARCH_ATTRIBUTES.collection, value: input.selector.collection }] : []),
    ]);
  }
  let total = input.carried?.total ?? 0;

  setHandler(collectionActionProgressQuery, () => ({
    actionId,
    kind: input.kind,
    requestedBy: input.requestedBy,
    ...(input.selector.collection ? { collection: input.selector.collection } : {}),
    state,
    total,
    handled: counts.busy + counts.refused + counts.succeeded + counts.failed + counts.waiting,
    counts: { ...counts },
    batches,
    inFlight: [...inFlight],
    throttle: input.throttle,
  }));

  // A run of this action's current batch parks for an operator: only a device in flight is taken
  // (a run decided and parked again later, or one of an earlier batch, has been reported already).
  // Patched: an action that ignored the signal (code before this, during a rolling upgrade of the
  // workers) replays ignoring it, rather than with a `waiting` record its history does not hold.
  setHandler(deviceAwaitingOperatorSignal, (waiting) => {
    if (!patched(PATCHES.actionGoesOnPastWaiting)) return;
    if (inFlight.includes(waiting.device as DeviceUuid)) parked.set(waiting.device as DeviceUuid, waiting);
  });

  if (!input.carried) total = (await bookkeeping.countActionTargets({ selector: input.selector, now })).total;

  const record = async (results: ActionResult[], previous?: Map<DeviceUuid, ActionResult['status']>) => {
    await bookkeeping.recordActionResults({ actionId, results });
    for (const r of results) {
      const before = previous?.get(r.device);
      if (before) counts[before] -= 1;
      counts[r.status] += 1;
    }
  };

  /** One batch: every device started (or refused as busy) at once, then each awaited. */
  async function runBatch(devices: DeviceUuid[]): Promise<void> {
    inFlight = devices;
    // A run can park before its start is recorded: what it says is kept from here on.
    parked.clear();
    if (kind.perDevice === 'activity') {
      const results = await Promise.all(
        devices.map(async (device): Promise<ActionResult> => {
          try {
            await kind.perform(device, input);
            return { device, status: 'succeeded' };
          } catch (err) {
            return finalResult(device, actionId, err);
          }
        }),
      );
      await record(results);
      inFlight = [];
      return;
    }
    const starts = await Promise.all(
      devices.map(async (device) => {
        const workflowId = deviceWorkflowId(device);
        try {
          const handle: ChildWorkflowHandle<Lifecycle> = await startChild(kind.workflow, {
            workflowId,
            args: [kind.input(device, input)],
            // The device's run is its own: it outlives the action (a terminated action, a continue-as-new).
            parentClosePolicy: ParentClosePolicy.ABANDON,
            typedSearchAttributes: [
              { key: SEARCH_ATTRIBUTES.deviceUuid, value: device },
              { key: SEARCH_ATTRIBUTES.operation, value: kind.operation },
            ],
            staticSummary: `${kind.operation} AMT device ${device} (collection action ${actionId})`,
          });
          return { device, workflowId, handle };
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) return { device, workflowId };
          throw err;
        }
      }),
    );
    const startedResults: ActionResult[] = starts.map(({ device, workflowId, handle }) => ({
      device,
      status: handle ? 'started' : 'busy',
      workflowId,
      ...(handle
        ? {}
        : { errorCode: 'OPERATION_IN_FLIGHT', errorMessage: `${workflowId} already has a run in flight` }),
    }));
    await record(startedResults);
    const running = starts.filter((s) => s.handle);
    inFlight = running.map((s) => s.device);
    const finals = await Promise.all(
      running.map(async ({ device, workflowId, handle }): Promise<ActionResult | undefined> => {
        let ended: ActionResult | undefined;
        const ending = (async (): Promise<ActionResult> => {
          try {
            await handle?.result();
            return { device, status: 'succeeded', workflowId };
          } catch (err) {
            return finalResult(device, workflowId, err);
          }
        })().then((r) => (ended = r));
        // Whichever comes first: the run's end, or its word that it waits for an operator.
        await condition(() => ended !== undefined || parked.has(device));
        inFlight = inFlight.filter((d) => d !== device);
        if (ended) return ended;
        const waiting = parked.get(device) as DeviceAwaitingOperator;
        await record(
          [{ device, status: 'waiting', workflowId, errorCode: waiting.errorCode, errorMessage: waiting.errorMessage }],
          new Map([[device, 'started']]),
        );
        // The run may still end while this run of the action goes on: its row then takes the final status.
        void ending.then((r) => lateFinals.push(r));
        return undefined;
      }),
    );
    const ended = finals.filter((r): r is ActionResult => r !== undefined);
    await record(ended, new Map(ended.map((r) => [r.device, 'started'])));
  }

  /** Records the final status of waiting devices whose runs have ended since the last time. */
  async function recordLateFinals(): Promise<void> {
    while (lateFinals.length) {
      const results = lateFinals;
      lateFinals = [];
      await record(results, new Map(results.map((r) => [r.device, 'waiting'])));
    }
  }

  let handledThisRun = 0;
  for (;;) {
    const { devices } = await bookkeeping.listActionTargets({
      selector: input.selector,
      now,
      limit: maxConcurrent,
      ...(after ? { after } : {}),
    });
    if (!devices.length) break;
    // The out-of-band service point's delay between batches: a durable timer, visible in the history.
    if (batches > 0) await sleep(batchDelay);
    await recordLateFinals();
    await runBatch(devices);
    batches += 1;
    after = devices.at(-1);
    handledThisRun += devices.length;
    if (devices.length < maxConcurrent) break;
    if (handledThisRun >= DEVICES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await recordLateFinals();
      await condition(allHandlersFinished);
      log.info('collection action continues as new', { actionId, batches, after });
      await continueAsNew<typeof collectionAction>({
        ...input,
        carried: { now, total, counts, batches, ...(after ? { after } : {}) },
      });
    }
  }
  await recordLateFinals();
  state = 'completed';
  log.info('collection action complete', { actionId, kind: input.kind, total, counts });
  return { kind: input.kind, total, counts, batches };
}
