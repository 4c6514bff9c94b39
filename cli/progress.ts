import type { Progress } from '../workflows/messages';

/** Progress as an operator reads it: one line per step that has started. */
export function formatProgress(progress: Progress): string {
  const lines = [`${progress.operation} of ${progress.deviceUuid}: ${progress.state} (${progress.stage})`];
  for (const step of progress.steps) {
    if (step.status === 'pending') continue;
    const error = step.lastError ? `  last error ${step.lastError.code}: ${step.lastError.message}` : '';
    const reason = step.reason ? `  (${step.reason})` : '';
    lines.push(
      `  ${step.status.padEnd(17)} ${step.id.padEnd(8)} ${step.title} (attempts ${step.attempts})${error}${reason}`,
    );
  }
  if (progress.awaiting) {
    lines.push(`  waiting for an operator at ${progress.awaiting.step}: ${progress.awaiting.allowed.join(' | ')}`);
  }
  if (progress.waiting) lines.push(`  ${progress.waiting.step} ${progress.waiting.message}`);
  if (progress.source === 'history') lines.push("  (read from the run's history)");
  return lines.join('\n');
}
