import { AmtError } from '../../lib/amt/errors';

/** The AmtError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function amtFailure(promise: Promise<unknown>): Promise<AmtError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AmtError);
  return error as AmtError;
}
