/**
 * Queries, updates and signals of the lifecycle workflows. Front doors (API, CLI) import these
 * definitions without importing any workflow or activity code.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * `waiting`: the step's check ran and the run now waits for an operator's signal (REN2 until
 * `rename-completed`); `skipped` always comes with the `reason` (who skipped it and why).
 */
export type StepStatus =
  'pending' | 'running' | 'succeeded' | 'skipped' | 'awaiting-operator' | 'waiting' | 'failed' | 'compensated';

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
  /** Why the step was skipped: the operator who decided it and their reason. Only with `skipped`. */
  reason?: string;
}

/**
 * `awaiting-operator`: a step spent its attempts and waits for retry / skip / abort;
 * `waiting-for-signal`: the flow itself waits for an operator's signal (REN2), named in `waiting`.
 */
export type RunState =
  'running' | 'awaiting-operator' | 'waiting-for-signal' | 'compensating' | 'completed' | 'failed' | 'aborted';

/** A run waiting for an operator's signal: which step, the signal's name, and what to do, in words. */
export interface WaitingForSignal {
  step: string;
  /** The signal's name as the Web UI's "Send a Signal" takes it, e.g. `rename-completed`. */
  signal: string;
  /** E.g. `waiting for rename-complete: …`, with the CLI command and the signal's input. */
  message: string;
}

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
  /** Present while the run waits for an operator's signal. */
  waiting?: WaitingForSignal;
  /** `history` when answered from the run's event history (no worker running, or the run closed). */
  source?: 'query' | 'history';
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

/** UPD4: the operator's answer to the warning before 802.1X wired settings are re-applied. */
export interface WiredIeee8021xDecision {
  /** true: apply the profile's wired settings anyway; false: skip them, the device keeps its own. */
  apply: boolean;
  operator: string;
  reason?: string;
}

/**
 * UPD4: apply or skip the 802.1X wired settings of an update waiting at its warning; validated, so
 * the caller learns at once when the run is not asking (or `apply` is not a boolean).
 */
export const wiredIeee8021xDecisionUpdate = defineUpdate<void, [WiredIeee8021xDecision]>('wired-8021x-decide');

/** The same answer as a signal, for the Web UI's "Send a Signal": one the run cannot take is logged and ignored. */
export const wiredIeee8021xDecisionSignal = defineSignal<[WiredIeee8021xDecision]>('wired-8021x-decision');
