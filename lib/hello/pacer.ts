import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves when the caller may go on; rejects with the signal's AbortError when it is aborted first. */
export type Pacer = (signal?: AbortSignal) => Promise<void>;

/**
 * Spaces calls evenly: each `pace()` resolves no sooner than `1000 / perSecond` ms after the one
 * before it was let through, in call order, so a burst of callers goes on at `perSecond` at most; an
 * idle pacer lets the next call through at once (idle time is not banked). Its caller says why it
 * paces (api/hello-service.ts). A few lines rather than a rate-limiting package: the well-kept ones
 * (p-throttle, limiter) are ES modules only, which this CommonJS code base cannot load in its test
 * runner.
 *
 * Errors: RangeError when `perSecond` is not a positive number; a call that must wait rejects with
 * its signal's reason (an AbortError) once the signal is aborted, and its turn is not given back; one
 * whose turn has come goes on whatever the signal.
 */
export function createPacer(
  perSecond: number,
  clock: { now(): number; sleep(ms: number, signal?: AbortSignal): Promise<unknown> } = {
    now: () => Date.now(),
    sleep: (ms, signal) => sleep(ms, undefined, { signal }),
  },
): Pacer {
  if (!(perSecond > 0)) throw new RangeError(`perSecond must be a positive number, not ${perSecond}`);
  const spacingMs = 1000 / perSecond;
  // When the next call may go on: never earlier than now.
  let next = -Infinity;
  return async (signal) => {
    const at = Math.max(clock.now(), next);
    next = at + spacingMs;
    const wait = at - clock.now();
    if (wait > 0) await clock.sleep(wait, signal);
  };
}
