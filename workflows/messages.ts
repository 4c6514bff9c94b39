/**
 * Queries, updates and signals of the lifecycle workflows. Front doors (API, CLI) import these
 * definitions without importing any workflow or activity code.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export type StepStatus =
  'pending' | 'running' | 'succeeded' | 'skipped' | 'awaiting-operator' | 'failed' | 'compensated';

export interface StepError {
  /** Stable error code (e.g. `SPN_CONFLICT`, `PT_STATUS_INVALID_PT_MODE`) or the failure type. */
  code: string;
  message: string;
}

export interface StepProgress {
  /** Spec requirement id, e.g. `OOB8.2`. */
  id: string;
  title: string;
  stage: string;
  status: StepStatus;
  /** Activity attempts made so far, across operator retries. */
  attempts: number;
  lastError?: StepError;
}

export type RunState = 'running' | 'awaiting-operator' | 'compensating' | 'completed' | 'failed' | 'aborted';

export type OperatorAction = 'retry' | 'skip' | 'abort';

export interface Progress {
  operation: string;
  deviceUuid: string;
  state: RunState;
  /** The stage of the current step, or the run's final state. */
  stage: string;
  steps: StepProgress[];
  /** Present while the run waits for an operator: which step, why, and what may be decided. */
  awaiting?: { step: string; error: StepError; allowed: OperatorAction[] };
}

export interface OperatorDecision {
  action: OperatorAction;
  /** Operator name, recorded in the audit log and the run's history. */
  operator: string;
  /** Step the decision is meant for; a decision for another step is refused. */
  step?: string;
  reason?: string;
}

/** Every step with status, attempts and last error. */
export const progressQuery = defineQuery<Progress>('progress');

/** The operator's decision for a parked run; validated, so the caller learns at once if it is refused. */
export const operatorDecisionUpdate = defineUpdate<Progress, [OperatorDecision]>('decide');

/** The same decision as a signal, for operators using the Temporal Web UI's "Send a Signal". */
export const operatorDecisionSignal = defineSignal<[OperatorDecision]>('operator-decision');

/** REN2: the rename or domain move of the computer has completed; re-provisioning may start. */
export const renameCompletedSignal =
  defineSignal<[{ hostName: string; domain: string; operator: string }]>('rename-completed');
