/**
 * The collection action as a client sees it: its kinds, its progress query. Front doors (API, CLI)
 * import these without importing any workflow code.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ActionResultStatus } from '../lib/store/vocabulary';

/**
 * What a collection action does to each device: a lifecycle run (provision, update, remove,
 * renew-certificate, rotate-password) or one activity (automatic provisioning on or off; power on,
 * off, reset or cycle through the firmware — OPS2, the activity `requestPowerChange`).
 */
export const COLLECTION_ACTION_KINDS = [
  'provision',
  'update',
  'remove',
  'enable-automatic-provisioning',
  'disable-automatic-provisioning',
  'renew-certificate',
  'rotate-password',
  'power-on',
  'power-off',
  'power-reset',
  'power-cycle',
] as const;
export type CollectionActionKind = (typeof COLLECTION_ACTION_KINDS)[number];

/**
 * Devices per status. `started` counts runs in flight; each ends as succeeded, refused or failed, or
 * is `waiting`: parked for an operator, no longer waited for (it may still end while the action runs).
 */
export type ActionCounts = Record<ActionResultStatus, number>;

export interface CollectionActionProgress {
  actionId: string;
  kind: CollectionActionKind;
  requestedBy: string;
  /** The collection the selector names, if it names one (what the API checks the caller's right against). */
  collection?: string;
  state: 'running' | 'completed';
  /** Devices the selector named when the action started. */
  total: number;
  /**
   * Devices the action is done with: a final status (busy, refused, succeeded, failed), or waiting
   * for an operator — the action stopped waiting for those and released their throttle slot.
   */
  handled: number;
  counts: ActionCounts;
  batches: number;
  /** Devices of the current batch whose run has neither ended nor parked for an operator. */
  inFlight: string[];
  throttle: { maxConcurrent: number; batchDelay: number | string };
}

/**
 * What a device's lifecycle run, started by a collection action, tells the action when it parks
 * for an operator (workflows/step-runner.ts): the step and its error as progress shows them —
 * secret-free, like every step error.
 */
export interface DeviceAwaitingOperator {
  device: string;
  workflowId: string;
  step: string;
  errorCode: string;
  errorMessage: string;
}

export const deviceAwaitingOperatorSignal = defineSignal<[DeviceAwaitingOperator]>('device-awaiting-operator');

export const collectionActionProgressQuery = defineQuery<CollectionActionProgress>('collection-action-progress');

/** Devices one run of a collection action handles before it continues as new: about a thousand history events. */
export const DEVICES_PER_RUN = 100;
