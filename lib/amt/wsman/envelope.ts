import { escapeXml, isXmlObject, listOf, pathOf, textOf, type XmlObject, type XmlValue } from '../xml';
import { resourceUri, type ClassName } from './catalogue';

/**
 * WS-Management request envelopes, written by hand in the shape wsman-messages/RPS send to real AMT
 * (SOAP 1.2, header order Action, To, ResourceURI, MessageID, ReplyTo, OperationTimeout, SelectorSet;
 * protocol reference §2.2), and the value model for instances, selectors and method arguments.
 */

export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  addressing: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsman: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  enumeration: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration',
  transfer: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  anonymous: 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous',
} as const;

export const ACTIONS = {
  get: `${NS.transfer}/Get`,
  put: `${NS.transfer}/Put`,
  create: `${NS.transfer}/Create`,
  delete: `${NS.transfer}/Delete`,
  enumerate: `${NS.enumeration}/Enumerate`,
  pull: `${NS.enumeration}/Pull`,
  release: `${NS.enumeration}/Release`,
} as const;

/** A reference to an instance (WS-Addressing EPR): class resource URI plus selectors. */
export interface EndpointReference {
  readonly kind: 'epr';
  readonly resourceUri: string;
  readonly selectors: Selectors;
  /** `/wsman` unless a caller needs another value; AMT ignores it. */
  readonly address?: string;
}

export type SelectorValue = string | EndpointReference;
export type Selectors = Readonly<Record<string, SelectorValue>>;

/** An instance passed by value inside a method input (AddWiFiSettings' settings). */
export interface EmbeddedInstance {
  readonly kind: 'instance';
  readonly className: ClassName;
  /** In the order the class schema lists them; undefined values are left out. */
  readonly properties: Readonly<Record<string, Scalar | undefined>>;
}

export type Scalar = string | number | boolean;
export type WsmanValue = Scalar | null | readonly Scalar[] | EndpointReference | EmbeddedInstance;

export function ref(className: ClassName, selectors: Selectors, address?: string): EndpointReference {
  return { kind: 'epr', resourceUri: resourceUri(className), selectors, ...(address ? { address } : {}) };
}

export function embedded(className: ClassName, properties: EmbeddedInstance['properties']): EmbeddedInstance {
  return { kind: 'instance', className, properties };
}

function scalarText(value: Scalar): string {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
  return escapeXml(String(value));
}

export function selectorSetXml(selectors: Selectors): string {
  const entries = Object.entries(selectors);
  if (entries.length === 0) return '';
  const items = entries.map(([name, value]) =>
    typeof value === 'string'
      ? `<w:Selector Name="${escapeXml(name)}">${escapeXml(value)}</w:Selector>`
      : `<w:Selector Name="${escapeXml(name)}"><a:EndpointReference>${eprXml(value)}</a:EndpointReference></w:Selector>`,
  );
  return `<w:SelectorSet>${items.join('')}</w:SelectorSet>`;
}

/** The children of an EPR element: Address and ReferenceParameters (ResourceURI, SelectorSet). */
export function eprXml(epr: EndpointReference): string {
  return (
    `<a:Address>${escapeXml(epr.address ?? '/wsman')}</a:Address>` +
    `<a:ReferenceParameters><w:ResourceURI>${escapeXml(epr.resourceUri)}</w:ResourceURI>` +
    `${selectorSetXml(epr.selectors)}</a:ReferenceParameters>`
  );
}

/** One property or parameter as element(s) with the given prefix; arrays repeat the element. */
export function valueXml(prefix: string, name: string, value: WsmanValue | undefined): string {
  if (value === undefined) return '';
  const tag = `${prefix}:${name}`;
  if (value === null) return `<${tag} xsi:nil="true"></${tag}>`;
  if (Array.isArray(value)) return value.map((item: Scalar) => `<${tag}>${scalarText(item)}</${tag}>`).join('');
  if (typeof value === 'object' && 'kind' in value) {
    if (value.kind === 'epr') return `<${tag}>${eprXml(value)}</${tag}>`;
    const inner = Object.entries(value.properties)
      .map(([prop, v]) => valueXml('q', prop, v))
      .join('');
    return `<${tag} xmlns:q="${escapeXml(resourceUri(value.className))}">${inner}</${tag}>`;
  }
  return `<${tag}>${scalarText(value as Scalar)}</${tag}>`;
}

export interface EnvelopeInput {
  action: string;
  resourceUri: string;
  messageId: string;
  selectors?: Selectors;
  body: string;
  operationTimeout: string;
}

export function envelopeXml(input: EnvelopeInput): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<Envelope xmlns="${NS.soap}" xmlns:a="${NS.addressing}" xmlns:w="${NS.wsman}" xmlns:xsi="${NS.xsi}">` +
    '<Header>' +
    `<a:Action>${escapeXml(input.action)}</a:Action>` +
    '<a:To>/wsman</a:To>' +
    `<w:ResourceURI>${escapeXml(input.resourceUri)}</w:ResourceURI>` +
    `<a:MessageID>${escapeXml(input.messageId)}</a:MessageID>` +
    `<a:ReplyTo><a:Address>${NS.anonymous}</a:Address></a:ReplyTo>` +
    `<w:OperationTimeout>${escapeXml(input.operationTimeout)}</w:OperationTimeout>` +
    selectorSetXml(input.selectors ?? {}) +
    '</Header>' +
    `<Body>${input.body}</Body>` +
    '</Envelope>'
  );
}

/** `<h:Class xmlns:h="uri">props</h:Class>` — the body of Put and Create. */
export function instanceXml(
  className: ClassName,
  properties: Readonly<Record<string, WsmanValue | undefined>>,
): string {
  const props = Object.entries(properties)
    .map(([name, value]) => valueXml('h', name, value))
    .join('');
  return `<h:${className} xmlns:h="${escapeXml(resourceUri(className))}">${props}</h:${className}>`;
}

/** Reads an EPR element (`ResourceCreated`, `CreatedCertificate`, a selector value) back into a reference. */
export function parseEpr(node: XmlValue | undefined): EndpointReference | undefined {
  if (!isXmlObject(node)) return undefined;
  const params = pathOf(node, 'ReferenceParameters') ?? pathOf(node, 'EndpointReference', 'ReferenceParameters');
  const uri = textOf(pathOf(params, 'ResourceURI'));
  if (!uri) return undefined;
  const selectors: Record<string, SelectorValue> = {};
  for (const selector of listOf(pathOf(params, 'SelectorSet', 'Selector'))) {
    if (!isXmlObject(selector)) continue;
    const name = textOf(selector['@_Name']);
    if (!name) continue;
    const nested = parseEpr(selector['EndpointReference']);
    selectors[name] = nested ?? textOf(selector) ?? '';
  }
  const address = textOf(pathOf(node, 'Address'));
  return { kind: 'epr', resourceUri: uri, selectors, ...(address ? { address } : {}) };
}

/** An instance as read: its properties in document order (AMT sends them ASCII-sorted). */
export interface WsmanInstance {
  readonly className: string;
  readonly properties: Readonly<XmlObject>;
}

/** Instance properties without the attributes of the instance element itself. */
export function instanceFrom(className: string, node: XmlValue | undefined): WsmanInstance | undefined {
  if (!isXmlObject(node)) return undefined;
  const properties: XmlObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (!key.startsWith('@_') && key !== '#text') properties[key] = value;
  }
  return { className, properties };
}
