import { CLASSES } from '../../../emulator/classes';
import { createNvram, type Nvram } from '../../../emulator/device/nvram';
import { deviceProfileSchema } from '../../../emulator/device/profile';
import { EnumerationContexts, dispatch } from '../../../emulator/wsman/dispatch';
import { parseEnvelope } from '../../../emulator/wsman/envelope';
import { WsmanFault } from '../../../emulator/wsman/faults';
import type { FirmwareContext } from '../../../emulator/wsman/registry';
import { FaultRegistry } from '../../../emulator/fleet/faults';
import { Host } from '../../../emulator/host/host';
import { instanceXml } from '../../../emulator/wsman/writer';
import { XmlInputError, decodeEntities, parseXml } from '../../../emulator/wsman/xml';
import { enumerate, get, invoke, pull, request } from '../../integration/emulator/support/wsman';

function device(amtVersion = '11.8.50', state: 'pre' | 'post' = 'post'): Nvram {
  const profile = deviceProfileSchema.parse({ amtVersion, state });
  return createNvram(
    { ...profile, uuid: '11111111-2222-4333-8444-555555555555', address: '127.20.0.9' },
    { keyPem: 'K', certPem: 'C' },
  );
}

function run(xml: string, nvram = device(), enumerations = new EnumerationContexts()): string {
  const ctx: FirmwareContext = {
    nvram,
    auth: { username: 'admin', kind: 'admin', realms: 'all' },
    session: null,
    now: () => new Date(),
    drawKey: () => {
      throw new Error('no pool in unit tests');
    },
    signal: () => undefined,
    host: new Host({
      uuid: nvram.uuid,
      nvram: () => nvram,
      faults: new FaultRegistry(),
      persist: async () => undefined,
      now: () => new Date(),
    }),
  };
  return dispatch(parseEnvelope(parseXml(xml)), ctx, {
    classes: CLASSES,
    enumerations,
    nextMessageId: () => 'uuid:00000000-8086-8086-8086-000000000001',
  });
}

function fault(xml: string, nvram?: Nvram): string {
  try {
    run(xml, nvram);
  } catch (err) {
    if (err instanceof WsmanFault) return err.subcode;
    throw err;
  }
  throw new Error('no fault');
}

describe('XML input', () => {
  it('refuses DOCTYPE (no entity bombs), malformed and over-nested XML', () => {
    expect(() => parseXml('<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>')).toThrow(XmlInputError);
    expect(() => parseXml('<a><b></a>')).toThrow(XmlInputError);
    expect(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100))).toThrow(XmlInputError);
    expect(() => parseXml('<a></a><b></b>')).toThrow(XmlInputError);
  });

  it('decodes only predefined entities and character references', () => {
    expect(decodeEntities('a&amp;b&lt;&#65;&#x42;&custom;')).toBe('a&b<AB&custom;');
    expect(parseXml('<x:a xmlns:x="u" x:Name="v&amp;w">t&gt;</x:a>')).toMatchObject({
      name: 'a',
      attrs: { Name: 'v&w' },
      children: [],
      text: 't>',
    });
  });
});

describe('WS-Man dispatch', () => {
  it('answers Get with AMT prefixes, echoed RelatesTo, sorted properties and no self-closing tags', () => {
    const out = run(get('AMT_GeneralSettings'));
    expect(out).toMatch(/<b:RelatesTo>\d+<\/b:RelatesTo>/);
    expect(out).toContain(
      '<b:Action a:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse</b:Action>',
    );
    expect(out).toContain('xmlns:g="http://intel.com/wbem/wscim/1/amt-schema/1/AMT_GeneralSettings"');
    expect(out).toContain('<g:DomainName></g:DomainName>');
    expect(out).not.toMatch(/\/>/);
    const names = [...out.matchAll(/<g:([A-Za-z]+)>/g)].map((m) => m[1]!).filter((n) => n !== 'AMT_GeneralSettings');
    expect(names).toEqual([...names].sort());
  });

  it('sorts ASCII: uppercase before lowercase', () => {
    expect(instanceXml('g', 'C', { localProfile: 1, Zeta: 2, Alpha: [1, 2], Skip: undefined })).toBe(
      '<g:C><g:Alpha>1</g:Alpha><g:Alpha>2</g:Alpha><g:Zeta>2</g:Zeta><g:localProfile>1</g:localProfile></g:C>',
    );
  });

  it('faults like firmware: unknown class, bad selectors, unknown instance, unknown method, bad Put order', () => {
    expect(fault(get('AMT_Nope'))).toBe('b:DestinationUnreachable');
    expect(fault(request({ action: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get', className: 'Foo_Bar' }))).toBe(
      'b:DestinationUnreachable',
    );
    expect(fault(get('AMT_EthernetPortSettings', { Bogus: '1' }))).toBe('e:InvalidSelectors');
    expect(fault(get('AMT_EthernetPortSettings'))).toBe('e:InvalidSelectors');
    expect(fault(get('AMT_EthernetPortSettings', { InstanceID: 'Intel(r) AMT Ethernet Port Settings 7' }))).toBe(
      'b:DestinationUnreachable',
    );
    expect(fault(invoke('AMT_GeneralSettings', 'Nope', ''))).toBe('b:ActionNotSupported');
    const unsorted = request({
      action: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Put',
      className: 'AMT_GeneralSettings',
      body: '<h:AMT_GeneralSettings xmlns:h="x"><h:HostName>a</h:HostName><h:DomainName>b</h:DomainName></h:AMT_GeneralSettings>',
    });
    expect(fault(unsorted)).toBe('e:SchemaValidationError');
    expect(fault('<Envelope><Header></Header><Body></Body></Envelope>')).toBe('b:InvalidMessageInformationHeader');
  });

  it('gates classes by firmware version', () => {
    expect(fault(get('IPS_HostBasedSetupService'), device('6.2.0'))).toBe('b:DestinationUnreachable');
    expect(run(get('IPS_HostBasedSetupService'), device('7.0.0'))).toContain('IPS_HostBasedSetupService');
    expect(fault(get('IPS_OptInService'), device('5.2.10'))).toBe('b:DestinationUnreachable');
  });

  it('enumerates with contexts, pages by MaxElements and ends with EndOfSequence or empty Items', () => {
    const contexts = new EnumerationContexts();
    const nvram = device();
    const ctx = /<g:EnumerationContext>([^<]+)</.exec(run(enumerate('CIM_SoftwareIdentity'), nvram, contexts))![1]!;
    const page = run(pull('CIM_SoftwareIdentity', ctx), nvram, contexts);
    expect(page.match(/<h:CIM_SoftwareIdentity>/g)).toHaveLength(11);
    expect(page).toContain('<g:EndOfSequence></g:EndOfSequence>');
    expect(() => run(pull('CIM_SoftwareIdentity', ctx), nvram, contexts)).toThrow(/InvalidEnumerationContext/);
    const empty = /<g:EnumerationContext>([^<]+)</.exec(
      run(enumerate('AMT_PublicKeyCertificate'), nvram, contexts),
    )![1]!;
    expect(run(pull('AMT_PublicKeyCertificate', empty), nvram, contexts)).toContain(
      '<g:Items></g:Items><g:EndOfSequence></g:EndOfSequence>',
    );
  });

  it('returns PT_STATUS codes from methods and applies state rules', () => {
    const pre = device('11.8.50', 'pre');
    expect(run(invoke('AMT_SetupAndConfigurationService', 'CommitChanges', ''), pre)).toContain(
      '<g:ReturnValue>32</g:ReturnValue>',
    );
    expect(
      run(invoke('AMT_SetupAndConfigurationService', 'Unprovision', '<r:ProvisioningMode>9</r:ProvisioningMode>')),
    ).toContain('<g:ReturnValue>36</g:ReturnValue>');
    const out = run(invoke('AMT_TimeSynchronizationService', 'GetLowAccuracyTimeSynch', ''));
    expect(out).toMatch(
      /<g:GetLowAccuracyTimeSynch_OUTPUT><g:Ta0>\d+<\/g:Ta0><g:ReturnValue>0<\/g:ReturnValue><\/g:GetLowAccuracyTimeSynch_OUTPUT>/,
    );
  });
});

/**
 * AMT SDK "Valid user names and passwords", as firmware applies it: the emulator's own reading,
 * answered with the PT_STATUS codes firmware returns (12 INVALID_NAME, 2054 INVALID_PASSWORD).
 */
describe('firmware account rules', () => {
  const returnValue = (out: string) => Number(/<g:ReturnValue>(\d+)<\/g:ReturnValue>/.exec(out)![1]);
  const digest = Buffer.alloc(16, 7).toString('base64');
  const addUser = (name: string, nvram?: Nvram) =>
    returnValue(
      run(
        invoke(
          'AMT_AuthorizationService',
          'AddUserAclEntryEx',
          `<r:DigestUsername>${name}</r:DigestUsername><r:DigestPassword>${digest}</r:DigestPassword>` +
            '<r:AccessPermission>2</r:AccessPermission><r:Realms>3</r:Realms>',
        ),
        nvram,
      ),
    );

  it.each([
    ['ops&amp;lab', 12],
    ['ops&lt;lab', 12],
    ['a'.repeat(17), 12],
    ['ops lab', 12],
    ['$$OsAdmin', 12],
    ['admin', 12],
    ['ADMIN', 12],
    ['auditor', 0],
    ['ops.lab-01~$x!#%', 0],
  ])('AddUserAclEntryEx(%j) returns %i', (name, expected) => {
    expect(addUser(name)).toBe(expected);
  });

  it('reserves "Administrator", not "admin", on Release 3.2', () => {
    expect(addUser('Administrator', device('3.2.1'))).toBe(12);
    expect(addUser('Administrator', device('11.8.50'))).toBe(0);
  });

  it('refuses a reserved or malformed admin name in SetAdminAclEntryEx', () => {
    const set = (name: string) =>
      returnValue(
        run(
          invoke(
            'AMT_AuthorizationService',
            'SetAdminAclEntryEx',
            `<r:Username>${name}</r:Username><r:DigestPassword>${digest}</r:DigestPassword>`,
          ),
        ),
      );
    expect(set('$$admin')).toBe(12);
    expect(set('ops,lab')).toBe(12);
    expect(set('admin')).toBe(0);
  });

  it.each([
    ['Location_1', 2054],
    ['Abcdefg1 x', 2054],
    ['Şifre123x!', 2054],
    ['Abcdef1:x', 2054],
    ['Location_1!', 0],
  ])('SetMEBxPassword(%j) returns %i', (password, expected) => {
    const out = run(
      invoke('AMT_SetupAndConfigurationService', 'SetMEBxPassword', `<r:Password>${password}</r:Password>`),
    );
    expect(returnValue(out)).toBe(expected);
  });

  it('has room for seven Digest users and 32 Kerberos entries: the next of each is MAX_LIMIT_REACHED (23)', () => {
    const nvram = device();
    const addKerberos = (i: number) =>
      returnValue(
        run(
          invoke(
            'AMT_AuthorizationService',
            'AddUserAclEntryEx',
            `<r:KerberosUserSid>${Buffer.from([1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, i]).toString('base64')}</r:KerberosUserSid>` +
              '<r:AccessPermission>2</r:AccessPermission><r:Realms>2</r:Realms>',
          ),
          nvram,
        ),
      );
    for (let i = 1; i <= 7; i++) expect(addUser(`operator${i}`, nvram)).toBe(0);
    expect(addUser('operator8', nvram)).toBe(23);
    for (let i = 1; i <= 32; i++) expect(addKerberos(i)).toBe(0);
    expect(addKerberos(33)).toBe(23);
    expect(nvram.users).toHaveLength(39);
  });

  it('refuses 802.1X credentials that are not 7-bit ASCII or longer than AMT_8021XProfile allows', () => {
    const put = (username: string, password = 'eap-Pa55') =>
      run(
        request({
          action: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Put',
          className: 'IPS_IEEE8021xSettings',
          body:
            '<h:IPS_IEEE8021xSettings xmlns:h="x"><h:AuthenticationProtocol>2</h:AuthenticationProtocol>' +
            `<h:Enabled>2</h:Enabled><h:Password>${password}</h:Password>` +
            `<h:Username>${username}</h:Username></h:IPS_IEEE8021xSettings>`,
        }),
      );
    expect(put('pc-17')).toContain('<g:Username>pc-17</g:Username>');
    expect(() => put('bénédicte')).toThrow(expect.objectContaining({ subcode: 'd:InvalidRepresentation' }));
    expect(put('pc-18', 'p'.repeat(32))).toContain('<g:Username>pc-18</g:Username>');
    expect(() => put('pc-19', 'p'.repeat(33))).toThrow(expect.objectContaining({ subcode: 'd:InvalidRepresentation' }));
    expect(() => put('u'.repeat(129))).toThrow(expect.objectContaining({ subcode: 'd:InvalidRepresentation' }));
  });
});

describe('root hashes from AMT 15/16 on', () => {
  const create = (algorithm: 1 | 2, bytes: number, nvram: Nvram) =>
    run(
      request({
        action: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create',
        className: 'AMT_ProvisioningCertificateHash',
        body:
          '<h:AMT_ProvisioningCertificateHash xmlns:h="x"><h:Description>Custom</h:Description>' +
          `<h:Enabled>true</h:Enabled><h:HashData>${Buffer.alloc(bytes, 9).toString('base64')}</h:HashData>` +
          `<h:HashType>${algorithm}</h:HashType></h:AMT_ProvisioningCertificateHash>`,
      }),
      nvram,
    );

  it('refuses a new SHA-1 hash ("no longer possible to add SHA1 hashes") and takes SHA-256', () => {
    expect(() => create(1, 20, device('16.1.25'))).toThrow(
      expect.objectContaining({ subcode: 'd:InvalidRepresentation' }),
    );
    expect(create(2, 32, device('16.1.25'))).toContain('ResourceCreated');
    expect(create(1, 20, device('11.8.50'))).toContain('ResourceCreated');
  });
});

describe('enumeration contexts, as firmware keeps them', () => {
  it('refuses an Enumerate with QuotaLimit once every slot is taken, until one is released or expires', () => {
    let now = 0;
    const contexts = new EnumerationContexts({ max: 2, idleMs: 60_000 }, () => now);
    const nvram = device();
    const open = () =>
      /<g:EnumerationContext>([^<]+)</.exec(run(enumerate('CIM_SoftwareIdentity'), nvram, contexts))![1]!;
    const first = open();
    open();
    expect(() => run(enumerate('CIM_SoftwareIdentity'), nvram, contexts)).toThrow(
      expect.objectContaining({ subcode: 'e:QuotaLimit' }),
    );
    run(
      request({
        action: 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release',
        className: 'CIM_SoftwareIdentity',
        body: `<Release xmlns="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><EnumerationContext>${first}</EnumerationContext></Release>`,
      }),
      nvram,
      contexts,
    );
    const third = open();
    now += 59_999;
    expect(contexts.size).toBe(2);
    now += 1;
    expect(contexts.size).toBe(0);
    expect(() => run(pull('CIM_SoftwareIdentity', third), nvram, contexts)).toThrow(/InvalidEnumerationContext/);
    open();
  });

  it('renews a pulled context under a new name in the same slot; only the new name releases it', () => {
    const contexts = new EnumerationContexts({ max: 1, idleMs: 60_000 });
    const first = contexts.open('CIM_SoftwareIdentity', [{}])!;
    expect(contexts.renew(first, 'AMT_GeneralSettings')).toBeNull();
    const next = contexts.renew(first, 'CIM_SoftwareIdentity')!;
    expect(next).not.toBe(first);
    expect(contexts.open('CIM_SoftwareIdentity', [])).toBeNull();
    expect(contexts.release(first)).toBe(false);
    expect(contexts.release(next)).toBe(true);
    expect(contexts.size).toBe(0);
  });
});
