/**
 * Pieces shared by the lifecycle workflows: the per-device workflow id (one lifecycle operation per
 * device at a time), idempotency keys, search attributes and the second stage, which provisioning
 * and update both apply.
 */
import { ApplicationFailure, log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { DeviceSession, LifecycleActivities, LifecycleOperation } from '../activities/contract';
import { REPORT, STAGE_TWO } from './catalogue';
import { SEARCH_ATTRIBUTES } from './names';
import type { StepRunner } from './step-runner';

/** Workflow id + run id + step: a retried activity of this run finds its earlier effect. */
export function idempotencyKey(stepId: string): string {
  const info = workflowInfo();
  return `${info.workflowId}/${info.runId}/${stepId}`;
}

export function markOperation(operation: LifecycleOperation, deviceUuid: string): void {
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.deviceUuid, value: deviceUuid.toLowerCase() },
    { key: SEARCH_ATTRIBUTES.operation, value: operation },
  ]);
}

export function markDevice(fqdn: string, collection: string | undefined): void {
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.fqdn, value: fqdn },
    ...(collection ? [{ key: SEARCH_ATTRIBUTES.collection, value: collection }] : []),
  ]);
}

/** A step that cannot be skipped returned nothing: a bug, not an operational condition. */
export function required<T>(value: T | undefined, stepId: string): T {
  if (value === undefined)
    throw ApplicationFailure.nonRetryable(`step ${stepId} produced no result`, 'STEP_RESULT_MISSING');
  return value;
}

/** OOB10 / IB11: every flow that got to its end records it in the site database. */
export async function recordSuccess(
  runner: StepRunner<LifecycleActivities>,
  result: { deviceUuid: string; operation: LifecycleOperation; stageReached: string; summary: string },
): Promise<void> {
  await runner.run(REPORT.result, {
    ...result,
    outcome: 'succeeded',
    workflowId: workflowInfo().workflowId,
    idempotencyKey: idempotencyKey(`${REPORT.result.id}/${result.operation}`),
  });
}

/** OOB9 / UPD1: apply the settings profile over TLS verified against amtflow's CA. */
export async function applySecondStage(
  runner: StepRunner<LifecycleActivities>,
  session: DeviceSession,
  options: { update: boolean },
): Promise<DeviceSession> {
  log.info('I9 second-stage provisioning started', { deviceUuid: session.deviceUuid });
  const login = required(await runner.run(STAGE_TWO.login, { session }), STAGE_TWO.login.id);
  const managed = { ...session, credentialRef: login.credentialRef };
  const { accounts } = required(
    await runner.run(STAGE_TWO.sids, { deviceUuid: session.deviceUuid }),
    STAGE_TWO.sids.id,
  );
  await runner.run(STAGE_TWO.acl, { session: managed, accounts });
  await runner.run(STAGE_TWO.features, { session: managed });
  await runner.run(STAGE_TWO.kerberos, { session: managed });
  await runner.run(STAGE_TWO.power, { session: managed });
  await runner.run(STAGE_TWO.network, {
    session: managed,
    update: options.update,
    idempotencyKey: idempotencyKey(STAGE_TWO.network.id),
  });
  log.info('I9 second-stage provisioning complete', { deviceUuid: session.deviceUuid });
  return managed;
}
