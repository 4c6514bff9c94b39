/**
 * What every typed error of lib/ declares about itself: a stable `code` (the failure type workflows
 * and operators see) and whether the same call can succeed later (`retryable`: busy firmware, a
 * directory that did not answer) or not until the input, the configuration or another system
 * changes. Activities pass both on as they are (activities/failures.ts); nothing keeps a second list.
 */
export interface DomainError extends Error {
  readonly code: string;
  readonly retryable: boolean;
}

export function isDomainError(err: unknown): err is DomainError {
  return (
    err instanceof Error &&
    typeof (err as Partial<DomainError>).code === 'string' &&
    typeof (err as Partial<DomainError>).retryable === 'boolean'
  );
}
