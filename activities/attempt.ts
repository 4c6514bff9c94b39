import { Context } from '@temporalio/activity';
import { withAmtCancellation } from '../lib/amt';

/**
 * The end of an attempt this worker enforces itself, ahead of the server's start-to-close timeout
 * (which counts from when the server handed the task out, a little before this worker began): a
 * tenth of the timeout, at least one second.
 */
function localDeadlineMs(startToCloseTimeoutMs: number): number {
  return Math.max(startToCloseTimeoutMs - Math.max(startToCloseTimeoutMs / 10, 1_000), 1_000);
}

/**
 * Wraps every activity so that an attempt stops talking to devices when it is cancelled or reaches
 * its own deadline — every AMT request it makes obeys that signal (lib/amt/cancellation.ts) — and,
 * run as an activity (a step runner checkpoint, not a local activity, which has no heartbeat),
 * heartbeats: the server learns of a dead worker within the heartbeat timeout, and the attempt of
 * its cancellation. The step runner schedules the next attempt only after this one failed
 * or timed out, so a timed-out attempt never sends to the device while its retry does (issue 12 §4).
 * Outside an activity (a test calling an activity directly) the function runs as it is.
 */
export function withAttemptScope<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: never[]) => {
        let context: Context;
        try {
          context = Context.current();
        } catch {
          return fn(...args);
        }
        const { heartbeatTimeoutMs, startToCloseTimeoutMs } = context.info;
        const signal = startToCloseTimeoutMs
          ? AbortSignal.any([context.cancellationSignal, AbortSignal.timeout(localDeadlineMs(startToCloseTimeoutMs))])
          : context.cancellationSignal;
        // The SDK sends at most one heartbeat per 80 % of the timeout; a third keeps one always due.
        const beat = heartbeatTimeoutMs ? setInterval(() => context.heartbeat(), heartbeatTimeoutMs / 3) : undefined;
        try {
          return await withAmtCancellation(signal, () => fn(...args));
        } finally {
          clearInterval(beat);
        }
      },
    ]),
  ) as T;
}
