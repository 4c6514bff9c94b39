import type { Progress } from '../../workflows/messages';

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
