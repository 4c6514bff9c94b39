/**
 * The lifecycle operations as a Temporal client sees them: start a device's run, signal, query and
 * decide it. The one place front doors (API, CLI, hello service) reach the lifecycle workflows;
 * they parse what they received and call these.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type {
  DeviceUuid,
  ForgetReason,
  LifecycleOperation,
  ProvisioningMode,
  RemovalMode,
} from '../activities/contract';
import {
  forgetDevice,
  provisionDevice,
  removeProvisioning,
  renameOrMoveDevice,
  renewDeviceCertificate,
  rotateAdminPassword,
  updateManagementController,
} from '../workflows';
import {
  operatorDecisionUpdate,
  progressQuery,
  renameCompletedSignal,
  wiredIeee8021xDecisionUpdate,
  type OperatorAction,
  type Progress,
} from '../workflows/messages';
import { SEARCH_ATTRIBUTES, TASK_QUEUES, deviceWorkflowId } from '../workflows/names';
import { fetchProgressFromHistory } from './progress-history';

/** A device already has a lifecycle run in flight; the message names it so the operator can find it. */
export class OperationInFlightError extends Error {
  override readonly name = 'OperationInFlightError';
  readonly code = 'OPERATION_IN_FLIGHT';
  constructor(
    readonly deviceUuid: DeviceUuid,
    readonly inFlight: string,
    readonly workflowId: string,
  ) {
    super(
      `device ${deviceUuid} already has a ${inFlight} operation in flight (workflow ${workflowId}); wait for it or decide it first`,
    );
  }
}

/** How long a progress query waits for a worker before progress is read from the history instead. */
const QUERY_DEADLINE_MS = 5_000;

const WORKFLOWS = {
  provision: provisionDevice,
  update: updateManagementController,
  remove: removeProvisioning,
  rename_or_move: renameOrMoveDevice,
  renew_certificate: renewDeviceCertificate,
  rotate_password: rotateAdminPassword,
  forget: forgetDevice,
} as const satisfies Record<LifecycleOperation, unknown>;

export type LifecycleInputs = {
  [K in LifecycleOperation]: Parameters<(typeof WORKFLOWS)[K]>[0];
};

export interface LifecycleClientOptions {
  /** Task queue of the lifecycle workers; tests pass their own. */
  taskQueue?: string;
}

/**
 * Starts a lifecycle operation for a device. The workflow id derives from the device UUID, so the
 * Temporal server itself guarantees one operation per device; a second request is refused with
 * OperationInFlightError naming the operation already in flight.
 */
export async function startLifecycle<K extends LifecycleOperation>(
  client: Client,
  operation: K,
  input: LifecycleInputs[K],
  options: LifecycleClientOptions = {},
): Promise<WorkflowHandle> {
  const workflowId = deviceWorkflowId(input.deviceUuid);
  try {
    return await client.workflow.start(WORKFLOWS[operation] as (arg: LifecycleInputs[K]) => Promise<unknown>, {
      workflowId,
      taskQueue: options.taskQueue ?? TASK_QUEUES.lifecycle,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.deviceUuid, value: input.deviceUuid },
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

/**
 * The device's lifecycle run in flight (its workflow id is the device's), or undefined: how a
 * front door tells whether a message may still move the device's address (issue 9).
 */
export async function runInFlight(
  client: Client,
  deviceUuid: DeviceUuid,
): Promise<{ operation: string; workflowId: string } | undefined> {
  const workflowId = deviceWorkflowId(deviceUuid);
  try {
    const run = await client.workflow.getHandle(workflowId).describe();
    if (run.status.name !== 'RUNNING') return undefined;
    return { operation: run.typedSearchAttributes.get(SEARCH_ATTRIBUTES.operation) ?? run.type, workflowId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The operator commands the API and the CLI both offer, over one Temporal client. */
export function operatorCommands(client: Client, options: LifecycleClientOptions = {}) {
  const handle = (deviceUuid: DeviceUuid) => client.workflow.getHandle(deviceWorkflowId(deviceUuid));
  const start = async <K extends LifecycleOperation>(operation: K, input: LifecycleInputs[K]) =>
    (await startLifecycle(client, operation, input, options)).workflowId;
  return {
    provision: (deviceUuid: DeviceUuid, mode: ProvisioningMode, operator: string) =>
      start('provision', { deviceUuid, mode, requestedBy: operator }),
    update: (deviceUuid: DeviceUuid, operator: string) => start('update', { deviceUuid, requestedBy: operator }),
    remove: (deviceUuid: DeviceUuid, mode: RemovalMode, operator: string) =>
      start('remove', { deviceUuid, mode, requestedBy: operator }),
    /** Issue 11 §4, on demand: what the renewal and rotation schedules start. */
    renewCertificate: (deviceUuid: DeviceUuid, operator: string) =>
      start('renew_certificate', { deviceUuid, requestedBy: operator }),
    rotatePassword: (deviceUuid: DeviceUuid, operator: string) =>
      start('rotate_password', { deviceUuid, requestedBy: operator }),
    /** Issue 11 §2: forget a device that is gone, without reaching it (workflows/forget-device.ts). */
    forget: (deviceUuid: DeviceUuid, reason: ForgetReason, note: string | undefined, operator: string) =>
      start('forget', { deviceUuid, reason, ...(note ? { note } : {}), requestedBy: operator }),
    rename: (
      deviceUuid: DeviceUuid,
      target: { hostName: string; domain: string; mode: ProvisioningMode },
      operator: string,
    ) => start('rename_or_move', { deviceUuid, ...target, requestedBy: operator }),
    /** REN2: the operator's word that the rename or move has taken place. */
    async renameComplete(deviceUuid: DeviceUuid, target: { hostName: string; domain: string }, operator: string) {
      await handle(deviceUuid).signal(renameCompletedSignal, { ...target, operator });
    },
    /** UPD4: the operator's answer to an update waiting at its warning before 802.1X wired settings. */
    async wiredIeee8021x(deviceUuid: DeviceUuid, answer: { apply: boolean; reason?: string }, operator: string) {
      await handle(deviceUuid).executeUpdate(wiredIeee8021xDecisionUpdate, { args: [{ ...answer, operator }] });
    },
    /**
     * The progress of the device's current or last run: asked of the run while it is open and a
     * worker answers; otherwise (the run closed, no worker running, the query failing) read from the
     * run's history, which gives the same answer (`source` says which). Errors: the device has no
     * run (WorkflowNotFoundError), the id's run is not a lifecycle flow (NotALifecycleRunError).
     */
    async progress(deviceUuid: DeviceUuid): Promise<Progress> {
      const run = handle(deviceUuid);
      const { status } = await run.describe();
      if (status.name === 'RUNNING') {
        try {
          const live = await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
            run.query(progressQuery),
          );
          return { ...live, source: 'query' };
        } catch {
          // No worker polls the task queue (or it did not answer in time): the history still tells.
        }
      }
      return fetchProgressFromHistory(client, deviceWorkflowId(deviceUuid));
    },
    /** Sends the decision as a validated update: a refused decision comes back as an error at once. */
    async decide(
      deviceUuid: DeviceUuid,
      action: OperatorAction,
      operator: string,
      extra: { step?: string; reason?: string } = {},
    ): Promise<Progress> {
      return handle(deviceUuid).executeUpdate(operatorDecisionUpdate, { args: [{ action, operator, ...extra }] });
    },
  };
}

export type OperatorCommands = ReturnType<typeof operatorCommands>;
