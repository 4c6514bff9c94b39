import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Spaces calls evenly: each `pace()` resolves no sooner than `1000 / perSecond` ms after the one
 * before it was let through, in call order, so a burst of callers goes on at `perSecond` at most.
 * The hello service paces the hellos it handles with it: a wave of hellos (devices powered on
 * together) would otherwise start workflow runs as fast as Temporal takes them, and a server busy
 * with a thousand starts answers a worker's workflow task heartbeat too late — the task times out,
 * and its retry waits behind every run not yet taken up (docs/benchmarks.md, "A wave of hellos").
 * A few lines rather than a rate-limiting package: the well-kept ones (p-throttle, limiter) are
 * ES modules only, which this CommonJS code base cannot load in its test runner.
 *
 * Errors: RangeError when `perSecond` is not a positive number.
 */
export function createPacer(
  perSecond: number,
  clock: { now(): number; sleep(ms: number): Promise<unknown> } = { now: () => Date.now(), sleep },
): () => Promise<void> {
  if (!(perSecond > 0)) throw new RangeError(`perSecond must be a positive number, not ${perSecond}`);
  const spacingMs = 1000 / perSecond;
  // When the next call may go on: never earlier than now, so an idle pacer lets the next call through at once.
  let next = -Infinity;
  return async () => {
    const at = Math.max(clock.now(), next);
    next = at + spacingMs;
    const wait = at - clock.now();
    if (wait > 0) await clock.sleep(wait);
  };
}
