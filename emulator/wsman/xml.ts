import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * XML input of the device ports, parsed namespace-prefix-agnostic (clients use default namespaces,
 * `s:`, `a:`/`w:`/`h:`/`r:`…) into a small ordered tree. Entities are never expanded by the parser
 * (no DOCTYPE is accepted at all, so no entity bomb can exist); the five predefined entities and
 * character references are decoded here, bounded by the input size.
 */
export interface XmlElement {
  /** Local name, prefix removed. */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export class XmlInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlInputError';
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  maxNestedTags: 64,
});

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

export function parseXml(text: string): XmlElement {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlInputError('DOCTYPE is not allowed');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlInputError(`not well-formed: ${valid.err.msg}`);
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(text) as OrderedNode[];
  } catch (err) {
    throw new XmlInputError(`not parseable: ${(err as Error).message}`);
  }
  const roots = nodes.map(toElement).filter((e): e is XmlElement => e !== null);
  if (roots.length !== 1) throw new XmlInputError('expected exactly one root element');
  return roots[0]!;
}

function toElement(node: OrderedNode): XmlElement | null {
  const name = Object.keys(node).find((k) => k !== ':@' && k !== '#text');
  if (!name) return null;
  const rawChildren = node[name] as OrderedNode[];
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(node[':@'] ?? {}))
    attrs[k.includes(':') ? k.slice(k.indexOf(':') + 1) : k] = decodeEntities(String(v));
  const children: XmlElement[] = [];
  let text = '';
  for (const child of rawChildren) {
    if ('#text' in child) text += String(child['#text']);
    else {
      const el = toElement(child);
      if (el) children.push(el);
    }
  }
  return { name, attrs, children, text: decodeEntities(text) };
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|[a-z]{2,4});/g, (all, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : all;
    }
    return PREDEFINED[ref] ?? all;
  });
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

export function childrenNamed(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name) : [];
}

export function childText(el: XmlElement | undefined, name: string): string | undefined {
  return child(el, name)?.text;
}
