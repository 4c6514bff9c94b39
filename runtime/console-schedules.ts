/**
 * Console operations as a Temporal client starts them (OPS1, OPS2): one device's power, a
 * collection's, a discovery sweep — now (the start* functions, behind the API's console routes and
 * so the CLI), or on a Temporal Schedule (a recurring sweep; a power-on at the start of a
 * maintenance window). The schedules live in Temporal, so they survive every process and show in
 * the Web UI under Schedules.
 */
import { randomUUID } from 'node:crypto';
import { ScheduleOverlapPolicy, type Client, type ScheduleHandle, type ScheduleSpec } from '@temporalio/client';
import type { DeviceUuid } from '../activities/contract';
import { ALL_COLLECTIONS } from '../lib/rights';
import { controlDevicePower, discoverManagementControllers, powerCollection } from '../workflows';
import type { DiscoveryInput } from '../workflows/discover-management-controllers';
import type { CollectionPowerInput, DevicePowerInput } from '../workflows/power';
import { TASK_QUEUES } from '../workflows/names';

export interface StartOptions {
  /** Default: the lifecycle queue the worker polls. */
  taskQueue?: string;
}

export type ConsoleScheduleKind = 'power' | 'discovery';

/**
 * Id of an operator's console schedule: `<prefix>-power-<name>-<collection>`,
 * `<prefix>-discovery-<name>-<collection>`, or `<prefix>-discovery-<name>` over an address range.
 * The id carries the schedule's scope so rights are checked before any lookup (api/routes/schedules.ts);
 * the collection comes last and whole, so dashes in its name do not matter, and the name has none.
 */
export function consoleScheduleId(
  kind: ConsoleScheduleKind,
  name: string,
  collection: string | null,
  prefix = 'amtflow',
): string {
  if (!/^[a-z0-9]{1,32}$/.test(name)) throw new Error(`schedule name must be 1–32 of a-z, 0-9, not ${name}`);
  return `${prefix}-${kind}-${name}${collection === null ? '' : `-${collection}`}`;
}

/** The kind and scope of a console schedule's id (`*` for an address range), or undefined for any other id. */
export function consoleScheduleScope(
  scheduleId: string,
  prefix = 'amtflow',
): { kind: ConsoleScheduleKind; collection: string } | undefined {
  for (const kind of ['power', 'discovery'] as const) {
    const head = `${prefix}-${kind}-`;
    if (!scheduleId.startsWith(head)) continue;
    const match = /^([a-z0-9]{1,32})(?:-(.+))?$/.exec(scheduleId.slice(head.length));
    if (!match || (kind === 'power' && match[2] === undefined)) return undefined;
    return { kind, collection: match[2] ?? ALL_COLLECTIONS };
  }
  return undefined;
}

/** Workflow id of one device's power run: one at a time per device (a second is refused while one runs). */
export function devicePowerWorkflowId(deviceUuid: DeviceUuid): string {
  return `amt-power-${deviceUuid}`;
}

export function startDevicePower(client: Client, input: DevicePowerInput, options: StartOptions = {}) {
  return client.workflow.start(controlDevicePower, {
    taskQueue: options.taskQueue ?? TASK_QUEUES.lifecycle,
    workflowId: devicePowerWorkflowId(input.deviceUuid),
    args: [input],
  });
}

export function startCollectionPower(client: Client, input: CollectionPowerInput, options: StartOptions = {}) {
  return client.workflow.start(powerCollection, {
    taskQueue: options.taskQueue ?? TASK_QUEUES.lifecycle,
    workflowId: `amt-power-collection-${input.collection}-${randomUUID()}`,
    args: [input],
  });
}

export function startDiscovery(client: Client, input: DiscoveryInput, options: StartOptions = {}) {
  return client.workflow.start(discoverManagementControllers, {
    taskQueue: options.taskQueue ?? TASK_QUEUES.lifecycle,
    workflowId: `amt-discovery-${randomUUID()}`,
    args: [input],
  });
}

/** A one-off calendar entry at `at` (UTC), to the minute: the start of a maintenance window. */
export function onceAt(at: Date): ScheduleSpec {
  return {
    calendars: [
      {
        year: at.getUTCFullYear(),
        month: (
          [
            'JANUARY',
            'FEBRUARY',
            'MARCH',
            'APRIL',
            'MAY',
            'JUNE',
            'JULY',
            'AUGUST',
            'SEPTEMBER',
            'OCTOBER',
            'NOVEMBER',
            'DECEMBER',
          ] as const
        )[at.getUTCMonth()],
        dayOfMonth: at.getUTCDate(),
        hour: at.getUTCHours(),
        minute: at.getUTCMinutes(),
        second: at.getUTCSeconds(),
      },
    ],
  };
}

/**
 * A recurring discovery sweep (OPS1): `spec` e.g. `{ intervals: [{ every: '1 day' }] }` or
 * `{ cronExpressions: ['0 2 * * *'] }`. A sweep still running when the next is due is skipped.
 */
export function scheduleDiscovery(
  client: Client,
  scheduleId: string,
  spec: ScheduleSpec,
  input: DiscoveryInput,
  options: StartOptions & { once?: boolean; note?: string } = {},
): Promise<ScheduleHandle> {
  return createWorkflowSchedule(client, scheduleId, spec, discoverManagementControllers, input, options);
}

/**
 * A scheduled power action (OPS2), e.g. power on collection `lab` at 02:00 for a maintenance
 * window: `spec` from `onceAt(date)` (then the schedule fires once) or any recurring spec. Each
 * device that refuses is retried `input.retries` times `input.retryDelay` apart (defaults 3 and
 * 2 minutes, Configuration Manager's).
 */
export function schedulePowerAction(
  client: Client,
  scheduleId: string,
  spec: ScheduleSpec,
  input: CollectionPowerInput,
  options: StartOptions & { once?: boolean; note?: string } = {},
): Promise<ScheduleHandle> {
  return createWorkflowSchedule(client, scheduleId, spec, powerCollection, input, options);
}

/** A schedule that starts `workflowType(input)` on each tick, skipped while the previous run still runs. */
function createWorkflowSchedule<I>(
  client: Client,
  scheduleId: string,
  spec: ScheduleSpec,
  workflowType: (input: I) => Promise<unknown>,
  input: I,
  options: StartOptions & { once?: boolean; note?: string },
): Promise<ScheduleHandle> {
  return client.schedule.create({
    scheduleId,
    spec,
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
    ...scheduleState(options),
    action: {
      type: 'startWorkflow',
      workflowType,
      taskQueue: options.taskQueue ?? TASK_QUEUES.lifecycle,
      workflowId: `${scheduleId}-run`,
      args: [input],
    },
  });
}

/** `once`: the schedule fires one time and stays (listed, with its run) until deleted; `note`: shown in the Web UI. */
function scheduleState(options: { once?: boolean; note?: string }) {
  if (!options.once && !options.note) return {};
  return {
    state: {
      ...(options.once ? { remainingActions: 1 } : {}),
      ...(options.note ? { note: options.note } : {}),
    },
  };
}
