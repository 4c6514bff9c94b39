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
