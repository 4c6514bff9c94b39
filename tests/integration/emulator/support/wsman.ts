/** Hand-built WS-Man requests (MeshCentral-like prefixes) for classes wsman-messages does not cover. */
const RESOURCE_BASE: Record<string, string> = {
  AMT: 'http://intel.com/wbem/wscim/1/amt-schema/1/',
  IPS: 'http://intel.com/wbem/wscim/1/ips-schema/1/',
  CIM: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/',
};

export const uri = (className: string) => `${RESOURCE_BASE[className.slice(0, 3)]}${className}`;

let messageId = 1000;

export function request(o: {
  action: string;
  className: string;
  selectors?: Record<string, string>;
  body?: string;
}): string {
  const selectors = o.selectors
    ? `<w:SelectorSet>${Object.entries(o.selectors)
        .map(([k, v]) => `<w:Selector Name="${k}">${v}</w:Selector>`)
        .join('')}</w:SelectorSet>`
    : '';
  return (
    '<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" ' +
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">' +
    `<Header><a:Action>${o.action}</a:Action><a:To>/wsman</a:To><w:ResourceURI>${uri(o.className)}</w:ResourceURI>` +
    `<a:MessageID>${messageId++}</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>` +
    `<w:OperationTimeout>PT60S</w:OperationTimeout>${selectors}</Header><Body>${o.body ?? ''}</Body></Envelope>`
  );
}

export const get = (className: string, selectors?: Record<string, string>) =>
  request({ action: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get', className, selectors });

export const enumerate = (className: string) =>
  request({
    action: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate',
    className,
    body: '<Enumerate xmlns="http://schemas.xmlsoap.org/ws/2004/09/enumeration"></Enumerate>',
  });

export const pull = (className: string, context: string) =>
  request({
    action: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull',
    className,
    body: `<Pull xmlns="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><EnumerationContext>${context}</EnumerationContext><MaxElements>999</MaxElements></Pull>`,
  });

export function invoke(className: string, method: string, params: string, selectors?: Record<string, string>): string {
  return request({
    action: `${uri(className)}/${method}`,
    className,
    selectors,
    body: `<r:${method}_INPUT xmlns:r="${uri(className)}">${params}</r:${method}_INPUT>`,
  });
}
