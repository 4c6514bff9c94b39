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

/** The base of lib's typed errors: the stable code, the message an operator can act on, and `retryable`. */
export abstract class TypedError<Code extends string> extends Error implements DomainError {
  constructor(
    readonly code: Code,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A typed error no retry can fix: the input, the configuration or another system must change first. */
export abstract class FinalError<Code extends string> extends TypedError<Code> {
  constructor(code: Code, message: string) {
    super(code, message, false);
  }
}
