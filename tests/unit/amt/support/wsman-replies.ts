/**
 * AMT-shaped WS-Management response documents, following the prefix maps of the captures in the
 * protocol reference §2.4/§2.5 (RPS AMTMessages.ts, go-wsman-messages fixtures).
 */

const SOAP = 'http://www.w3.org/2003/05/soap-envelope';
const ADDRESSING = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
const WSMAN = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd';
const ENUMERATION = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration';
const TRANSFER = 'http://schemas.xmlsoap.org/ws/2004/09/transfer';

export const AMT_SCHEMA = 'http://intel.com/wbem/wscim/1/amt-schema/1/';
export const CIM_SCHEMA = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/';

const pick = (xml: string, tag: string): string => new RegExp(`<(?:\\w+:)?${tag}[^>]*>([^<]*)</`).exec(xml)?.[1] ?? '';

export const messageIdOf = (xml: string): string => pick(xml, 'MessageID');
export const actionOf = (xml: string): string => pick(xml, 'Action');
export const resourceUriOf = (xml: string): string => pick(xml, 'ResourceURI');
/** The request Body's content. */
export const bodyOf = (xml: string): string => /<Body>([\s\S]*)<\/Body>/.exec(xml)?.[1] ?? '';

let counter = 0x2e4;

/**
 * A 200 response to `request`; `body` uses `g:` for the class namespace (Get/Put/methods) or the
 * enumeration namespace with `h:` for the class (Enumerate/Pull), as AMT does.
 */
export function wsmanOk(
  request: string,
  body: string,
  options: { responseAction?: string; enumeration?: boolean } = {},
): string {
  const uri = resourceUriOf(request);
  const g = options.enumeration ? ENUMERATION : uri;
  const action = options.responseAction ?? `${actionOf(request)}Response`;
  counter++;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<a:Envelope xmlns:a="${SOAP}" xmlns:b="${ADDRESSING}" xmlns:c="${WSMAN}" xmlns:d="http://schemas.xmlsoap.org/ws/2005/02/trust" ` +
    'xmlns:e="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ' +
    `xmlns:f="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd" xmlns:g="${g}" xmlns:h="${uri}" ` +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<a:Header><b:To>${ADDRESSING}/role/anonymous</b:To><b:RelatesTo>${messageIdOf(request)}</b:RelatesTo>` +
    `<b:Action a:mustUnderstand="true">${action}</b:Action>` +
    `<b:MessageID>uuid:00000000-8086-8086-8086-${counter.toString(16).toUpperCase().padStart(12, '0')}</b:MessageID>` +
    `<c:ResourceURI>${uri}</c:ResourceURI></a:Header><a:Body>${body}</a:Body></a:Envelope>`
  );
}

/** An AMT fault document (sent with HTTP 400); `subcode` carries its prefix, e.g. `e:AlreadyExists`. */
export function wsmanFault(subcode: string, reason: string, detail = ''): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<a:Envelope xmlns:a="${SOAP}" xmlns:b="${ADDRESSING}" xmlns:c="${ENUMERATION}" xmlns:d="${TRANSFER}" ` +
    `xmlns:e="${WSMAN}" xmlns:f="http://schemas.xmlsoap.org/ws/2004/08/eventing" ` +
    'xmlns:g="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd">' +
    `<a:Header><b:To>${ADDRESSING}/role/anonymous</b:To><b:RelatesTo>0</b:RelatesTo>` +
    `<b:Action a:mustUnderstand="true">http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</b:Action>` +
    '<b:MessageID>uuid:00000000-8086-8086-8086-000000000001</b:MessageID></a:Header>' +
    `<a:Body><a:Fault><a:Code><a:Value>a:Sender</a:Value><a:Subcode><a:Value>${subcode}</a:Value></a:Subcode></a:Code>` +
    `<a:Reason><a:Text xml:lang="en-US">${reason}</a:Text></a:Reason>` +
    `<a:Detail>${detail}</a:Detail></a:Fault></a:Body></a:Envelope>`
  );
}

/** The GeneralSettings instance of the go-wsman-messages fixture shape (properties ASCII-sorted). */
export function generalSettingsXml(hostName = 'host', domainName = ''): string {
  return (
    '<g:AMT_GeneralSettings><g:AMTNetworkEnabled>1</g:AMTNetworkEnabled><g:DDNSPeriodicUpdateInterval>1440</g:DDNSPeriodicUpdateInterval>' +
    '<g:DDNSTTL>900</g:DDNSTTL><g:DDNSUpdateByDHCPServerEnabled>true</g:DDNSUpdateByDHCPServerEnabled><g:DDNSUpdateEnabled>false</g:DDNSUpdateEnabled>' +
    '<g:DHCPv6ConfigurationTimeout>0</g:DHCPv6ConfigurationTimeout><g:DigestRealm>Digest:F3EB554784E729164447A89F60B641C5</g:DigestRealm>' +
    `<g:DomainName>${domainName}</g:DomainName><g:ElementName>Intel(r) AMT: General Settings</g:ElementName><g:HostName>${hostName}</g:HostName>` +
    '<g:HostOSFQDN>host.example</g:HostOSFQDN><g:IdleWakeTimeout>65535</g:IdleWakeTimeout><g:InstanceID>Intel(r) AMT: General Settings</g:InstanceID>' +
    '<g:NetworkInterfaceEnabled>true</g:NetworkInterfaceEnabled><g:PingResponseEnabled>true</g:PingResponseEnabled><g:PowerSource>0</g:PowerSource>' +
    '<g:PreferredAddressFamily>0</g:PreferredAddressFamily><g:PresenceNotificationInterval>0</g:PresenceNotificationInterval>' +
    '<g:PrivacyLevel>0</g:PrivacyLevel><g:RmcpPingResponseEnabled>true</g:RmcpPingResponseEnabled><g:SharedFQDN>true</g:SharedFQDN>' +
    '<g:ThunderboltDockEnabled>0</g:ThunderboltDockEnabled><g:WsmanOnlyMode>false</g:WsmanOnlyMode></g:AMT_GeneralSettings>'
  );
}

/** A method output: `<g:Method_OUTPUT>` with the given children and ReturnValue last. */
export function methodOutput(method: string, returnValue: number, children = ''): string {
  return `<g:${method}_OUTPUT>${children}<g:ReturnValue>${returnValue}</g:ReturnValue></g:${method}_OUTPUT>`;
}

/** `AMT_Class/Operation` of a request, e.g. `AMT_GeneralSettings/Get`, `AMT_AuthorizationService/AddUserAclEntryEx`. */
export function routeOf(request: string): string {
  const uri = resourceUriOf(request);
  const action = actionOf(request);
  return `${uri.slice(uri.lastIndexOf('/') + 1)}/${action.slice(action.lastIndexOf('/') + 1)}`;
}

/** An Enumerate answer plus a single Pull with all items (`h:` class elements). */
export function enumerationReply(request: string, items: string): string {
  return actionOf(request).endsWith('/Enumerate')
    ? wsmanOk(request, '<g:EnumerateResponse><g:EnumerationContext>ctx</g:EnumerationContext></g:EnumerateResponse>', {
        enumeration: true,
      })
    : wsmanOk(
        request,
        `<g:PullResponse><g:Items>${items}</g:Items><g:EndOfSequence></g:EndOfSequence></g:PullResponse>`,
        {
          enumeration: true,
        },
      );
}

/** An EPR as AMT writes it inside a response (`b:`/`c:` prefixes). */
export function eprXml(resourceUri: string, selectors: Record<string, string>): string {
  const items = Object.entries(selectors)
    .map(([name, value]) => `<c:Selector Name="${name}">${value}</c:Selector>`)
    .join('');
  return `<b:Address>default</b:Address><b:ReferenceParameters><c:ResourceURI>${resourceUri}</c:ResourceURI><c:SelectorSet>${items}</c:SelectorSet></b:ReferenceParameters>`;
}
