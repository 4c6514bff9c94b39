/**
 * amtflow's Temporal Schedules (issue 11 §4), created at start and brought up to date on every
 * start: idempotent (one schedule per id, whatever the number of starts or processes), visible and
 * pausable in the Web UI (an operator's pause survives a restart). Each starts a collection action
 * (workflows/collection-action.ts), so every device is handled by its own lifecycle run under the
 * one-run-per-device rule: a device with a run in flight is `busy` and the next tick takes it again.
 *
 * - `<prefix>-automatic-provisioning-<collection>` for each collection with automatic provisioning:
 *   its devices that said hello, are not provisioned and have automatic provisioning on.
 * - `<prefix>-certificate-renewal`: provisioned devices whose AMT web-server certificate expires
 *   within `certificateRenewal.daysBeforeExpiry` days (42 by default, Configuration Manager's).
 * - `<prefix>-password-rotation`: provisioned devices whose remote admin password is older than
 *   `passwordRotation.days` days (28 by default).
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { SchedulesConfig } from '../lib/config';
import type { Store } from '../lib/store';
import { collectionAction, type CollectionActionInput } from '../workflows/collection-action';
import type { CollectionPowerInput } from '../workflows/power';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../workflows/names';

export interface ScheduleOptions {
  /** Task queue of the lifecycle workers; tests pass their own. */
  taskQueue?: string;
  /** First part of every schedule id (default `amtflow`): two sites may share a namespace. */
  idPrefix?: string;
}

interface DesiredSchedule {
  scheduleId: string;
  every: Duration;
  note: string;
  input: CollectionActionInput;
}

export const scheduleIds = (prefix = 'amtflow') => ({
  automaticProvisioning: (collection: string) => `${prefix}-automatic-provisioning-${collection}`,
  certificateRenewal: `${prefix}-certificate-renewal`,
  passwordRotation: `${prefix}-password-rotation`,
});

/** The schedules the site database and the configuration call for now. */
export async function desiredSchedules(
  store: Pick<Store, 'collections'>,
  config: SchedulesConfig,
  options: ScheduleOptions = {},
): Promise<DesiredSchedule[]> {
  const ids = scheduleIds(options.idPrefix);
  const throttle = { maxConcurrent: config.throttle.maxConcurrent, batchDelay: config.throttle.batchDelay as Duration };
  const desired: DesiredSchedule[] = [];
  for (const collection of await store.collections.list()) {
    if (!collection.automaticProvisioning) continue;
    const scheduleId = ids.automaticProvisioning(collection.name);
    desired.push({
      scheduleId,
      every: config.automaticProvisioning.every as Duration,
      note: `automatic provisioning sweep of collection ${collection.name}`,
      input: {
        kind: 'provision',
        selector: {
          kind: 'devices',
          collection: collection.name,
          provisioningStates: ['unprovisioned'],
          automatic: true,
        },
        throttle,
        requestedBy: `schedule:${scheduleId}`,
      },
    });
  }
  const { daysBeforeExpiry } = config.certificateRenewal;
  desired.push({
    scheduleId: ids.certificateRenewal,
    every: config.certificateRenewal.every as Duration,
    note: `renew AMT web-server certificates ${daysBeforeExpiry} days before they expire`,
    input: {
      kind: 'renew-certificate',
      selector: { kind: 'certificates-expiring', withinDays: daysBeforeExpiry },
      throttle,
      requestedBy: `schedule:${ids.certificateRenewal}`,
    },
  });
  desired.push({
    scheduleId: ids.passwordRotation,
    every: config.passwordRotation.every as Duration,
    note: `rotate AMT remote admin passwords older than ${config.passwordRotation.days} days`,
    input: {
      kind: 'rotate-password',
      selector: { kind: 'admin-password-older-than', days: config.passwordRotation.days },
      throttle,
      requestedBy: `schedule:${ids.passwordRotation}`,
    },
  });
  return desired;
}

export interface ScheduleSync {
  created: string[];
  updated: string[];
  deleted: string[];
}

/**
 * Creates the schedules that are missing, brings existing ones to the current configuration
 * (keeping whether an operator paused them), and deletes automatic-provisioning schedules of
 * collections that no longer have the flag. Safe to run on every start of every front door.
 */
export async function ensureSchedules(
  client: Client,
  store: Pick<Store, 'collections'>,
  config: SchedulesConfig,
  options: ScheduleOptions = {},
): Promise<ScheduleSync> {
  const sync: ScheduleSync = { created: [], updated: [], deleted: [] };
  const taskQueue = options.taskQueue ?? TASK_QUEUES.lifecycle;
  const desired = config.enabled ? await desiredSchedules(store, config, options) : [];
  for (const schedule of desired) {
    const action = {
      type: 'startWorkflow' as const,
      workflowType: collectionAction,
      // Temporal appends the time of each tick to this id, so every sweep is its own run.
      workflowId: schedule.scheduleId,
      taskQueue,
      args: [schedule.input] as [CollectionActionInput],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.operation, value: `collection-${schedule.input.kind}` }],
      staticSummary: schedule.note,
    };
    const spec = { intervals: [{ every: schedule.every }] };
    // A sweep still running when the next tick comes: the tick is skipped, the sweep carries on.
    const policies = { overlap: 'SKIP' as const, catchupWindow: '1 minute' as Duration, pauseOnFailure: false };
    try {
      await client.schedule.create({
        scheduleId: schedule.scheduleId,
        spec,
        action,
        policies,
        state: { note: schedule.note },
      });
      sync.created.push(schedule.scheduleId);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(schedule.scheduleId).update((previous) => ({
        ...previous,
        spec,
        action,
        policies,
        state: { paused: previous.state.paused, note: previous.state.note ?? schedule.note },
      }));
      sync.updated.push(schedule.scheduleId);
    }
  }
  const prefix = scheduleIds(options.idPrefix).automaticProvisioning('');
  const wanted = new Set(desired.map((s) => s.scheduleId));
  const managed = [
    ...(await listScheduleIds(client)).filter((id) => id.startsWith(prefix)),
    ...(config.enabled ? [] : Object.values(scheduleIds(options.idPrefix)).filter((v) => typeof v === 'string')),
  ];
  for (const id of managed) {
    if (wanted.has(id)) continue;
    try {
      await client.schedule.getHandle(id).delete();
      sync.deleted.push(id);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return sync;
}

/** Every schedule id of the namespace (listing is eventually consistent: a new one may lag a moment). */
export async function listScheduleIds(client: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const summary of client.schedule.list()) ids.push(summary.scheduleId);
  return ids;
}

export interface ScheduleView {
  scheduleId: string;
  paused: boolean;
  note?: string;
  kind?: string;
  nextRuns: string[];
  recentRuns: Array<{ scheduledAt: string; workflowId: string }>;
}

/** The schedules of this site (by id prefix), as the API and the CLI show them. */
export async function describeSchedules(client: Client, options: ScheduleOptions = {}): Promise<ScheduleView[]> {
  const prefix = `${options.idPrefix ?? 'amtflow'}-`;
  const views: ScheduleView[] = [];
  for (const id of (await listScheduleIds(client)).filter((i) => i.startsWith(prefix)).sort()) {
    try {
      views.push(await describeSchedule(client, id));
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return views;
}

export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleView> {
  const d = await client.schedule.getHandle(scheduleId).describe();
  const kind = kindOf(d.action.workflowType, d.action.args?.[0]);
  return {
    scheduleId,
    paused: d.state.paused,
    ...(d.state.note ? { note: d.state.note } : {}),
    ...(kind ? { kind } : {}),
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
    })),
  };
}

/** What a schedule starts: a collection action's kind, `power-<action>` (OPS2) or `discovery` (OPS1). */
function kindOf(workflowType: string, input: unknown): string | undefined {
  if (workflowType === 'powerCollection') return `power-${(input as CollectionPowerInput).action}`;
  if (workflowType === 'discoverManagementControllers') return 'discovery';
  return (input as CollectionActionInput | undefined)?.kind;
}
