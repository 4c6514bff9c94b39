import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The AbortSignal every AMT request made inside `withAmtCancellation(signal, fn)` obeys: none is sent
 * once it is aborted, and one on the wire is cut off (an AmtCancelledError). Ambient, so that the
 * caller of a whole provisioning step — the activity layer, which knows when its attempt was
 * cancelled or ran out of time — bounds every request the step makes without threading a signal
 * through each function of `lib/amt` and `lib/provisioning`.
 */
const scope = new AsyncLocalStorage<AbortSignal>();

export function withAmtCancellation<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return scope.run(signal, fn);
}

/** The signal of the innermost `withAmtCancellation`, if any. */
export function currentAmtCancellation(): AbortSignal | undefined {
  return scope.getStore();
}
