import type { Client } from '@temporalio/client';
import type { DeviceUuid, ProvisioningMode } from '../activities/contract';
import type { Store } from '../lib/store';
import { OperationInFlightError, startLifecycle } from '../runtime/lifecycle-client';

export type AutomaticProvisioningOutcome =
  | { status: 'started'; workflowId: string }
  /** The device's run is already going: hellos repeat every minute, agents may report again. */
  | { status: 'in-flight'; operation: string; workflowId: string }
  /** The device's or its collection's switch is off (DEP3, REN3). */
  | { status: 'disabled' };

export interface AutomaticProvisioningDeps {
  store: Pick<Store, 'devices'>;
  client: Client;
  /** Task queue of the lifecycle workers; tests pass their own. */
  taskQueue?: string;
}

/**
 * What a device's own message (a hello, OOB1; an agent report, IB4) may do by itself: start its
 * provisioning when automatic provisioning is effective for it. A run already in flight is a normal
 * outcome, not an error: the Temporal server keeps one run per device.
 */
export async function provisionAutomatically(
  deps: AutomaticProvisioningDeps,
  deviceUuid: DeviceUuid,
  mode: ProvisioningMode,
  requestedBy: string,
): Promise<AutomaticProvisioningOutcome> {
  if (!(await deps.store.devices.automaticProvisioning(deviceUuid)).enabled) return { status: 'disabled' };
  try {
    const handle = await startLifecycle(
      deps.client,
      'provision',
      { deviceUuid, mode, requestedBy },
      { taskQueue: deps.taskQueue },
    );
    return { status: 'started', workflowId: handle.workflowId };
  } catch (err) {
    if (!(err instanceof OperationInFlightError)) throw err;
    return { status: 'in-flight', operation: err.inFlight, workflowId: err.workflowId };
  }
}
