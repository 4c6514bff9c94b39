import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AmtProtocolError, deviceText } from './errors';

/**
 * XML in and out. Requests are built by hand from templates, with every value escaped; responses
 * are parsed with fast-xml-parser with entity processing OFF, so a DOCTYPE can never expand
 * anything (and is rejected outright: SOAP forbids DTDs). Only the five predefined entities and
 * numeric character references are decoded, in one non-recursive pass.
 */

export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue;
}

const XML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes `& < > " '` — used for every value placed in a request, element text or attribute. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ENTITY_REF = /&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(lt|gt|amp|quot|apos));/g;

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(
    ENTITY_REF,
    (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
      if (name) return PREDEFINED[name] ?? whole;
      const codePoint = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex ?? '', 16);
      return codePoint > 0 && codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : whole;
    },
  );
}

/** CDATA sections become escaped text, so entity decoding treats every text node the same way. */
function inlineCdata(xml: string): string {
  return xml.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (_, content: string) => escapeXml(content));
}

export interface SoapParser {
  /** Parses a whole document; throws AmtProtocolError (with the given context) when it is not acceptable XML. */
  parse(xml: string, context: string): XmlObject;
}

/**
 * A parser that returns arrays for the given multi-valued element names and for every child of an
 * `Items` element, so a single value never collapses to a scalar.
 */
export function createSoapParser(multiValued: ReadonlySet<string>): SoapParser {
  const parser = new XMLParser({
    removeNSPrefix: true,
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseTagValue: false,
    parseAttributeValue: false,
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (name, jPath, _isLeaf, isAttribute) =>
      !isAttribute && (multiValued.has(name) || String(jPath).endsWith(`.Items.${name}`)),
    tagValueProcessor: (_name, value) => decodeEntities(value),
    attributeValueProcessor: (_name, value) => decodeEntities(value),
  });
  return {
    parse(xml, context) {
      const text = inlineCdata(xml);
      if (/<!(DOCTYPE|ENTITY)/i.test(text)) {
        throw new AmtProtocolError(`${context}: response carries a DTD, which SOAP forbids; not parsed`);
      }
      const valid = XMLValidator.validate(text);
      if (valid !== true) {
        throw new AmtProtocolError(`${context}: response is not well-formed XML (${deviceText(valid.err.msg)})`);
      }
      return parser.parse(text) as XmlObject;
    },
  };
}

export function isXmlObject(value: XmlValue | undefined): value is XmlObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of an element: a plain string, or `#text` of an element that has attributes. */
export function textOf(value: XmlValue | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (isXmlObject(value)) {
    if (value['@_nil'] === 'true') return undefined;
    const text = value['#text'];
    if (typeof text === 'string') return text;
    return Object.keys(value).every((k) => k.startsWith('@_')) ? '' : undefined;
  }
  return undefined;
}

/** Zero, one or many values as a list. */
export function listOf(value: XmlValue | undefined): XmlValue[] {
  if (value === undefined || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

/** Follows a path of child element names; undefined as soon as one is missing. */
export function pathOf(root: XmlValue | undefined, ...names: string[]): XmlValue | undefined {
  let node = root;
  for (const name of names) {
    if (!isXmlObject(node)) return undefined;
    node = node[name];
  }
  return node;
}
