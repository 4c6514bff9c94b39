import { NS } from './namespaces';

const WSMAN_FAULT = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault';
const ADDRESSING_FAULT = `${NS.addressing}/fault`;
const TRANSFER_FAULT = `${NS.transfer}/fault`;
const ENUMERATION_FAULT = `${NS.enumeration}/fault`;

/**
 * A SOAP fault as AMT sends it: HTTP 400, Code/Subcode/Reason/Detail (reference §2.5). Subcode
 * prefixes refer to the fault envelope's own prefix map (b addressing, c enumeration, d transfer,
 * e wsman).
 */
export class WsmanFault extends Error {
  constructor(
    readonly code: 'a:Sender' | 'a:Receiver',
    readonly subcode: string,
    readonly reason: string,
    readonly action: string,
    readonly detail?: string,
  ) {
    super(`${subcode}: ${reason}`);
    this.name = 'WsmanFault';
  }
}

const DETAIL = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail';

export const faults = {
  /** Unknown or unsupported class (captured from AMT, GO-WM amterror tests). */
  destinationUnreachable: () =>
    new WsmanFault(
      'a:Sender',
      'b:DestinationUnreachable',
      'No route can be determined to reach the destination role defined by the WSAddressing To.',
      ADDRESSING_FAULT,
    ),
  actionNotSupported: () =>
    new WsmanFault('a:Sender', 'b:ActionNotSupported', 'The action is not supported by the service.', ADDRESSING_FAULT),
  invalidHeader: () =>
    new WsmanFault(
      'a:Sender',
      'b:InvalidMessageInformationHeader',
      'A message information header is not valid and the message cannot be processed.',
      ADDRESSING_FAULT,
    ),
  /** Selector names that are not the class keys, or missing where several instances exist [inferred]. */
  invalidSelectors: () =>
    new WsmanFault(
      'a:Sender',
      'e:InvalidSelectors',
      'The Selectors for the resource were not valid.',
      WSMAN_FAULT,
      `${DETAIL}/InsufficientSelectors`,
    ),
  alreadyExists: () =>
    new WsmanFault(
      'a:Sender',
      'e:AlreadyExists',
      'The sender attempted to create a resource which already exists.',
      WSMAN_FAULT,
    ),
  invalidRepresentation: (detail: 'MissingValues' | 'InvalidValues' = 'InvalidValues') =>
    new WsmanFault(
      'a:Sender',
      'd:InvalidRepresentation',
      'The XML content is not valid.',
      TRANSFER_FAULT,
      `${DETAIL}/${detail}`,
    ),
  schemaValidation: () =>
    new WsmanFault(
      'a:Sender',
      'e:SchemaValidationError',
      'The supplied SOAP violates the corresponding XML schema definition.',
      WSMAN_FAULT,
    ),
  quotaLimit: () =>
    new WsmanFault('a:Sender', 'e:QuotaLimit', 'The service is busy servicing other requests.', WSMAN_FAULT),
  accessDenied: () =>
    new WsmanFault('a:Sender', 'e:AccessDenied', 'The sender was not authorized to access the resource.', WSMAN_FAULT),
  invalidEnumerationContext: () =>
    new WsmanFault(
      'a:Receiver',
      'c:InvalidEnumerationContext',
      'The supplied enumeration context is invalid.',
      ENUMERATION_FAULT,
    ),
  internalError: () =>
    new WsmanFault(
      'a:Receiver',
      'e:InternalError',
      'The service cannot comply with the request due to internal processing errors.',
      WSMAN_FAULT,
    ),
};
