import type { Duration } from '@temporalio/common';
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { recordAudit } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

export interface SystemCheckInput {
  /** Who asked (operator name or `npm start`). */
  requestedBy: string;
  /** Optional pause before the check completes, e.g. to watch the run in the Web UI. */
  settleFor?: Duration;
}

export interface SystemCheckResult {
  auditId: string;
}

/**
 * End-to-end check of an amtflow installation: a workflow on the Temporal server, run by a
 * worker whose activity reaches the site database and leaves an audit record.
 */
export async function systemCheck(input: SystemCheckInput): Promise<SystemCheckResult> {
  if (input.settleFor) await sleep(input.settleFor);
  const auditId = await recordAudit({
    actor: input.requestedBy,
    action: 'system.check',
    target: 'amtflow',
    outcome: 'success',
  });
  return { auditId };
}
