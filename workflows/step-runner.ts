/**
 * Runs a lifecycle workflow's steps from one catalogue (spec id, title, stage, retry class,
 * timeouts), so that the activity summaries in the Web UI, the `progress` query, the logs and the
 * spec tell one story. A step that exhausts its retry budget does not fail the run: it parks in
 * AWAITING_OPERATOR until an operator decides `retry`, `skip` (where the spec allows) or `abort`.
 *
 * The runner schedules one attempt at a time and waits out the backoff itself (a durable timer),
 * rather than handing Temporal a retry policy: every attempt is then an event the workflow sees, so
 * `progress` counts the attempts that happened and shows each failure while the step still retries.
 *
 * Each attempt runs as a local activity (patch `localSteps`): the worker that runs the workflow runs
 * the step too, and the history keeps one marker per attempt — its summary, result or failure —
 * instead of an activity task handed out by the server (scheduled, started, completed, then a
 * workflow task to take the result). Consecutive steps chain inside one workflow task; the worker
 * records their markers when the run next waits (a backoff, an operator, a signal, an activity) and
 * at least every 8 s (its workflow task heartbeat, 80 % of the 10 s workflow task timeout). This cut
 * a provisioning run's history from 158 events to about 50 and the Temporal server's CPU per device
 * by about seven-eighths (docs/benchmarks.md, "Steps as local activities"). What it changes:
 * - a dead worker is noticed by the workflow task timeout (10 s) rather than a heartbeat timeout, and
 *   another worker replays the run and runs again every step since the last record, in order. Every
 *   step is idempotent or reads the firmware first (architecture law 4); a step after which an
 *   earlier one could not run again is a `checkpoint`, recorded before it starts and when it ends;
 * - a `progress` query that arrives while steps chain waits for the next record; the client then
 *   reads the markers from the history (runtime/progress-history.ts);
 * - a run that started before the patch replays its earlier attempts as activities and runs its next
 *   ones as local activities; every worker must run this code before such runs resume (a worker
 *   without the patch cannot replay a run that took it).
 */
import type { Duration } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  scheduleActivity,
  scheduleLocalActivity,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AuditEntry } from '../lib/store/audit';
import {
  operatorDecisionSignal,
  operatorDecisionUpdate,
  progressQuery,
  type OperatorAction,
  type OperatorDecision,
  type Progress,
  type RunState,
  type StepError,
  type StepProgress,
  type WaitingForSignal,
} from './messages';
import { deviceAwaitingOperatorSignal } from './collection-action-messages';
import { PATCHES, SEARCH_ATTRIBUTES } from './names';

/**
 * `idempotent`: safe to repeat; retried with backoff, then the operator decides. A step whose device
 * call must not be re-sent blindly (commit, password set, unprovision — architecture law 4) is
 * idempotent too from here: its activity reads the firmware first on every attempt and continues
 * from what it finds. `validation`: a check before anything changes; a typed (non-retryable)
 * failure ends the run at once with its error.
 */
export type RetryClass = 'idempotent' | 'validation';

export interface StepDefinition<Name extends string = string> {
  id: string;
  title: string;
  stage: string;
  /** Name of the activity that performs the step. */
  activity: Name;
  retry: RetryClass;
  /** Limit for one attempt. */
  timeout: Duration;
  /** Attempts before the operator is asked. */
  attempts: number;
  /** The spec allows going on without this step. */
  skippable?: boolean;
  /**
   * Runs as an activity, not a local activity: the attempts before it are in the history before it
   * starts, and its result as soon as it ends. A worker that dies runs again every step since the last
   * record (see above), and no step may run again once a later one has taken away what it needs: the
   * firmware's commit (OOB8.6: an EOI device's CA-made key, which OOB8.3 installs, is discarded), the
   * OTP's use (IB5: IB9 reads an unused OTP report), the unprovision (DEP1: DEP1.0's login over TLS no
   * longer connects), the device's records forgotten (DEP2.forget: OOB2 reads them). P7 is one too:
   * the decision it records is its input, which an activity's history keeps and a marker does not,
   * and progress read from history needs it.
   */
  checkpoint?: true;
  /**
   * The `patched()` id (workflows/names.ts PATCHES) behind which this step was added: a run that
   * started before it does not take the step, and does not list it once it is past the patch.
   */
  patch?: string;
}

/** Backoff between attempts: 2 s, doubling, at most a minute (what Temporal's default policy does). */
const BACKOFF = { initialMs: 2_000, maximumMs: 60_000 } as const;
/** An activity's attempt (a checkpoint) heartbeats at least this often; a worker silent for longer has lost it. */
const HEARTBEAT_TIMEOUT = '20 seconds';

export const AWAITING_OPERATOR = 'AWAITING_OPERATOR';

/** Thrown inside the workflow when an operator aborts; `withCompensation` turns it into the end. */
export class OperatorAbort extends Error {
  constructor(
    readonly step: string,
    readonly operator: string,
  ) {
    super(`aborted by ${operator} at step ${step}`);
  }
}

function describeFailure(err: unknown): { error: StepError; nonRetryable: boolean } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    return {
      error: { code: cause.type ?? 'ApplicationFailure', message: cause.message },
      nonRetryable: cause.nonRetryable === true,
    };
  }
  if (cause instanceof Error) return { error: { code: cause.name, message: cause.message }, nonRetryable: false };
  return { error: { code: 'UNKNOWN', message: String(cause) }, nonRetryable: false };
}

/** The activities a runner needs besides the flow's own: P7's audit log. */
export interface RunnerActivities {
  recordAudit(entry: AuditEntry): Promise<string>;
}

type Activity<A> = keyof A & string;
type ArgsOf<A, K extends Activity<A>> = A[K] extends (...args: infer P) => unknown ? P : never;
type ResultOf<A, K extends Activity<A>> = A[K] extends (...args: never[]) => Promise<infer R> ? R : never;
/** What `run` resolves with: a step the spec lets an operator skip may have no result. */
export type StepOutcome<A, S extends StepDefinition<Activity<A>>> = S extends { skippable: true }
  ? ResultOf<A, S['activity']> | undefined
  : ResultOf<A, S['activity']>;

export interface StepRunnerOptions {
  operation: string;
  deviceUuid: string;
  /** The steps this run will take, in order: what `progress` lists before they run. */
  steps: readonly StepDefinition[];
  /** P7: the step that records each operator decision (it joins `progress` when it first runs). */
  audit: StepDefinition<'recordAudit'>;
}

/** `A` is the activities interface: `run` checks each step's arguments and result type against it. */
export class StepRunner<A extends RunnerActivities> {
  private readonly steps: StepProgress[];
  /** Steps that join `progress` only when they run: undo steps and the P7 audit. */
  private readonly onDemand = new Set<string>();
  private readonly compensations: Array<{ step: string; undoes: boolean; run: () => Promise<unknown> }> = [];
  private state: RunState = 'running';
  private stage = 'starting';
  private awaiting?: { step: StepDefinition; error: StepError };
  private waiting?: WaitingForSignal;
  private decision?: OperatorDecision;

  constructor(private readonly options: StepRunnerOptions) {
    this.steps = options.steps.map(progressEntry);
    this.onDemand.add(options.audit.id);
    setHandler(progressQuery, () => this.progress());
    setHandler(
      operatorDecisionUpdate,
      async (decision) => {
        this.decision = decision;
        await condition(() => this.decision === undefined || this.state !== 'awaiting-operator');
        return this.progress();
      },
      { validator: (decision) => this.validate(decision) },
    );
    setHandler(operatorDecisionSignal, (decision) => {
      // Signals cannot be refused: an invalid one is logged and ignored, the run keeps waiting.
      try {
        this.validate(decision);
        this.decision = decision;
      } catch (err) {
        log.warn('operator decision ignored', { reason: (err as Error).message, deviceUuid: this.options.deviceUuid });
      }
    });
  }

  progress(): Progress {
    return {
      operation: this.options.operation,
      deviceUuid: this.options.deviceUuid,
      state: this.state,
      stage: this.stage,
      steps: this.steps.map((s) => ({ ...s })),
      ...(this.awaiting
        ? {
            awaiting: {
              step: this.awaiting.step.id,
              error: this.awaiting.error,
              allowed: this.allowed(this.awaiting.step),
            },
          }
        : {}),
      ...(this.waiting ? { waiting: { ...this.waiting } } : {}),
    };
  }

  private allowed(step: StepDefinition): OperatorAction[] {
    return step.skippable ? ['retry', 'skip', 'abort'] : ['retry', 'abort'];
  }

  private validate(decision: OperatorDecision): void {
    if (!this.awaiting) throw new Error('the run is not waiting for an operator decision');
    if (decision.step && decision.step !== this.awaiting.step.id) {
      throw new Error(`the run waits at step ${this.awaiting.step.id}, not ${decision.step}`);
    }
    if (!this.allowed(this.awaiting.step).includes(decision.action)) {
      throw new Error(`step ${this.awaiting.step.id} (${this.awaiting.step.title}) may not be skipped`);
    }
    if (!decision.operator) throw new Error('a decision names the operator who made it');
  }

  private entry(step: StepDefinition): StepProgress {
    const found = this.steps.find((s) => s.id === step.id);
    if (found) return found;
    if (!this.onDemand.has(step.id)) {
      throw ApplicationFailure.nonRetryable(`step ${step.id} is not in this run's catalogue`, 'STEP_UNKNOWN');
    }
    const added = progressEntry(step);
    this.steps.push(added);
    return added;
  }

  /**
   * `patched(patchId)` for this run (workflows/names.ts PATCHES). When the run does not take the
   * patch — it replays a history from before it — the steps the patch added leave the step list:
   * the run will never take them, and `progress` must not show them pending forever.
   */
  takesPatch(patchId: string): boolean {
    if (patched(patchId)) return true;
    const added = new Set(this.options.steps.filter((s) => s.patch === patchId).map((s) => s.id));
    const kept = this.steps.filter((s) => !(added.has(s.id) && s.status === 'pending'));
    this.steps.splice(0, this.steps.length, ...kept);
    return false;
  }

  private setStage(stage: string): void {
    if (stage === this.stage) return;
    this.stage = stage;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
  }

  /**
   * Registers how to undo `step` before it runs: the step may succeed and its result be lost in a
   * crash, so the undo must already be known (and be idempotent). The undo step joins `progress`
   * only if compensation runs it.
   */
  onAbort<U extends StepDefinition<Activity<A>>>(
    step: StepDefinition,
    undo: U,
    ...args: ArgsOf<A, U['activity']>
  ): void {
    this.onDemand.add(undo.id);
    this.compensations.unshift({ step: step.id, undoes: true, run: () => this.run(undo, ...args) });
  }

  /**
   * Runs `step`, which is not in the run's step list, when the flow needs it (such as a read the
   * flow makes before it decides how to undo): it joins `progress` only once it runs.
   */
  async runOnDemand<S extends StepDefinition<Activity<A>>>(
    step: S,
    ...args: ArgsOf<A, S['activity']>
  ): Promise<StepOutcome<A, S>> {
    this.onDemand.add(step.id);
    return this.run(step, ...args);
  }

  /**
   * Past `step` (a point of no return, such as the firmware's commit) the work done stays: the undo
   * actions registered so far are dropped, and an abort runs only `record`, which leaves the records
   * consistent with what was kept (docs/architecture.md, abort matrix).
   */
  keepWorkDone<U extends StepDefinition<Activity<A>>>(
    step: StepDefinition,
    record: U,
    ...args: ArgsOf<A, U['activity']>
  ): void {
    this.onDemand.add(record.id);
    this.compensations.splice(0, this.compensations.length, {
      step: step.id,
      undoes: false,
      run: () => this.run(record, ...args),
    });
  }

  /**
   * Runs one step and resolves with its result — or, for a step the spec lets an operator skip,
   * `undefined` when one did. A validation step's typed failure ends the run; any other failure,
   * once the step's attempts are spent, waits for an operator.
   */
  async run<S extends StepDefinition<Activity<A>>>(
    step: S,
    ...args: ArgsOf<A, S['activity']>
  ): Promise<StepOutcome<A, S>> {
    const entry = this.entry(step);
    this.setStage(step.stage);
    for (;;) {
      const outcome = await this.attempts(step, entry, args);
      if ('result' in outcome) return outcome.result as StepOutcome<A, S>;
      if (step.retry === 'validation' && outcome.nonRetryable) {
        entry.status = 'failed';
        throw ApplicationFailure.create({
          type: outcome.error.code,
          message: outcome.error.message,
          nonRetryable: true,
        });
      }
      const decision = await this.askOperator(step, entry, outcome.error);
      if (decision.action === 'skip') {
        entry.status = 'skipped';
        entry.reason = skipReason(decision);
        return undefined as StepOutcome<A, S>;
      }
      if (decision.action === 'abort') {
        entry.status = 'failed';
        throw new OperatorAbort(step.id, decision.operator);
      }
    }
  }

  /**
   * Waits, after `step` ran, for an operator's signal (or `timeout`, when given): the step shows
   * `waiting` and the run `waiting-for-signal`, with `signal` and `message` in its progress, until
   * `done()` holds. A run started by a collection action also tells the action it waits (patched);
   * otherwise only workflow state changes. Resolves with whether `done()` held (false: the timeout
   * passed).
   */
  async waitForSignal(
    step: StepDefinition,
    wait: { signal: string; message: string },
    done: () => boolean,
    timeout?: Duration,
  ): Promise<boolean> {
    const entry = this.entry(step);
    entry.status = 'waiting';
    this.state = 'waiting-for-signal';
    this.waiting = { step: step.id, ...wait };
    try {
      await this.tellParent(
        step,
        { code: 'WAITING_FOR_SIGNAL', message: wait.message },
        PATCHES.tellActionWaitingForSignal,
      );
      return timeout === undefined ? (await condition(done), true) : await condition(done, timeout);
    } finally {
      this.waiting = undefined;
      this.state = 'running';
      entry.status = 'succeeded';
    }
  }

  /** One round of a step: up to `attempts` attempts with backoff between them, each one counted. */
  private async attempts(
    step: StepDefinition,
    entry: StepProgress,
    args: unknown[],
  ): Promise<{ result: unknown } | { error: StepError; nonRetryable: boolean }> {
    for (let attempt = 1; ; attempt++) {
      entry.status = 'running';
      try {
        const summary = `${step.id} ${step.title}`;
        const retry = { maximumAttempts: 1 };
        const result =
          !step.checkpoint && patched(PATCHES.localSteps)
            ? await scheduleLocalActivity(step.activity, args, { summary, startToCloseTimeout: step.timeout, retry })
            : await scheduleActivity(step.activity, args, {
                summary,
                startToCloseTimeout: step.timeout,
                // Cancellation and a dead worker reach the attempt through heartbeats (activities/attempt.ts).
                heartbeatTimeout: HEARTBEAT_TIMEOUT,
                retry,
              });
        entry.attempts += 1;
        entry.status = 'succeeded';
        delete entry.lastError;
        return { result };
      } catch (err) {
        const failure = describeFailure(err);
        entry.attempts += 1;
        entry.lastError = failure.error;
        if (failure.nonRetryable || attempt >= step.attempts) return failure;
        await sleep(Math.min(BACKOFF.initialMs * 2 ** (attempt - 1), BACKOFF.maximumMs));
      }
    }
  }

  private async askOperator(step: StepDefinition, entry: StepProgress, error: StepError): Promise<OperatorDecision> {
    entry.status = 'awaiting-operator';
    this.state = 'awaiting-operator';
    this.awaiting = { step, error };
    const stage = this.stage;
    this.setStage(AWAITING_OPERATOR);
    log.warn(`${step.id} ${step.title}: retry budget exhausted, waiting for an operator`, {
      deviceUuid: this.options.deviceUuid,
      code: error.code,
    });
    await this.tellParent(step, error, PATCHES.tellActionAwaitingOperator);
    await condition(() => this.decision !== undefined);
    const decision = this.decision as OperatorDecision;
    // Reflect the decision before releasing the update's caller, so the progress it gets back is current.
    entry.status = decision.action === 'retry' ? 'running' : decision.action === 'skip' ? 'skipped' : 'failed';
    if (decision.action === 'skip') entry.reason = skipReason(decision);
    this.decision = undefined;
    this.awaiting = undefined;
    this.state = 'running';
    this.setStage(stage);
    log.info(`${step.id} ${step.title}: operator decided ${decision.action}`, {
      deviceUuid: this.options.deviceUuid,
      operator: decision.operator,
      reason: decision.reason,
    });
    const audit: AuditEntry = {
      actor: decision.operator,
      action: `${this.options.operation}.${decision.action}`,
      target: this.options.deviceUuid,
      outcome: 'success',
      details: {
        step: step.id,
        error: error.code,
        reason: decision.reason ?? null,
        workflowId: workflowInfo().workflowId,
      },
    };
    // The audit keeps the stage of the step decided on: it is part of that decision, not a stage.
    const { audit: auditStep } = this.options;
    await (this as StepRunner<RunnerActivities>).run({ ...auditStep, stage }, audit);
    return decision;
  }

  /**
   * A run started by a collection action tells it that it now waits for an operator — a decision at
   * the retry limit, or a signal such as UPD4's apply or skip — so the action reports the device
   * `waiting` and goes on without it (issue 11 §3). The action is signalled by workflow id alone: it
   * may have continued as new since it started this run. A parent that has closed cannot be told;
   * that is logged and the run waits all the same. Patched (`patch`): runs that began to wait before
   * this existed replay without the signal.
   */
  private async tellParent(step: StepDefinition, error: StepError, patch: string): Promise<void> {
    const { parent, workflowId } = workflowInfo();
    if (!parent || !patched(patch)) return;
    try {
      await getExternalWorkflowHandle(parent.workflowId).signal(deviceAwaitingOperatorSignal, {
        device: this.options.deviceUuid,
        workflowId,
        step: step.id,
        errorCode: error.code,
        errorMessage: `${step.id} ${step.title}: ${error.message}`,
      });
    } catch (err) {
      // A cancelled run is not a parent that could not be told: the cancellation goes on.
      if (isCancellation(err)) throw err;
      log.warn('the collection action that started this run could not be told it waits for an operator', {
        deviceUuid: this.options.deviceUuid,
        action: parent.workflowId,
        reason: (err as Error).message,
      });
    }
  }

  /**
   * Runs `body`; if an operator aborts, undoes what was done (in reverse, each undo on its own, so
   * one failing undo does not stop the others) and ends the run with `OPERATOR_ABORTED`.
   */
  async withCompensation<T>(body: () => Promise<T>): Promise<T> {
    try {
      const result = await body();
      this.state = 'completed';
      this.setStage('COMPLETED');
      return result;
    } catch (err) {
      if (!(err instanceof OperatorAbort)) {
        this.state = 'failed';
        this.setStage('FAILED');
        throw err;
      }
      this.state = 'compensating';
      this.setStage('COMPENSATING');
      await CancellationScope.nonCancellable(async () => {
        for (const compensation of this.compensations) {
          try {
            await compensation.run();
            const entry = this.steps.find((s) => s.id === compensation.step);
            if (compensation.undoes && entry && entry.status === 'succeeded') entry.status = 'compensated';
          } catch (undoErr) {
            log.error(`undo of ${compensation.step} failed`, { error: describeFailure(undoErr).error });
          }
        }
      });
      this.state = 'aborted';
      this.setStage('ABORTED');
      throw ApplicationFailure.create({ type: 'OPERATOR_ABORTED', message: err.message, nonRetryable: true });
    }
  }
}

/** What a skipped step says: who skipped it, and why when they said. */
export function skipReason(decision: Pick<OperatorDecision, 'operator' | 'reason'>): string {
  return `skipped by ${decision.operator}${decision.reason ? `: ${decision.reason}` : ''}`;
}

function progressEntry(step: StepDefinition): StepProgress {
  return { id: step.id, title: step.title, stage: step.stage, status: 'pending', attempts: 0 };
}
