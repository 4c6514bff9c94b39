/**
 * Test-only workflow interceptor module, bundled into the test workflow bundle and nowhere else
 * (tests/support/temporal.ts): every durable timer of a workflow — the step runner's backoff between
 * attempts, REN2's poll — runs TIME_SCALE times faster. Nothing about it reaches workflow inputs or
 * production code; production histories replay against the production bundle unchanged.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** 2 s backoff → 7 ms, one minute → 200 ms, REN2's five minutes → 1 s. */
export const TIME_SCALE = 300;

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      async startTimer(input, next) {
        return next({ ...input, durationMs: Math.max(1, Math.round(input.durationMs / TIME_SCALE)) });
      },
    },
  ],
});
