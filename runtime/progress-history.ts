/**
 * A lifecycle run's `progress` read from its event history rather than asked of a worker: what
 * `amtflow progress` and the API answer when no worker is running (a query then fails with "Failed
 * to query Workflow") or none answers in time, and for a run that has closed. It gives what the
 * `progress` query gives (workflows/step-runner.ts) for the same history: the step list of the flow
 * and mode (workflows/catalogue.ts `stepsOfRun`), each activity event and each local activity's
 * marker applied to its step — the step is named by the summary, `<spec id> <title>` — and the
 * operator decisions read from the P7 audit step that records each one. A step run as a local
 * activity enters the history only when its attempt has ended (and the worker recorded it, at most
 * 8 s later), so a step in progress shows as the last one recorded. A step a patch added
 * (`StepDefinition.patch`) leaves the list once the run is past it with no marker of that patch: the
 * run started before the patch and never takes it.
 */
import type { Client } from '@temporalio/client';
import { ApplicationFailure, type LoadedDataConverter } from '@temporalio/common';
import {
  decodeFromPayloadsAtIndex,
  decodeOptionalFailureToOptionalError,
  decodeUserMetadata,
} from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import type { AuditEntry } from '../lib/store/audit';
import {
  AUDIT,
  OPERATION_OF_WORKFLOW,
  RENAME,
  UPDATE,
  renameWait,
  stepIndex,
  stepsOfRun,
  wiredIeee8021xWait,
} from '../workflows/catalogue';
import type { OperatorAction, Progress, StepError, StepProgress } from '../workflows/messages';
import { AWAITING_OPERATOR, skipReason, type StepDefinition } from '../workflows/step-runner';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads;
type Failure = temporal.api.failure.v1.IFailure;

/** The marker of a local activity's attempt (Temporal's core SDK: `core_local_activity`). */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** The history of a workflow id's latest run is not a lifecycle flow's. */
export class NotALifecycleRunError extends Error {
  override readonly name = 'NotALifecycleRunError';
  readonly code = 'NOT_A_LIFECYCLE_RUN';
}

function describeError(err: Error | undefined): { error: StepError; nonRetryable: boolean } {
  if (err instanceof ApplicationFailure) {
    return {
      error: { code: err.type ?? 'ApplicationFailure', message: err.message },
      nonRetryable: err.nonRetryable === true,
    };
  }
  if (err) return { error: { code: err.name, message: err.message }, nonRetryable: false };
  return { error: { code: 'UNKNOWN', message: 'no failure recorded' }, nonRetryable: false };
}

/** The marker `patched()` records when a run takes a patch (Temporal's core SDK: `core_patch`, its id in JSON). */
function patchTaken(event: HistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_patch') return undefined;
  const data = marker.details?.['patch-data']?.payloads?.[0]?.data;
  if (!data) return undefined;
  return (JSON.parse(Buffer.from(data).toString('utf8')) as { id?: string }).id;
}

/**
 * Drops the steps of patches the run did not take: no marker, and a step listed after it has
 * started — the run went past the point where it would have taken the patch. Until then the step
 * stays pending, as the `progress` query lists it (workflows/step-runner.ts `takesPatch`).
 */
function dropPatchesNotTaken(
  steps: StepProgress[],
  list: readonly StepDefinition[],
  taken: Set<string>,
): StepProgress[] {
  const started = new Set(steps.filter((s) => s.status !== 'pending').map((s) => s.id));
  return steps.filter((s) => {
    const at = list.findIndex((d) => d.id === s.id);
    const patch = list[at]?.patch;
    if (!patch || taken.has(patch) || s.status !== 'pending') return true;
    return !list.slice(at + 1).some((d) => started.has(d.id));
  });
}

const allowed = (step: StepDefinition): OperatorAction[] =>
  step.skippable ? ['retry', 'skip', 'abort'] : ['retry', 'abort'];

/** The run's progress from its history (events in order, as `fetchHistory` returns them). */
export async function progressFromHistory(
  converter: LoadedDataConverter,
  events: readonly HistoryEvent[],
): Promise<Progress> {
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const type = started?.workflowType?.name ?? '';
  const input = started
    ? await decodeFromPayloadsAtIndex<{ deviceUuid: string; mode?: string; hostName?: string; domain?: string }>(
        converter,
        0,
        started.input?.payloads,
      )
    : undefined;
  const list = stepsOfRun(type, input);
  if (!list || !input) throw new NotALifecycleRunError(`workflow type ${type || '(none)'} is not a lifecycle flow`);
  const stepsById = stepIndex(list);

  const progress: Progress = {
    operation: OPERATION_OF_WORKFLOW[type] as string,
    deviceUuid: input.deviceUuid,
    state: 'running',
    stage: 'starting',
    steps: list.map((s) => ({ id: s.id, title: s.title, stage: s.stage, status: 'pending', attempts: 0 })),
    source: 'history',
  };
  const entry = (step: StepDefinition): StepProgress => {
    let found = progress.steps.find((s) => s.id === step.id);
    if (!found) {
      found = { id: step.id, title: step.title, stage: step.stage, status: 'pending', attempts: 0 };
      progress.steps.push(found);
    }
    return found;
  };
  /** Activity schedule event id → its step; failures in the step's current round. */
  const scheduled = new Map<string, StepDefinition>();
  const failures = new Map<string, number>();
  /** REN2 answered "not yet" and nothing has happened since: the run waits for the signal. */
  let renameNotComplete = false;
  const patches = new Set<string>();
  /** UPD4 warned and nothing has happened since: the run waits for the operator's apply or skip. */
  let wiredWarning: string | undefined;

  /** A step's attempt began: the run is at its stage (or, for P7, back at the stage decided on). */
  const begin = (step: StepDefinition, audit: AuditEntry | undefined): void => {
    renameNotComplete = false;
    wiredWarning = undefined;
    const details = (audit?.details ?? {}) as { step?: string; reason?: string | null };
    // UPD4's answer (apply or skip the wired settings) is recorded by the same P7 step, but it
    // decides no parked step: it is a step like any other.
    if (audit && details.step !== UPDATE.wired.id) {
      // The decision the P7 step records is the operator's: apply it to the step decided on.
      const decided = progress.steps.find((s) => s.id === details.step);
      const action = audit.action.split('.').pop();
      if (decided) {
        decided.status = action === 'retry' ? 'running' : action === 'skip' ? 'skipped' : 'failed';
        if (action === 'skip') {
          decided.reason = skipReason({ operator: audit.actor, reason: details.reason ?? undefined });
        }
        failures.delete(decided.id);
      }
      delete progress.awaiting;
      progress.state = 'running';
      progress.stage = decided?.stage ?? progress.stage;
      // The audit step keeps the stage of the step decided on (it joins progress with it).
      if (!progress.steps.some((s) => s.id === step.id)) entry({ ...step, stage: progress.stage });
    } else {
      progress.stage = step.stage;
      if (step.stage === 'compensate') progress.state = 'compensating';
    }
    entry(step).status = 'running';
  };
  const succeed = async (step: StepDefinition, result: Payloads | undefined): Promise<void> => {
    const e = entry(step);
    e.attempts += 1;
    e.status = 'succeeded';
    delete e.lastError;
    failures.delete(step.id);
    if (step.id === RENAME.wait.id) {
      renameNotComplete = !(await decodeFromPayloadsAtIndex<{ complete: boolean }>(converter, 0, result?.payloads))
        .complete;
    }
    if (step.id === UPDATE.wired.id) {
      wiredWarning = (await decodeFromPayloadsAtIndex<{ warning?: string }>(converter, 0, result?.payloads)).warning;
    }
    if (step.stage === 'compensate') {
      const undone = progress.steps.find((s) => `${s.id}.undo` === step.id);
      if (undone?.status === 'succeeded') undone.status = 'compensated';
    }
  };
  const fail = async (step: StepDefinition, failure: Failure | null | undefined): Promise<void> => {
    const e = entry(step);
    const { error, nonRetryable } = describeError(await decodeOptionalFailureToOptionalError(converter, failure));
    e.attempts += 1;
    e.lastError = error;
    const round = (failures.get(step.id) ?? 0) + 1;
    failures.set(step.id, round);
    if (step.retry === 'validation' && nonRetryable) {
      e.status = 'failed';
    } else if (nonRetryable || round >= step.attempts) {
      e.status = 'awaiting-operator';
      progress.state = 'awaiting-operator';
      progress.stage = AWAITING_OPERATOR;
      progress.awaiting = { step: step.id, error, allowed: allowed(step) };
    }
  };
  /** The step an activity or a local activity's marker belongs to, by its summary `<spec id> <title>`. */
  const stepOf = async (event: HistoryEvent): Promise<StepDefinition | undefined> => {
    const summary = (await decodeUserMetadata(converter, event.userMetadata)).staticSummary ?? '';
    return stepsById.get(summary.split(' ')[0] as string);
  };

  for (const event of events) {
    const patch = patchTaken(event);
    if (patch) patches.add(patch);
    // A step run as a local activity (workflows/step-runner.ts): one marker per attempt, recorded
    // once the attempt ended, with its result or its failure.
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName === LOCAL_ACTIVITY_MARKER) {
      const step = await stepOf(event);
      if (!step) continue;
      begin(step, undefined);
      if (marker.failure) await fail(step, marker.failure);
      else await succeed(step, marker.details?.result ?? undefined);
      continue;
    }
    const schedule = event.activityTaskScheduledEventAttributes;
    if (schedule) {
      const step = await stepOf(event);
      if (!step) continue;
      scheduled.set(String(event.eventId), step);
      const audit =
        step.id === AUDIT.decision.id
          ? await decodeFromPayloadsAtIndex<AuditEntry>(converter, 0, schedule.input?.payloads)
          : undefined;
      begin(step, audit);
      continue;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    const step = scheduled.get(String((completed ?? failed)?.scheduledEventId ?? ''));
    if (completed && step) {
      await succeed(step, completed.result ?? undefined);
      continue;
    }
    if (failed && step) {
      await fail(step, failed.failure);
      continue;
    }
    if (event.workflowExecutionSignaledEventAttributes?.signalName === renameWait(input).signal) {
      renameNotComplete = false;
    }
    if (event.workflowExecutionCompletedEventAttributes || event.workflowExecutionContinuedAsNewEventAttributes) {
      progress.state = 'completed';
      progress.stage = 'COMPLETED';
    }
    const closedFailed = event.workflowExecutionFailedEventAttributes;
    if (closedFailed) {
      const aborted = closedFailed.failure?.applicationFailureInfo?.type === 'OPERATOR_ABORTED';
      progress.state = aborted ? 'aborted' : 'failed';
      progress.stage = aborted ? 'ABORTED' : 'FAILED';
    }
    if (event.workflowExecutionTerminatedEventAttributes || event.workflowExecutionCanceledEventAttributes) {
      progress.state = 'failed';
      progress.stage = 'FAILED';
    }
  }
  progress.steps = dropPatchesNotTaken(progress.steps, list, patches);
  if (renameNotComplete && progress.state === 'running') {
    const wait = entry(RENAME.wait);
    wait.status = 'waiting';
    progress.state = 'waiting-for-signal';
    progress.waiting = { step: RENAME.wait.id, ...renameWait(input as Parameters<typeof renameWait>[0]) };
  }
  if (wiredWarning !== undefined && progress.state === 'running') {
    entry(UPDATE.wired).status = 'waiting';
    progress.state = 'waiting-for-signal';
    progress.waiting = { step: UPDATE.wired.id, ...wiredIeee8021xWait(input.deviceUuid, wiredWarning) };
  }
  return progress;
}

/** The progress of the latest run of `workflowId`, from its history. */
export async function fetchProgressFromHistory(client: Client, workflowId: string): Promise<Progress> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return progressFromHistory(client.options.loadedDataConverter, history.events ?? []);
}
