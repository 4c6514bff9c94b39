import type { Client } from '@temporalio/client';
import type { ProvisioningMode, RemovalMode } from '../activities/contract';
import { startLifecycle } from '../runtime/lifecycle-client';
import {
  operatorDecisionUpdate,
  progressQuery,
  renameCompletedSignal,
  type OperatorAction,
  type Progress,
} from '../workflows/messages';
import { deviceWorkflowId } from '../workflows/names';

/**
 * The operator commands, as functions over a Temporal client: the CLI (cli/main.ts) parses
 * arguments and prints, the API will call the same functions.
 */
export function operatorCommands(client: Client, options: { taskQueue?: string } = {}) {
  const handle = (deviceUuid: string) => client.workflow.getHandle(deviceWorkflowId(deviceUuid));
  return {
    async provision(deviceUuid: string, mode: ProvisioningMode, operator: string) {
      return (await startLifecycle(client, 'provision', { deviceUuid, mode, requestedBy: operator }, options))
        .workflowId;
    },
    async update(deviceUuid: string, operator: string) {
      return (await startLifecycle(client, 'update', { deviceUuid, requestedBy: operator }, options)).workflowId;
    },
    async remove(deviceUuid: string, mode: RemovalMode, operator: string) {
      return (await startLifecycle(client, 'remove', { deviceUuid, mode, requestedBy: operator }, options)).workflowId;
    },
    async rename(
      deviceUuid: string,
      target: { hostName: string; domain: string; mode: ProvisioningMode },
      operator: string,
    ) {
      return (await startLifecycle(client, 'rename', { deviceUuid, ...target, requestedBy: operator }, options))
        .workflowId;
    },
    async renameComplete(deviceUuid: string, target: { hostName: string; domain: string }, operator: string) {
      await handle(deviceUuid).signal(renameCompletedSignal, { ...target, operator });
    },
    async progress(deviceUuid: string): Promise<Progress> {
      return handle(deviceUuid).query(progressQuery);
    },
    /** Sends the decision as a validated update: a refused decision comes back as an error at once. */
    async decide(
      deviceUuid: string,
      action: OperatorAction,
      operator: string,
      extra: { step?: string; reason?: string } = {},
    ) {
      return handle(deviceUuid).executeUpdate(operatorDecisionUpdate, { args: [{ action, operator, ...extra }] });
    },
  };
}

/** Progress as an operator reads it: one line per step. */
export function formatProgress(progress: Progress): string {
  const lines = [`${progress.operation} of ${progress.deviceUuid}: ${progress.state} (${progress.stage})`];
  for (const step of progress.steps) {
    if (step.status === 'pending') continue;
    const error = step.lastError ? `  last error ${step.lastError.code}: ${step.lastError.message}` : '';
    lines.push(`  ${step.status.padEnd(17)} ${step.id.padEnd(8)} ${step.title} (attempts ${step.attempts})${error}`);
  }
  if (progress.awaiting) {
    lines.push(`  waiting for an operator at ${progress.awaiting.step}: ${progress.awaiting.allowed.join(' | ')}`);
  }
  return lines.join('\n');
}
