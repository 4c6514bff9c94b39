import type { Progress } from '../workflows/messages';

/** Progress as an operator reads it: one line per step that has started. */
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
