import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces go through the payload codec too (they are plaintext by
 * default). Loaded by path: it runs inside the workflow sandbox, and the prebuilt bundle includes it.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
