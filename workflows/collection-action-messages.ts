/**
 * The collection action as a client sees it: its kinds, its progress query. Front doors (API, CLI)
 * import these without importing any workflow code.
 */
import { defineQuery } from '@temporalio/workflow';
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

/** Devices per status. `started` counts runs in flight; each ends as succeeded, refused or failed. */
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
  /** Devices with a final status (busy, refused, succeeded, failed). */
  handled: number;
  counts: ActionCounts;
  batches: number;
  /** Devices of the current batch whose run has not ended. */
  inFlight: string[];
  throttle: { maxConcurrent: number; batchDelay: number | string };
}

export const collectionActionProgressQuery = defineQuery<CollectionActionProgress>('collection-action-progress');

/** Devices one run of a collection action handles before it continues as new: about a thousand history events. */
export const DEVICES_PER_RUN = 100;
