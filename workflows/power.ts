import { ActivityFailure, ApplicationFailure, type Duration } from '@temporalio/common';
import { proxyActivities, scheduleActivity, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeviceUuid, HostPowerState, PowerAction, PowerStatus } from '../activities/contract';
import type { AmtInterface } from '../lib/amt';
import { inPool } from './pool';

const { recordAudit, listCollectionDevices } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export interface DevicePowerInput {
  deviceUuid: DeviceUuid;
  /** A change, or `read` for the current state only. */
  action: PowerAction | 'read';
  requestedBy: string;
}

export interface DevicePowerResult {
  deviceUuid: DeviceUuid;
  action: PowerAction | 'read';
  outcome: 'done' | 'already' | 'read' | 'failed';
  /** Attempts the change took (0 for `read`). */
  attempts: number;
  state?: HostPowerState;
  interface?: AmtInterface;
  status?: PowerStatus;
  /** The firmware's refusal, e.g. `POWER_ACTION_REFUSED: power on refused: … returned 2 (…)`. */
  error?: string;
  returnValue?: number | null;
}

const STEP = { startToCloseTimeout: '1 minute' } as const;

/** One power change through the activity, as a single attempt; the caller decides about retries. */
async function attempt(deviceUuid: DeviceUuid, action: PowerAction): Promise<Omit<DevicePowerResult, 'attempts'>> {
  try {
    const done = (await scheduleActivity('requestPowerChange', [{ deviceUuid, action }], {
      ...STEP,
      summary: `OPS2 power ${action}`,
      retry: { maximumAttempts: 1 },
    })) as { result: 'done' | 'already'; interface: AmtInterface; state: HostPowerState };
    return { deviceUuid, action, outcome: done.result, state: done.state, interface: done.interface };
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const details =
      cause instanceof ApplicationFailure ? (cause.details?.[0] as { returnValue?: number | null }) : undefined;
    const type = cause instanceof ApplicationFailure ? `${cause.type}: ` : '';
    return {
      deviceUuid,
      action,
      outcome: 'failed',
      error: `${type}${cause instanceof Error ? cause.message : String(cause)}`,
      ...(details && 'returnValue' in details ? { returnValue: details.returnValue ?? null } : {}),
    };
  }
}

/**
 * Sends `action`, and, while the device refuses or cannot be reached, waits `retryDelay` (a durable
 * timer) and sends it again, at most `retries` more times — Configuration Manager's retry behaviour
 * for power actions (defaults 3 and 2 minutes). A change the release does not offer is not retried.
 */
async function withRetries(
  deviceUuid: DeviceUuid,
  action: PowerAction,
  retries: number,
  retryDelay: Duration,
): Promise<DevicePowerResult> {
  for (let attempts = 1; ; attempts++) {
    const result = await attempt(deviceUuid, action);
    const final = result.outcome !== 'failed' || result.error?.startsWith('POWER_ACTION_NOT_OFFERED');
    if (final || attempts > retries) return { ...result, attempts };
    await sleep(retryDelay);
  }
}

/**
 * OPS2 for one device: power on, off (hard `off`, graceful `off-graceful` where the firmware
 * offers it), restart (`reset`, `reset-graceful`), power cycle, sleep, hibernate — through
 * CIM_PowerManagementService.RequestPowerStateChange, or EOI RemoteControl on firmware before AMT 6
 * — or just read the state. One attempt: a refusal is reported at once with the firmware's
 * ReturnValue (reading the state is tried 3 times). Audited (P7).
 */
export async function controlDevicePower(input: DevicePowerInput): Promise<DevicePowerResult> {
  const { deviceUuid, action } = input;
  let result: DevicePowerResult;
  if (action === 'read') {
    const status = (await scheduleActivity('readPowerState', [{ deviceUuid }], {
      ...STEP,
      summary: 'OPS2 read the power state',
      retry: { maximumAttempts: 3, initialInterval: '2 seconds' },
    })) as PowerStatus;
    result = { deviceUuid, action, outcome: 'read', attempts: 0, state: status.state, status };
  } else {
    // An operator at the console sees a refusal at once and decides; scheduled actions retry.
    result = await withRetries(deviceUuid, action, 0, '2 seconds');
  }
  if (action !== 'read')
    await recordAudit({
      actor: input.requestedBy,
      action: `power.${action}`,
      target: deviceUuid,
      outcome: result.outcome === 'failed' ? 'failure' : 'success',
      details: { workflowId: workflowInfo().workflowId, outcome: result.outcome, attempts: result.attempts },
    });
  return result;
}

export interface CollectionPowerInput {
  collection: string;
  action: PowerAction;
  requestedBy: string;
  /** Devices in flight at once; default 10, 1–64. */
  concurrency?: number;
  /** Retries per device after the first attempt; default 3 (Configuration Manager's). */
  retries?: number;
  /** Delay between a device's attempts; default 2 minutes (Configuration Manager's). */
  retryDelay?: Duration;
}

export interface CollectionPowerResult {
  collection: string;
  action: PowerAction;
  devices: DevicePowerResult[];
  succeeded: number;
  failed: number;
}

/**
 * OPS2 for a collection, and the scheduled power action of a maintenance window (a Temporal
 * Schedule starts it: runtime/console-schedules.ts): `action` on every device of the collection,
 * at most `concurrency` at a time, each device retried `retries` times `retryDelay` apart while it
 * refuses, each device's result reported. The per-device audit records name the schedule or operator.
 *
 * Per-device power is the activity `requestPowerChange`; the site-wide collection-action workflow
 * (workflows/collection-action.ts, when present) can run the same per-device step as its `power` kind.
 */
export async function powerCollection(input: CollectionPowerInput): Promise<CollectionPowerResult> {
  const concurrency = input.concurrency ?? 10;
  const retries = input.retries ?? 3;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw ApplicationFailure.nonRetryable('concurrency must be an integer from 1 to 64', 'INVALID_POWER_REQUEST');
  if (!Number.isInteger(retries) || retries < 0 || retries > 20)
    throw ApplicationFailure.nonRetryable('retries must be an integer from 0 to 20', 'INVALID_POWER_REQUEST');
  const retryDelay = input.retryDelay ?? '2 minutes';
  const { deviceUuids } = await listCollectionDevices({ collection: input.collection });
  const results: DevicePowerResult[] = new Array(deviceUuids.length);
  await inPool([...deviceUuids.keys()], concurrency, async (i) => {
    const deviceUuid = deviceUuids[i]!;
    results[i] = await withRetries(deviceUuid, input.action, retries, retryDelay);
    const r = results[i];
    await recordAudit({
      actor: input.requestedBy,
      action: `power.${input.action}`,
      target: deviceUuid,
      outcome: r.outcome === 'failed' ? 'failure' : 'success',
      details: { workflowId: workflowInfo().workflowId, collection: input.collection, attempts: r.attempts },
    });
  });
  const failed = results.filter((r) => r.outcome === 'failed').length;
  return {
    collection: input.collection,
    action: input.action,
    devices: results,
    succeeded: results.length - failed,
    failed,
  };
}
