/** Namespace URIs of WS-Management as AMT uses them (reference §2.1). */
export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  addressing: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsman: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  trust: 'http://schemas.xmlsoap.org/ws/2005/02/trust',
  secext: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  cimbinding: 'http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd',
  enumeration: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration',
  transfer: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  eventing: 'http://schemas.xmlsoap.org/ws/2004/08/eventing',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

export const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';

export const ACTIONS = {
  get: `${NS.transfer}/Get`,
  put: `${NS.transfer}/Put`,
  create: `${NS.transfer}/Create`,
  delete: `${NS.transfer}/Delete`,
  enumerate: `${NS.enumeration}/Enumerate`,
  pull: `${NS.enumeration}/Pull`,
  release: `${NS.enumeration}/Release`,
} as const;

/** ResourceURI prefixes; the class name is appended directly. */
export const CLASS_PREFIXES = {
  AMT: 'http://intel.com/wbem/wscim/1/amt-schema/1/',
  IPS: 'http://intel.com/wbem/wscim/1/ips-schema/1/',
  CIM: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/',
} as const;

export function resourceUriOf(className: string): string {
  const family = className.slice(0, 3) as keyof typeof CLASS_PREFIXES;
  return `${CLASS_PREFIXES[family] ?? CLASS_PREFIXES.CIM}${className}`;
}

/** The class name of a ResourceURI, or null when the URI is outside AMT's three schemas. */
export function classNameOf(resourceUri: string): string | null {
  for (const [family, prefix] of Object.entries(CLASS_PREFIXES)) {
    if (resourceUri.startsWith(prefix)) {
      const name = resourceUri.slice(prefix.length);
      return name.startsWith(`${family}_`) && /^[A-Za-z0-9_]+$/.test(name) ? name : null;
    }
  }
  return null;
}
