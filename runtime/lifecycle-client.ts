import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { LifecycleOperation } from '../activities/contract';
import { provisionDevice, removeProvisioning, renameOrMoveDevice, updateManagementController } from '../workflows';
import { SEARCH_ATTRIBUTES, TASK_QUEUES, deviceWorkflowId } from '../workflows/names';

/** A device already has a lifecycle run in flight; the message names it so the operator can find it. */
export class OperationInFlightError extends Error {
  override readonly name = 'OperationInFlightError';
  readonly code = 'OPERATION_IN_FLIGHT';
  constructor(
    readonly deviceUuid: string,
    readonly inFlight: string,
    readonly workflowId: string,
  ) {
    super(
      `device ${deviceUuid} already has a ${inFlight} operation in flight (workflow ${workflowId}); wait for it or decide it first`,
    );
  }
}

const WORKFLOWS = {
  provision: provisionDevice,
  update: updateManagementController,
  remove: removeProvisioning,
  rename: renameOrMoveDevice,
} as const;

type Inputs = {
  [K in LifecycleOperation]: Parameters<(typeof WORKFLOWS)[K]>[0];
};

/**
 * Starts a lifecycle operation for a device. The workflow id derives from the device UUID, so the
 * Temporal server itself guarantees one operation per device; a second request is refused with
 * the operation already in flight.
 */
export async function startLifecycle<K extends LifecycleOperation>(
  client: Client,
  operation: K,
  input: Inputs[K],
  options: { taskQueue?: string } = {},
): Promise<WorkflowHandle> {
  const workflowId = deviceWorkflowId(input.deviceUuid);
  try {
    return await client.workflow.start(WORKFLOWS[operation] as (arg: Inputs[K]) => Promise<unknown>, {
      workflowId,
      taskQueue: options.taskQueue ?? TASK_QUEUES.lifecycle,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.deviceUuid, value: input.deviceUuid.toLowerCase() },
        { key: SEARCH_ATTRIBUTES.operation, value: operation },
      ],
      staticSummary: `${operation} AMT device ${input.deviceUuid}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const running = await client.workflow.getHandle(workflowId).describe();
    const inFlight = running.typedSearchAttributes.get(SEARCH_ATTRIBUTES.operation) ?? running.type;
    throw new OperationInFlightError(input.deviceUuid, inFlight, workflowId);
  }
}
