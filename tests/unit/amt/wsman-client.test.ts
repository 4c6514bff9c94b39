import { XMLParser } from 'fast-xml-parser';
import { AmtError } from '../../../lib/amt/errors';
import { AmtHttpClient } from '../../../lib/amt/http-client';
import { WsmanClient } from '../../../lib/amt/wsman/client';
import { ref } from '../../../lib/amt/wsman/envelope';
import { REMOVE, optionalString, stringList } from '../../../lib/amt/wsman/properties';
import { startFakeAmt, type FakeAmt, type FakeHandler } from './support/fake-amt';
import {
  AMT_SCHEMA,
  actionOf,
  bodyOf,
  generalSettingsXml,
  methodOutput,
  wsmanFault,
  wsmanOk,
} from './support/wsman-replies';

let amt: FakeAmt;
let handler: FakeHandler;
let wsman: WsmanClient;

beforeEach(async () => {
  handler = () => ({ status: 500 });
  amt = await startFakeAmt({ users: { admin: 'P@ssw0rd' }, handler: (request) => handler(request) });
  const http = new AmtHttpClient({ host: '127.0.0.1', port: amt.port }, { connectMs: 10_000, responseMs: 10_000 }, [
    { username: 'admin', password: 'P@ssw0rd', ref: 'current' },
  ]);
  wsman = new WsmanClient(http);
});
afterEach(() => amt.close());

const lastRequest = (): string => amt.handled.at(-1)?.body ?? '';
/** Element names in a request body, in order. */
const elementOrder = (xml: string, prefix: string): string[] =>
  [...xml.matchAll(new RegExp(`<${prefix}:(\\w+)[ >]`, 'g'))].map((m) => m[1] ?? '');
const failure = (promise: Promise<unknown>): Promise<AmtError> =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err as AmtError,
  );

describe('Get', () => {
  it('sends the header in the order real clients use and reads the instance', async () => {
    handler = ({ body }) => ({ body: wsmanOk(body, generalSettingsXml('amt1', 'corp.test')) });
    const instance = await wsman.get('AMT_GeneralSettings');
    expect(optionalString(instance, 'HostName')).toBe('amt1');
    expect(optionalString(instance, 'DigestRealm')).toBe('Digest:F3EB554784E729164447A89F60B641C5');
    const request = lastRequest();
    expect(elementOrder(request, 'a').slice(0, 4)).toEqual(['Action', 'To', 'MessageID', 'ReplyTo']);
    expect(request).toMatch(
      /<Header><a:Action>http:\/\/schemas\.xmlsoap\.org\/ws\/2004\/09\/transfer\/Get<\/a:Action><a:To>\/wsman<\/a:To><w:ResourceURI>http:\/\/intel\.com\/wbem\/wscim\/1\/amt-schema\/1\/AMT_GeneralSettings<\/w:ResourceURI><a:MessageID>uuid:[0-9a-f-]{36}<\/a:MessageID><a:ReplyTo><a:Address>http:\/\/schemas\.xmlsoap\.org\/ws\/2004\/08\/addressing\/role\/anonymous<\/a:Address><\/a:ReplyTo><w:OperationTimeout>PT60S<\/w:OperationTimeout><\/Header><Body><\/Body>/,
    );
    expect(amt.handled.at(-1)?.headers['content-type']).toBe('application/soap+xml; charset=utf-8');
  });

  it('refuses a response that relates to another message', async () => {
    handler = ({ body }) => ({ body: wsmanOk(body.replace(/uuid:[0-9a-f-]+/, 'uuid:other'), generalSettingsXml()) });
    expect(await failure(wsman.get('AMT_GeneralSettings'))).toMatchObject({
      code: 'MALFORMED_RESPONSE',
      outcome: 'unknown',
    });
  });

  it('does not expand entities a response declares', async () => {
    handler = ({ body }) => ({
      body: wsmanOk(body, '<g:AMT_GeneralSettings><g:HostName>&lol;</g:HostName></g:AMT_GeneralSettings>').replace(
        '<a:Envelope',
        '<!DOCTYPE a:Envelope [<!ENTITY lol "lollollollollol">]><a:Envelope',
      ),
    });
    expect(await failure(wsman.get('AMT_GeneralSettings'))).toMatchObject({ code: 'MALFORMED_RESPONSE' });
  });
});

describe('Put', () => {
  const hostile = `a&b<c>]]>"'`;

  it('writes the instance back in the order read, escaping every value, inserting new properties in ASCII order', async () => {
    handler = ({ body }) => ({ body: wsmanOk(body, generalSettingsXml()) });
    const instance = await wsman.get('AMT_GeneralSettings');
    handler = ({ body }) => ({ body: wsmanOk(body, generalSettingsXml('a&amp;b&lt;c&gt;]]&gt;&quot;&apos;')) });
    const updated = await wsman.put(instance, {
      HostName: hostile,
      DomainName: 'corp.test',
      HostOSFQDN: REMOVE,
      PingResponseEnabled: undefined,
      MaxWidget: '1',
    });
    expect(updated && optionalString(updated, 'HostName')).toBe(hostile);
    const request = lastRequest();
    const sent = elementOrder(bodyOf(request), 'h').slice(1);
    const read = Object.keys(instance.properties);
    const expected = read.filter((name) => name !== 'HostOSFQDN');
    expected.splice(expected.indexOf('NetworkInterfaceEnabled'), 0, 'MaxWidget');
    expect(sent).toEqual(expected);
    expect(request).toContain(`<h:HostName>a&amp;b&lt;c&gt;]]&gt;&quot;&apos;</h:HostName>`);
    expect(request).toContain(`<h:AMT_GeneralSettings xmlns:h="${AMT_SCHEMA}AMT_GeneralSettings">`);
    const reparsed = new XMLParser({ removeNSPrefix: true, parseTagValue: false }).parse(request) as {
      Envelope: { Body: { AMT_GeneralSettings: { HostName: string } } };
    };
    expect(reparsed.Envelope.Body.AMT_GeneralSettings.HostName).toBe(hostile);
    expect(request).not.toContain('<w:SelectorSet>');
  });

  it('addresses multi-instance classes by their key', async () => {
    const port =
      '<g:AMT_EthernetPortSettings><g:DHCPEnabled>true</g:DHCPEnabled><g:InstanceID>Intel(r) AMT Ethernet Port Settings 0</g:InstanceID></g:AMT_EthernetPortSettings>';
    handler = ({ body }) => ({ body: wsmanOk(body, port) });
    const instance = await wsman.get('AMT_EthernetPortSettings', {
      InstanceID: 'Intel(r) AMT Ethernet Port Settings 0',
    });
    await wsman.put(instance, { DHCPEnabled: false });
    expect(lastRequest()).toContain(
      '<w:SelectorSet><w:Selector Name="InstanceID">Intel(r) AMT Ethernet Port Settings 0</w:Selector></w:SelectorSet>',
    );
    expect(lastRequest()).toContain('<h:DHCPEnabled>false</h:DHCPEnabled>');
  });
});

describe('Enumerate and Pull', () => {
  const certificate = (n: number): string =>
    `<h:AMT_PublicKeyCertificate><h:InstanceID>Intel(r) AMT Certificate: Handle: ${n}</h:InstanceID></h:AMT_PublicKeyCertificate>`;

  it('follows the enumeration context until EndOfSequence', async () => {
    const pages: Record<string, string> = {
      'ctx-1': `<g:PullResponse><g:EnumerationContext>ctx-2</g:EnumerationContext><g:Items>${certificate(0)}${certificate(1)}</g:Items></g:PullResponse>`,
      'ctx-2': `<g:PullResponse><g:EnumerationContext>ctx-3</g:EnumerationContext><g:Items>${certificate(2)}</g:Items></g:PullResponse>`,
      'ctx-3': '<g:PullResponse><g:Items></g:Items><g:EndOfSequence></g:EndOfSequence></g:PullResponse>',
    };
    handler = ({ body }) => {
      if (actionOf(body).endsWith('/Enumerate')) {
        return {
          body: wsmanOk(
            body,
            '<g:EnumerateResponse><g:EnumerationContext>ctx-1</g:EnumerationContext></g:EnumerateResponse>',
            { enumeration: true },
          ),
        };
      }
      const context = /<EnumerationContext>([^<]+)</.exec(body)?.[1] ?? '';
      return { body: wsmanOk(body, pages[context] ?? '', { enumeration: true }) };
    };
    const instances = await wsman.enumerate('AMT_PublicKeyCertificate');
    expect(instances.map((i) => optionalString(i, 'InstanceID'))).toEqual(
      [0, 1, 2].map((n) => `Intel(r) AMT Certificate: Handle: ${n}`),
    );
    expect(amt.handled.map((r) => /<EnumerationContext>([^<]+)</.exec(r.body)?.[1])).toEqual([
      undefined,
      'ctx-1',
      'ctx-2',
      'ctx-3',
    ]);
    expect(bodyOf(amt.handled[1]?.body ?? '')).toContain('<MaxElements>999</MaxElements>');
  });

  it('returns nothing for an empty enumeration and reads single multi-valued properties as lists', async () => {
    handler = ({ body }) =>
      actionOf(body).endsWith('/Enumerate')
        ? {
            body: wsmanOk(
              body,
              '<g:EnumerateResponse><g:EnumerationContext>c</g:EnumerationContext></g:EnumerateResponse>',
              { enumeration: true },
            ),
          }
        : {
            body: wsmanOk(
              body,
              '<g:PullResponse><g:Items></g:Items><g:EndOfSequence></g:EndOfSequence></g:PullResponse>',
              { enumeration: true },
            ),
          };
    expect(await wsman.enumerate('CIM_WiFiEndpointSettings')).toEqual([]);

    handler = ({ body }) =>
      actionOf(body).endsWith('/Enumerate')
        ? {
            body: wsmanOk(
              body,
              '<g:EnumerateResponse><g:EnumerationContext>c</g:EnumerationContext></g:EnumerateResponse>',
              { enumeration: true },
            ),
          }
        : {
            body: wsmanOk(
              body,
              '<g:PullResponse><g:Items><h:AMT_TLSSettingData><h:InstanceID>x</h:InstanceID><h:TrustedCN>only.corp.test</h:TrustedCN></h:AMT_TLSSettingData></g:Items><g:EndOfSequence></g:EndOfSequence></g:PullResponse>',
              { enumeration: true },
            ),
          };
    const [settings] = await wsman.enumerate('AMT_TLSSettingData');
    expect(settings && stringList(settings, 'TrustedCN')).toEqual(['only.corp.test']);
  });
});

describe('Create and Delete', () => {
  it('creates with references and reads the ResourceCreated reference', async () => {
    handler = ({ body }) => ({
      body: wsmanOk(
        body,
        '<g:ResourceCreated><b:Address>default</b:Address><b:ReferenceParameters><c:ResourceURI>http://intel.com/wbem/wscim/1/amt-schema/1/AMT_TLSCredentialContext</c:ResourceURI>' +
          '<c:SelectorSet><c:Selector Name="ElementInContext"><b:EndpointReference><b:Address>default</b:Address><b:ReferenceParameters>' +
          '<c:ResourceURI>http://intel.com/wbem/wscim/1/amt-schema/1/AMT_PublicKeyCertificate</c:ResourceURI><c:SelectorSet>' +
          '<c:Selector Name="InstanceID">Intel(r) AMT Certificate: Handle: 1</c:Selector></c:SelectorSet></b:ReferenceParameters></b:EndpointReference></c:Selector></c:SelectorSet></b:ReferenceParameters></g:ResourceCreated>',
      ),
    });
    const created = await wsman.create('AMT_TLSCredentialContext', {
      ElementInContext: ref('AMT_PublicKeyCertificate', { InstanceID: 'Intel(r) AMT Certificate: Handle: 1' }),
    });
    expect(created.resourceUri).toBe(`${AMT_SCHEMA}AMT_TLSCredentialContext`);
    expect(created.selectors['ElementInContext']).toMatchObject({
      kind: 'epr',
      selectors: { InstanceID: 'Intel(r) AMT Certificate: Handle: 1' },
    });
    expect(lastRequest()).toContain(
      `<h:ElementInContext><a:Address>/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>${AMT_SCHEMA}AMT_PublicKeyCertificate</w:ResourceURI><w:SelectorSet><w:Selector Name="InstanceID">Intel(r) AMT Certificate: Handle: 1</w:Selector></w:SelectorSet></a:ReferenceParameters></h:ElementInContext>`,
    );
  });

  it('deletes by selector, reference selectors included', async () => {
    handler = ({ body }) => ({ body: wsmanOk(body, '') });
    await wsman.delete('AMT_TLSCredentialContext', {
      ElementInContext: ref('AMT_PublicKeyCertificate', { InstanceID: 'c<1>' }),
    });
    expect(lastRequest()).toContain(
      '<w:SelectorSet><w:Selector Name="ElementInContext"><a:EndpointReference><a:Address>/wsman</a:Address>',
    );
    expect(lastRequest()).toContain('<w:Selector Name="InstanceID">c&lt;1&gt;</w:Selector>');
  });
});

describe('Invoke', () => {
  it('sends parameters in catalogue (MOF) order whatever the argument order, arrays as repeated elements', async () => {
    handler = ({ body }) => ({ body: wsmanOk(body, methodOutput('AddUserAclEntryEx', 0, '<g:Handle>7</g:Handle>')) });
    const output = await wsman.invoke('AMT_AuthorizationService', 'AddUserAclEntryEx', {
      Realms: [3, 5],
      AccessPermission: 2,
      DigestPassword: 'aGFzaA==',
      DigestUsername: 'ops',
    });
    expect(optionalString(output, 'Handle')).toBe('7');
    expect(bodyOf(lastRequest())).toBe(
      `<h:AddUserAclEntryEx_INPUT xmlns:h="${AMT_SCHEMA}AMT_AuthorizationService"><h:DigestUsername>ops</h:DigestUsername>` +
        '<h:DigestPassword>aGFzaA==</h:DigestPassword><h:AccessPermission>2</h:AccessPermission><h:Realms>3</h:Realms><h:Realms>5</h:Realms></h:AddUserAclEntryEx_INPUT>',
    );
    expect(actionOf(lastRequest())).toBe(`${AMT_SCHEMA}AMT_AuthorizationService/AddUserAclEntryEx`);
  });

  it('maps a non-zero ReturnValue to the PT_STATUS error', async () => {
    handler = ({ body }) => ({ body: wsmanOk(body, methodOutput('CommitChanges', 3)) });
    expect(await failure(wsman.invoke('AMT_SetupAndConfigurationService', 'CommitChanges'))).toMatchObject({
      code: 'PT_STATUS_INVALID_PT_MODE',
      outcome: 'rejected',
      returnValue: 3,
    });
  });

  it('refuses an argument the method does not have, before sending', async () => {
    await expect(wsman.invoke('AMT_SetupAndConfigurationService', 'Unprovision', { Mode: 1 })).rejects.toThrow(
      TypeError,
    );
    expect(amt.received).toHaveLength(0);
  });

  it('treats a response without ReturnValue as malformed, outcome unknown', async () => {
    handler = ({ body }) => ({ body: wsmanOk(body, '<g:CommitChanges_OUTPUT></g:CommitChanges_OUTPUT>') });
    expect(await failure(wsman.invoke('AMT_SetupAndConfigurationService', 'CommitChanges'))).toMatchObject({
      code: 'MALFORMED_RESPONSE',
      outcome: 'unknown',
    });
  });
});

describe('faults', () => {
  it.each([
    [
      'e:AlreadyExists',
      'The sender attempted to create a resource which already exists.',
      'WSMAN_ALREADY_EXISTS',
      false,
    ],
    [
      'b:DestinationUnreachable',
      'No route can be determined to reach the destination role defined by the WSAddressing To.',
      'WSMAN_DESTINATION_UNREACHABLE',
      false,
    ],
    ['d:InvalidRepresentation', 'The XML content is not valid.', 'WSMAN_INVALID_REPRESENTATION', false],
    [
      'e:SchemaValidationError',
      'The supplied SOAP violates the corresponding XML schema definition.',
      'WSMAN_SCHEMA_VALIDATION_ERROR',
      false,
    ],
    ['e:QuotaLimit', 'The service is busy servicing other requests.', 'WSMAN_QUOTA_LIMIT', true],
  ])('maps %s to %s', async (subcode, reason, code, transient) => {
    handler = () => ({ status: 400, body: wsmanFault(subcode, reason) });
    const error = await failure(wsman.get('IPS_OptInService'));
    expect(error).toMatchObject({ code, outcome: 'rejected', transient, reason, subcode: subcode.split(':')[1] });
  });

  it('keeps the fault detail', async () => {
    handler = () => ({
      status: 400,
      body: wsmanFault(
        'd:InvalidRepresentation',
        'The XML content is not valid.',
        '<e:FaultDetail>http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MissingValues</e:FaultDetail>',
      ),
    });
    expect(await failure(wsman.get('IPS_OptInService'))).toMatchObject({
      detail: 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MissingValues',
    });
  });

  it('reports a 500 without a fault as outcome unknown and a garbled 200 as malformed', async () => {
    handler = () => ({ status: 500, body: 'Internal error' });
    expect(await failure(wsman.invoke('AMT_SetupAndConfigurationService', 'CommitChanges'))).toMatchObject({
      code: 'UNEXPECTED_HTTP_STATUS',
      status: 500,
      outcome: 'unknown',
      transient: true,
    });
    handler = () => ({ body: '<a:Envelope><a:Body>' });
    expect(await failure(wsman.invoke('AMT_SetupAndConfigurationService', 'CommitChanges'))).toMatchObject({
      code: 'MALFORMED_RESPONSE',
      outcome: 'unknown',
    });
  });
});
