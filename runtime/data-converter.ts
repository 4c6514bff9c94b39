import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, deriveCodecKey } from './payload-codec';

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * The one data converter of amtflow: the same object goes to every client and worker (and the
 * failure converter path into the prebuilt workflow bundle), or payloads could not be read back.
 */
export function amtflowDataConverter(kek: Buffer): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(deriveCodecKey(kek))], failureConverterPath: FAILURE_CONVERTER_PATH };
}
