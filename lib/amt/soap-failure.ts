import { AmtHttpError, type AmtError, type AmtFaultError } from './errors';
import type { SoapParser, XmlObject } from './xml';

/**
 * The error for a non-200 response: the SOAP fault it carries (400/500, as AMT sends them), or the
 * bare HTTP status when the body is no readable fault.
 */
export function failedResponse(
  status: number,
  body: string,
  context: string,
  parser: SoapParser,
  readFault: (envelope: XmlObject) => AmtFaultError | undefined,
): AmtError {
  if (status === 400 || status === 500) {
    try {
      const fault = readFault(parser.parse(body, context));
      if (fault) return fault;
    } catch {
      // not a SOAP document: report the status below
    }
  }
  return new AmtHttpError(status, context);
}
