/**
 * Runs a lifecycle workflow's steps from one catalogue (spec id, title, stage, retry class,
 * timeouts), so that the activity summaries in the Web UI, the `progress` query, the logs and the
 * spec tell one story. A step that exhausts its retry budget does not fail the run: it parks in
 * AWAITING_OPERATOR until an operator decides `retry`, `skip` (where the spec allows) or `abort`.
 */
import type { Duration } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  scheduleActivity,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
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
} from './messages';
import { SEARCH_ATTRIBUTES } from './names';

/**
 * `idempotent`: safe to repeat; retried with backoff. `one-shot`: the device call must not be
 * re-sent blindly (commit, password set, unprovision); its activity reads the firmware first on
 * every attempt and continues from what it finds, so a retry after an uncertain outcome is a
 * verification, not a second send. `validation`: checks before anything changes; a failure ends the
 * run at once with its typed error.
 */
export type RetryClass = 'idempotent' | 'one-shot' | 'validation';

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
}

/** Retry timing; tests shorten it, production keeps the defaults. */
export interface RetryTiming {
  initialInterval: Duration;
  maximumInterval: Duration;
}

export const DEFAULT_RETRY_TIMING: RetryTiming = { initialInterval: '2 seconds', maximumInterval: '1 minute' };

export const AWAITING_OPERATOR = 'AWAITING_OPERATOR';

/** Thrown inside the workflow when an operator aborts; `withCompensation` turns it into the end. */
class OperatorAbort extends Error {
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

export interface StepRunnerOptions {
  operation: string;
  deviceUuid: string;
  steps: readonly StepDefinition[];
  timing?: RetryTiming;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyActivities = Record<string, (...args: any[]) => Promise<unknown>>;

/** `A` is the activities interface: `run` then checks each step's arguments and result type. */
export class StepRunner<A extends object = AnyActivities> {
  private readonly steps: StepProgress[];
  private readonly compensations: Array<{ step: string; run: () => Promise<void> }> = [];
  private state: RunState = 'running';
  private stage = 'starting';
  private awaiting?: { step: StepDefinition; error: StepError };
  private decision?: OperatorDecision;
  private readonly timing: RetryTiming;

  constructor(private readonly options: StepRunnerOptions) {
    this.timing = options.timing ?? DEFAULT_RETRY_TIMING;
    this.steps = options.steps.map((s) => ({
      id: s.id,
      title: s.title,
      stage: s.stage,
      status: 'pending',
      attempts: 0,
    }));
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
    if (!found) throw ApplicationFailure.nonRetryable(`step ${step.id} is not in this run's catalogue`, 'STEP_UNKNOWN');
    return found;
  }

  private setStage(stage: string): void {
    if (stage === this.stage) return;
    this.stage = stage;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
  }

  /**
   * Registers how to undo a step before the step runs: the step may succeed and its result be
   * lost in a crash, so the undo must already be known (and be idempotent).
   */
  onAbort(step: StepDefinition, undo: () => Promise<void>): void {
    this.compensations.unshift({ step: step.id, run: undo });
  }

  /** Runs one step; resolves with its result, or `undefined` when an operator skipped it. */
  async run<K extends keyof A & string>(
    step: StepDefinition<K>,
    ...args: A[K] extends (...a: infer P) => unknown ? P : never
  ): Promise<(A[K] extends (...a: never[]) => Promise<infer R> ? R : never) | undefined> {
    type Result = A[K] extends (...a: never[]) => Promise<infer R> ? R : never;
    const entry = this.entry(step);
    this.setStage(step.stage);
    for (;;) {
      entry.status = 'running';
      try {
        const result = await scheduleActivity<Result>(step.activity, args, {
          summary: `${step.id} ${step.title}`,
          startToCloseTimeout: step.timeout,
          retry: {
            initialInterval: this.timing.initialInterval,
            maximumInterval: this.timing.maximumInterval,
            backoffCoefficient: 2,
            maximumAttempts: step.attempts,
          },
        });
        entry.attempts += 1;
        entry.status = 'succeeded';
        delete entry.lastError;
        return result;
      } catch (err) {
        const { error, nonRetryable } = describeFailure(err);
        entry.attempts += nonRetryable ? 1 : step.attempts;
        entry.lastError = error;
        if (nonRetryable && step.retry === 'validation') {
          entry.status = 'failed';
          throw ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: true });
        }
        const decision = await this.askOperator(step, entry, error);
        if (decision.action === 'skip') {
          entry.status = 'skipped';
          return undefined;
        }
        if (decision.action === 'abort') {
          entry.status = 'failed';
          throw new OperatorAbort(step.id, decision.operator);
        }
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
    await condition(() => this.decision !== undefined);
    const decision = this.decision as OperatorDecision;
    // Reflect the decision before releasing the update's caller, so the progress it gets back is current.
    entry.status = decision.action === 'retry' ? 'running' : decision.action === 'skip' ? 'skipped' : 'failed';
    this.decision = undefined;
    this.awaiting = undefined;
    this.state = 'running';
    this.setStage(stage);
    log.info(`${step.id} ${step.title}: operator decided ${decision.action}`, {
      deviceUuid: this.options.deviceUuid,
      operator: decision.operator,
      reason: decision.reason,
    });
    await scheduleActivity(
      'recordAudit',
      [
        {
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
        },
      ],
      { summary: `P7 audit the operator's ${decision.action} at ${step.id}`, startToCloseTimeout: '30 seconds' },
    );
    return decision;
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
            if (entry && entry.status === 'succeeded') entry.status = 'compensated';
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
