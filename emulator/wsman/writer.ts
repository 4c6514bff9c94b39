import { WsmanFault } from './faults';
import type { Epr, Selectors } from './envelope';
import { ANONYMOUS, NS } from './namespaces';
import { escapeXml } from './xml';

/**
 * Response envelopes in AMT's own format (reference §2.4): AMT's prefix map, RelatesTo echoing the
 * request MessageID, `uuid:00000000-8086-8086-8086-<12 hex>` message ids, instance properties in
 * ASCII order, and only open/close tag pairs (MeshCentral's parser cannot read `<x/>`).
 */
export type Value = string | number | boolean | Epr | Value[] | null | undefined;
export type Props = Record<string, Value>;

export class MessageIds {
  private counter = 0;
  next(): string {
    this.counter = (this.counter + 1) % 0x1000000000000;
    return `uuid:00000000-8086-8086-8086-${this.counter.toString(16).toUpperCase().padStart(12, '0')}`;
  }
}

const DECLARATIONS =
  `xmlns:a="${NS.soap}" xmlns:b="${NS.addressing}" xmlns:c="${NS.wsman}" xmlns:d="${NS.trust}" ` +
  `xmlns:e="${NS.secext}" xmlns:f="${NS.cimbinding}"`;

export interface EnvelopeSpec {
  action: string;
  relatesTo: string;
  messageId: string;
  resourceUri: string;
  /** Namespace bound to `g` (class namespace, or enumeration/transfer for those operations). */
  g: string;
  /** Namespace bound to `h` (class namespace of Pull items). */
  h?: string;
  body: string;
}

export function envelope(spec: EnvelopeSpec): string {
  const h = spec.h ? ` xmlns:h="${spec.h}"` : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?><a:Envelope ${DECLARATIONS} xmlns:g="${spec.g}"${h} xmlns:xsi="${NS.xsi}">` +
    `<a:Header><b:To>${ANONYMOUS}</b:To><b:RelatesTo>${escapeXml(spec.relatesTo)}</b:RelatesTo>` +
    `<b:Action a:mustUnderstand="true">${spec.action}</b:Action><b:MessageID>${spec.messageId}</b:MessageID>` +
    `<c:ResourceURI>${spec.resourceUri}</c:ResourceURI></a:Header><a:Body>${spec.body}</a:Body></a:Envelope>`
  );
}

export function faultEnvelope(fault: WsmanFault, relatesTo: string | undefined, messageId: string): string {
  const relates = relatesTo === undefined ? '' : `<b:RelatesTo>${escapeXml(relatesTo)}</b:RelatesTo>`;
  const detail = fault.detail ? `<e:FaultDetail>${fault.detail}</e:FaultDetail>` : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="${NS.soap}" xmlns:b="${NS.addressing}" ` +
    `xmlns:c="${NS.enumeration}" xmlns:d="${NS.transfer}" xmlns:e="${NS.wsman}" xmlns:f="${NS.eventing}" ` +
    `xmlns:g="${NS.cimbinding}" xmlns:h="${NS.trust}" xmlns:i="${NS.secext}" xmlns:xsi="${NS.xsi}">` +
    `<a:Header><b:To>${ANONYMOUS}</b:To>${relates}<b:Action a:mustUnderstand="true">${fault.action}</b:Action>` +
    `<b:MessageID>${messageId}</b:MessageID></a:Header><a:Body><a:Fault><a:Code><a:Value>${fault.code}</a:Value>` +
    `<a:Subcode><a:Value>${fault.subcode}</a:Value></a:Subcode></a:Code><a:Reason><a:Text xml:lang="en-US">` +
    `${fault.reason}</a:Text></a:Reason><a:Detail>${detail}</a:Detail></a:Fault></a:Body></a:Envelope>`
  );
}

/** EPR body as AMT writes it (b = addressing, c = wsman in the response prefix map). */
export function eprXml(epr: Epr): string {
  return (
    `<b:Address>${ANONYMOUS}</b:Address><b:ReferenceParameters><c:ResourceURI>${epr.resourceUri}</c:ResourceURI>` +
    `<c:SelectorSet>${selectorsXml(epr.selectors)}</c:SelectorSet></b:ReferenceParameters>`
  );
}

function selectorsXml(selectors: Selectors): string {
  let out = '';
  for (const [name, value] of selectors) {
    const inner =
      typeof value === 'string' ? escapeXml(value) : `<b:EndpointReference>${eprXml(value)}</b:EndpointReference>`;
    out += `<c:Selector Name="${escapeXml(name)}">${inner}</c:Selector>`;
  }
  return out;
}

function valueXml(prefix: string, name: string, value: Value): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => valueXml(prefix, name, v)).join('');
  const inner = typeof value === 'object' ? eprXml(value) : escapeXml(String(value));
  return `<${prefix}:${name}>${inner}</${prefix}:${name}>`;
}

/** An instance: properties in ASCII order, as AMT emits them. */
export function instanceXml(prefix: string, className: string, props: Props): string {
  const names = Object.keys(props).sort();
  return `<${prefix}:${className}>${names.map((n) => valueXml(prefix, n, props[n])).join('')}</${prefix}:${className}>`;
}

/** Method output: parameters in the order given (MOF order), ReturnValue last. */
export function outputXml(prefix: string, method: string, out: Props, returnValue: number): string {
  const params = Object.entries(out)
    .map(([n, v]) => valueXml(prefix, n, v))
    .join('');
  return `<${prefix}:${method}_OUTPUT>${params}<${prefix}:ReturnValue>${returnValue}</${prefix}:ReturnValue></${prefix}:${method}_OUTPUT>`;
}

export function epr(resourceUri: string, selectors: Record<string, string | Epr>): Epr {
  return { kind: 'epr', resourceUri, selectors: new Map(Object.entries(selectors)) };
}
