/**
 * Pieces shared by the lifecycle workflows: the runner every flow uses, idempotency keys, search
 * attributes and the second stage, which provisioning and update both apply.
 */
import { log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { DeviceSession, DeviceUuid, LifecycleActivities, LifecycleOperation } from '../activities/contract';
import { AUDIT, REPORT, STAGE_TWO } from './catalogue';
import { SEARCH_ATTRIBUTES } from './names';
import { StepRunner, type StepDefinition } from './step-runner';

export type LifecycleRunner = StepRunner<LifecycleActivities>;

/**
 * The runner of one lifecycle run over `steps` (built by the catalogue for its flow and mode); the
 * run's device and operation become its search attributes.
 */
export function lifecycleRunner(
  operation: LifecycleOperation,
  deviceUuid: DeviceUuid,
  steps: readonly StepDefinition[],
): LifecycleRunner {
  markOperation(operation, deviceUuid);
  return new StepRunner<LifecycleActivities>({ operation, deviceUuid, steps, audit: AUDIT.decision });
}

/** Workflow id + run id + step: a retried activity of this run finds its earlier effect. */
export function idempotencyKey(stepId: string): string {
  const info = workflowInfo();
  return `${info.workflowId}/${info.runId}/${stepId}`;
}

function markOperation(operation: LifecycleOperation, deviceUuid: DeviceUuid): void {
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.deviceUuid, value: deviceUuid },
    { key: SEARCH_ATTRIBUTES.operation, value: operation },
  ]);
}

export function markDevice(fqdn: string, collection: string | undefined): void {
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.fqdn, value: fqdn },
    ...(collection ? [{ key: SEARCH_ATTRIBUTES.collection, value: collection }] : []),
  ]);
}

/** OOB10 / IB11: every flow that got to its end records it in the site database. */
export async function recordSuccess(
  runner: LifecycleRunner,
  result: { deviceUuid: DeviceUuid; operation: LifecycleOperation; stageReached: string; summary: string },
): Promise<void> {
  await runner.run(REPORT.result, {
    ...result,
    outcome: 'succeeded',
    workflowId: workflowInfo().workflowId,
    idempotencyKey: idempotencyKey(`${REPORT.result.id}/${result.operation}`),
  });
}

/**
 * OOB9 / UPD1: apply the settings profile over TLS verified against amtflow's CA, after the login
 * step `options.login` (OOB9.0 when provisioning) — or, without one, over a session the flow has
 * logged in already (UPD1, which update runs before anything changes).
 */
export async function applySecondStage(
  runner: LifecycleRunner,
  session: DeviceSession,
  options: {
    login?: typeof STAGE_TWO.login;
    update: boolean;
    /** UPD4: asked just before OOB9.4; true keeps the device's 802.1X wired settings as they are. */
    skipWired?: (managed: DeviceSession) => Promise<boolean>;
  },
): Promise<DeviceSession> {
  log.info('I9 second-stage provisioning started', { deviceUuid: session.deviceUuid });
  const managed = options.login
    ? { ...session, credentialRef: (await runner.run(options.login, { session })).credentialRef }
    : session;
  const { accounts } = await runner.run(STAGE_TWO.sids, { deviceUuid: session.deviceUuid });
  await runner.run(STAGE_TWO.acl, { session: managed, accounts });
  await runner.run(STAGE_TWO.features, { session: managed });
  await runner.run(STAGE_TWO.kerberos, { session: managed });
  await runner.run(STAGE_TWO.power, { session: managed });
  const skipWired = options.skipWired ? await options.skipWired(managed) : false;
  await runner.run(STAGE_TWO.network, {
    session: managed,
    update: options.update,
    ...(skipWired ? { skipWired } : {}),
    idempotencyKey: idempotencyKey(STAGE_TWO.network.id),
  });
  log.info('I9 second-stage provisioning complete', { deviceUuid: session.deviceUuid });
  return managed;
}
