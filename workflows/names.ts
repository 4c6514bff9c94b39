/**
 * Names shared by workflows, workers and front doors: task queues and search attributes. One
 * module, so that a rename is one change. Safe to import from the workflow sandbox and from
 * clients (it pulls in no activity code).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { DeviceUuid } from '../lib/device-uuid';

export const TASK_QUEUES = {
  /** Device lifecycle workflows and their activities. */
  lifecycle: 'amtflow-lifecycle',
} as const;

export const SEARCH_ATTRIBUTES = {
  deviceUuid: defineSearchAttributeKey('AmtDeviceUuid', SearchAttributeType.KEYWORD),
  fqdn: defineSearchAttributeKey('AmtFqdn', SearchAttributeType.KEYWORD),
  collection: defineSearchAttributeKey('AmtCollection', SearchAttributeType.KEYWORD),
  operation: defineSearchAttributeKey('AmtOperation', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('AmtStage', SearchAttributeType.KEYWORD),
} as const;

/** Every lifecycle run of a device has this id, so the server refuses a second one in flight. */
export function deviceWorkflowId(deviceUuid: DeviceUuid): string {
  return `amt-device-${deviceUuid}`;
}

/**
 * `patched()` ids of steps added to flows that runs in flight may have started without: such a run
 * replays without the step, a new run takes it. Flows ask `runner.takesPatch(id)` and the step names
 * its patch in the catalogue (`patch`), so a run that does not take it does not list it either.
 * Deprecate one once no run older than it is open.
 */
export const PATCHES = {
  /** I7 in update (issue 12 §3). */
  updateClock: 'update-resyncs-amt-clock',
  /** UPD4's warning before 802.1X wired settings in update (issue 12 §6). */
  updateWiredWarning: 'update-warns-before-wired-8021x',
  /** I5 in in-band provisioning and its undo in removal (issue 12 §6). */
  securityGroups: 'amt-account-security-groups',
  /** REN1's check of the new name and domain before the removal of a rename or move. */
  renameCheck: 'REN1-check-new-name',
  /** A run started by a collection action tells it when it parks for an operator (issue 11 §3). */
  tellActionAwaitingOperator: 'tell-collection-action-awaiting-operator',
  /** A collection action takes that word and goes on without the device (issue 11 §3). */
  actionGoesOnPastWaiting: 'collection-action-goes-on-past-waiting',
  /** …and when it waits for an operator's signal (UPD4's apply or skip). */
  tellActionWaitingForSignal: 'tell-collection-action-waiting-for-signal',
  /** Aborted at OOB8.6, the firmware is read before I2.undo: a commit that took effect keeps the work (issue 9). */
  readCommitBeforeUndo: 'read-commit-before-undo',
  /** Renewal and rotation reach the address P2 probed, not the contact record of each call (issue 9). */
  renewalAndRotationEndpoint: 'renew-rotate-use-run-endpoint',
  /** A run's steps run as local activities, recorded as markers (issue 15 §3: Temporal's cost per device). */
  localSteps: 'steps-as-local-activities',
} as const;
