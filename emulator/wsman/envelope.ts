import { faults } from './faults';
import { child, childText, childrenNamed, type XmlElement } from './xml';

/** An endpoint reference: a selector value or method parameter pointing at another instance. */
export interface Epr {
  kind: 'epr';
  resourceUri: string;
  selectors: Selectors;
}

export type SelectorValue = string | Epr;
export type Selectors = Map<string, SelectorValue>;

export interface WsmanRequest {
  action: string;
  resourceUri: string;
  /** Echoed verbatim into RelatesTo. */
  messageId: string;
  selectors: Selectors;
  /** First element child of Body, if any. */
  body: XmlElement | undefined;
}

/** Reads the WS-Addressing/WS-Man header of a SOAP 1.2 envelope (any prefixes). */
export function parseEnvelope(root: XmlElement): WsmanRequest {
  if (root.name !== 'Envelope') throw faults.schemaValidation();
  const header = child(root, 'Header');
  const body = child(root, 'Body');
  if (!header || !body) throw faults.schemaValidation();
  const action = childText(header, 'Action');
  const resourceUri = childText(header, 'ResourceURI');
  const messageId = childText(header, 'MessageID');
  if (!action || !resourceUri || messageId === undefined) throw faults.invalidHeader();
  return {
    action,
    resourceUri,
    messageId,
    selectors: parseSelectorSet(child(header, 'SelectorSet')),
    body: body.children[0],
  };
}

export function parseSelectorSet(set: XmlElement | undefined): Selectors {
  const selectors: Selectors = new Map();
  for (const s of childrenNamed(set, 'Selector')) {
    const name = s.attrs.Name;
    if (!name || selectors.has(name)) throw faults.invalidSelectors();
    const ref = child(s, 'EndpointReference');
    selectors.set(name, ref ? parseEpr(ref) : s.text);
  }
  return selectors;
}

/** Parses an EPR element (`Address` ignored: clients send anything there, reference §2.3). */
export function parseEpr(el: XmlElement): Epr {
  const params = child(el, 'ReferenceParameters');
  const resourceUri = childText(params, 'ResourceURI');
  if (!resourceUri) throw faults.invalidRepresentation();
  return { kind: 'epr', resourceUri, selectors: parseSelectorSet(child(params, 'SelectorSet')) };
}
