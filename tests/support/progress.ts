import type { WorkflowHandle } from '@temporalio/client';
import { waitFor } from '../../scripts/lib/process';
import { progressQuery, type Progress } from '../../workflows/messages';

/**
 * Progress tells the truth (issue 14): every step a completed run lists succeeded, or was skipped
 * with the reason and who skipped it — none left pending, none that did not apply to the run.
 */
export function expectAllDone(progress: Progress): void {
  expect(progress.state).toBe('completed');
  expect(progress.steps.length).toBeGreaterThan(0);
  for (const step of progress.steps) {
    if (step.status === 'skipped') expect(step.reason).toMatch(/^skipped by \S+/);
    else expect([step.id, step.status]).toEqual([step.id, 'succeeded']);
  }
}

/**
 * Waits (up to two minutes) until the run waits for an operator at `step` — with the error `code`,
 * when given — as its `progress` query tells it.
 */
export function parkedAt(handle: WorkflowHandle, step: string, code?: string): Promise<void> {
  return waitFor(
    `the run to park at ${step}${code ? ` with ${code}` : ''}`,
    async () => {
      const awaiting = (await handle.query(progressQuery)).awaiting;
      return awaiting?.step === step && (code === undefined || awaiting.error.code === code);
    },
    120_000,
    250,
  );
}
