import { createHash, generateKeyPairSync } from 'node:crypto';
import { AmtError } from '../../../lib/amt/errors';
import { openAmtSession, type AmtSession } from '../../../lib/amt/session';
import { startFakeAmt, type FakeAmt, type FakeReply, type FakeRequest } from './support/fake-amt';
import {
  AMT_SCHEMA,
  CIM_SCHEMA,
  bodyOf,
  enumerationReply,
  eprXml,
  generalSettingsXml,
  methodOutput,
  routeOf,
  wsmanFault,
  wsmanOk,
} from './support/wsman-replies';

const REALM = 'Digest:F3EB554784E729164447A89F60B641C5';
type Routes = Record<string, (request: FakeRequest) => FakeReply>;

let amt: FakeAmt;
let routes: Routes;
let session: AmtSession;

beforeEach(async () => {
  routes = {};
  amt = await startFakeAmt({
    users: { admin: 'Old-P@ss1' },
    handler: (request) =>
      routes[routeOf(request.body)]?.(request) ?? {
        status: 400,
        body: wsmanFault('b:DestinationUnreachable', 'no route'),
      },
  });
  session = openAmtSession({
    host: '127.0.0.1',
    port: amt.port,
    credentials: [{ username: 'admin', password: 'Old-P@ss1', ref: 'current' }],
    timeouts: { connectMs: 10_000, responseMs: 10_000 },
  });
});
afterEach(() => amt.close());

const ok =
  (body: string) =>
  (request: FakeRequest): FakeReply => ({ body: wsmanOk(request.body, body) });
const requestsTo = (route: string): string[] =>
  amt.handled.filter((r) => routeOf(r.body) === route).map((r) => bodyOf(r.body));

describe('admin account and ACLs', () => {
  it('sets the admin password as Base64(MD5(user:realm:password)) and logs in with it afterwards', async () => {
    routes['AMT_GeneralSettings/Get'] = ok(generalSettingsXml());
    routes['AMT_AuthorizationService/SetAdminAclEntryEx'] = (request) => {
      amt.setPassword('admin', 'N3w-P@ss!');
      return { body: wsmanOk(request.body, methodOutput('SetAdminAclEntryEx', 0)) };
    };
    expect(await session.login()).toEqual({ credentialRef: 'current' });
    await session.wsman.access.setAdminPassword({ username: 'admin', password: 'N3w-P@ss!', ref: 'pending' });
    const expected = createHash('md5').update(`admin:${REALM}:N3w-P@ss!`).digest('base64');
    expect(requestsTo('AMT_AuthorizationService/SetAdminAclEntryEx')[0]).toContain(
      `<h:Username>admin</h:Username><h:DigestPassword>${expected}</h:DigestPassword>`,
    );
    await session.wsman.device.getGeneralSettings();
    expect(session.credentialRef).toBe('pending');
    expect(amt.handled.at(-1)?.body).not.toContain('N3w-P@ss!');
  });

  it('pages through user ACL handles by StartIndex and clears them all', async () => {
    routes['AMT_AuthorizationService/EnumerateUserAclEntries'] = (request) => {
      const start = /<h:StartIndex>(\d+)</.exec(request.body)?.[1];
      const handles = start === '1' ? [11, 12] : [13];
      return {
        body: wsmanOk(
          request.body,
          methodOutput(
            'EnumerateUserAclEntries',
            0,
            `<g:TotalCount>3</g:TotalCount><g:HandlesCount>${handles.length}</g:HandlesCount>${handles.map((h) => `<g:Handles>${h}</g:Handles>`).join('')}`,
          ),
        ),
      };
    };
    routes['AMT_AuthorizationService/RemoveUserAclEntry'] = ok(methodOutput('RemoveUserAclEntry', 0));
    expect(await session.wsman.access.clearUserAcl()).toBe(3);
    expect(
      requestsTo('AMT_AuthorizationService/EnumerateUserAclEntries').map((b) => /StartIndex>(\d+)</.exec(b)?.[1]),
    ).toEqual(['1', '3']);
    expect(requestsTo('AMT_AuthorizationService/RemoveUserAclEntry').map((b) => /Handle>(\d+)</.exec(b)?.[1])).toEqual([
      '11',
      '12',
      '13',
    ]);
  });

  it('adds a Kerberos user by SID without Digest fields', async () => {
    routes['AMT_AuthorizationService/AddUserAclEntryEx'] = ok(
      methodOutput('AddUserAclEntryEx', 0, '<g:Handle>4</g:Handle>'),
    );
    const sid = Buffer.from('010500000000000515000000a1b2c3d4e5f60718293a4b5c51040000', 'hex');
    expect(await session.wsman.access.addKerberosUser({ sid, accessPermission: 2, realms: [3] })).toBe(4);
    expect(requestsTo('AMT_AuthorizationService/AddUserAclEntryEx')[0]).toBe(
      `<h:AddUserAclEntryEx_INPUT xmlns:h="${AMT_SCHEMA}AMT_AuthorizationService"><h:KerberosUserSid>${sid.toString('base64')}</h:KerberosUserSid>` +
        '<h:AccessPermission>2</h:AccessPermission><h:Realms>3</h:Realms></h:AddUserAclEntryEx_INPUT>',
    );
  });
});

describe('clock, state and one-shot calls', () => {
  it('synchronises the clock with Ta0 from the device and Tm1 = Tm2 = now', async () => {
    routes['AMT_TimeSynchronizationService/GetLowAccuracyTimeSynch'] = ok(
      methodOutput('GetLowAccuracyTimeSynch', 0, '<g:Ta0>1700000000</g:Ta0>'),
    );
    routes['AMT_TimeSynchronizationService/SetHighAccuracyTimeSynch'] = ok(methodOutput('SetHighAccuracyTimeSynch', 0));
    const now = new Date('2026-03-01T12:00:00.750Z');
    const result = await session.setup('wsman').synchronizeClock(() => now);
    expect(result.deviceTimeBefore.toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(requestsTo('AMT_TimeSynchronizationService/SetHighAccuracyTimeSynch')[0]).toContain(
      `<h:Ta0>1700000000</h:Ta0><h:Tm1>${Math.floor(now.getTime() / 1000)}</h:Tm1><h:Tm2>${Math.floor(now.getTime() / 1000)}</h:Tm2>`,
    );
  });

  it('lets the caller read the state after a CommitChanges whose response was lost', async () => {
    let state = 1;
    routes['AMT_SetupAndConfigurationService/CommitChanges'] = () => {
      state = 2;
      return { fault: 'reset-before-response' };
    };
    routes['AMT_SetupAndConfigurationService/Get'] = (request) => ({
      body: wsmanOk(
        request.body,
        `<g:AMT_SetupAndConfigurationService><g:ElementName>Intel(r) AMT Setup and Configuration Service</g:ElementName><g:PasswordModel>1</g:PasswordModel><g:ProvisioningMode>1</g:ProvisioningMode><g:ProvisioningState>${state}</g:ProvisioningState></g:AMT_SetupAndConfigurationService>`,
      ),
    });
    const setup = session.setup('wsman');
    const error = await setup.commitChanges().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AmtError);
    expect(error).toMatchObject({ outcome: 'unknown', mayHaveTakenEffect: true });
    expect(await setup.getProvisioningState()).toBe('post');
  });

  it('reads root hashes, telling SHA-384 from legacy SHA-512 by length', async () => {
    const sha256 = 'C3846BF24B9E93CA64274C0EC67C1ECC5E024FFCACD2D74019350E81FE546AE4';
    const sha512 = Buffer.alloc(64, 7).toString('base64');
    routes['AMT_ProvisioningCertificateHash/Enumerate'] = routes['AMT_ProvisioningCertificateHash/Pull'] = (
      request,
    ) => ({
      body: enumerationReply(
        request.body,
        `<h:AMT_ProvisioningCertificateHash><h:Description>VeriSign Class 3</h:Description><h:Enabled>true</h:Enabled><h:HashData>${sha256}</h:HashData><h:HashType>2</h:HashType><h:InstanceID>Intel(r) AMT Certificate Hash: 0</h:InstanceID><h:IsDefault>true</h:IsDefault></h:AMT_ProvisioningCertificateHash>` +
          `<h:AMT_ProvisioningCertificateHash><h:HashData>${sha512}</h:HashData><h:HashType>3</h:HashType><h:InstanceID>Intel(r) AMT Certificate Hash: 1</h:InstanceID></h:AMT_ProvisioningCertificateHash>`,
      ),
    });
    const hashes = await session.wsman.device.listProvisioningCertificateHashes();
    expect(hashes.map((h) => [h.algorithm, h.hashType, h.hash.length])).toEqual([
      ['sha256', 2, 64],
      ['sha512', 3, 128],
    ]);
    expect(hashes[0]).toMatchObject({
      hash: sha256.toLowerCase(),
      isDefault: true,
      enabled: true,
      description: 'VeriSign Class 3',
    });
  });
});

describe('TLS', () => {
  const context = (handle: number): string =>
    `<h:AMT_TLSCredentialContext><h:ElementInContext>${eprXml(`${AMT_SCHEMA}AMT_PublicKeyCertificate`, { InstanceID: `Intel(r) AMT Certificate: Handle: ${handle}` })}</h:ElementInContext>` +
    `<h:ElementProvidingContext>${eprXml(`${AMT_SCHEMA}AMT_TLSProtocolEndpointCollection`, { ElementName: 'TLSProtocolEndpoint Instances Collection' })}</h:ElementProvidingContext></h:AMT_TLSCredentialContext>`;

  it('treats AlreadyExists as done when the context names the same certificate', async () => {
    routes['AMT_TLSCredentialContext/Create'] = () => ({ status: 400, body: wsmanFault('e:AlreadyExists', 'exists') });
    routes['AMT_TLSCredentialContext/Enumerate'] = routes['AMT_TLSCredentialContext/Pull'] = (request) => ({
      body: enumerationReply(request.body, context(1)),
    });
    await session.wsman.certificates.setTlsCertificate('Intel(r) AMT Certificate: Handle: 1');
    expect(requestsTo('AMT_TLSCredentialContext/Delete')).toHaveLength(0);
  });

  it('replaces a context that names another certificate', async () => {
    let exists = true;
    routes['AMT_TLSCredentialContext/Create'] = (request) =>
      exists
        ? { status: 400, body: wsmanFault('e:AlreadyExists', 'exists') }
        : {
            body: wsmanOk(
              request.body,
              `<g:ResourceCreated>${eprXml(`${AMT_SCHEMA}AMT_TLSCredentialContext`, {})}</g:ResourceCreated>`,
            ),
          };
    routes['AMT_TLSCredentialContext/Enumerate'] = routes['AMT_TLSCredentialContext/Pull'] = (request) => ({
      body: enumerationReply(request.body, context(0)),
    });
    routes['AMT_TLSCredentialContext/Delete'] = (request) => {
      exists = false;
      return { body: wsmanOk(request.body, '') };
    };
    await session.wsman.certificates.setTlsCertificate('Intel(r) AMT Certificate: Handle: 2');
    const deletion = amt.handled.find((r) => routeOf(r.body) === 'AMT_TLSCredentialContext/Delete')?.body ?? '';
    expect(deletion).toContain(
      '<w:Selector Name="ElementProvidingContext"><a:EndpointReference><a:Address>default</a:Address>',
    );
    expect(deletion).toContain('TLSProtocolEndpoint Instances Collection');
    expect(requestsTo('AMT_TLSCredentialContext/Create')).toHaveLength(2);
    expect(requestsTo('AMT_TLSCredentialContext/Create')[1]).toContain('Intel(r) AMT Certificate: Handle: 2');
  });

  it('installs key, certificate and root once, then enables TLS (stage one, idempotent)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyDer = privateKey.export({ type: 'pkcs1', format: 'der' });
    const derKey = publicKey.export({ type: 'pkcs1', format: 'der' }).toString('base64');
    const leaf = Buffer.from('leaf certificate');
    const root = Buffer.from('root certificate');
    const installed: string[] = [];
    routes['AMT_PublicPrivateKeyPair/Enumerate'] = routes['AMT_PublicPrivateKeyPair/Pull'] = (request) => ({
      body: enumerationReply(
        request.body,
        `<h:AMT_PublicPrivateKeyPair><h:DERKey>${derKey}</h:DERKey><h:InstanceID>Intel(r) AMT Key: Handle: 0</h:InstanceID></h:AMT_PublicPrivateKeyPair>`,
      ),
    });
    routes['AMT_PublicKeyCertificate/Enumerate'] = routes['AMT_PublicKeyCertificate/Pull'] = (request) => ({
      body: enumerationReply(
        request.body,
        installed
          .map(
            (c, i) =>
              `<h:AMT_PublicKeyCertificate><h:InstanceID>Intel(r) AMT Certificate: Handle: ${i}</h:InstanceID><h:X509Certificate>${c}</h:X509Certificate></h:AMT_PublicKeyCertificate>`,
          )
          .join(''),
      ),
    });
    const addCertificate =
      (method: string) =>
      (request: FakeRequest): FakeReply => {
        installed.push(/<h:CertificateBlob>([^<]+)</.exec(request.body)?.[1] ?? '');
        const created = `<g:CreatedCertificate>${eprXml(`${AMT_SCHEMA}AMT_PublicKeyCertificate`, { InstanceID: `Intel(r) AMT Certificate: Handle: ${installed.length - 1}` })}</g:CreatedCertificate>`;
        return { body: wsmanOk(request.body, methodOutput(method, 0, created)) };
      };
    routes['AMT_PublicKeyManagementService/AddCertificate'] = addCertificate('AddCertificate');
    routes['AMT_PublicKeyManagementService/AddTrustedRootCertificate'] = addCertificate('AddTrustedRootCertificate');
    routes['AMT_TLSCredentialContext/Create'] = ok(
      `<g:ResourceCreated>${eprXml(`${AMT_SCHEMA}AMT_TLSCredentialContext`, {})}</g:ResourceCreated>`,
    );
    const tlsSetting = (id: string): string =>
      `<h:AMT_TLSSettingData><h:AcceptNonSecureConnections>true</h:AcceptNonSecureConnections><h:ElementName>x</h:ElementName><h:Enabled>false</h:Enabled><h:InstanceID>${id}</h:InstanceID><h:MutualAuthentication>false</h:MutualAuthentication></h:AMT_TLSSettingData>`;
    routes['AMT_TLSSettingData/Enumerate'] = routes['AMT_TLSSettingData/Pull'] = (request) => ({
      body: enumerationReply(
        request.body,
        tlsSetting('Intel(r) AMT 802.3 TLS Settings') + tlsSetting('Intel(r) AMT LMS TLS Settings'),
      ),
    });
    routes['AMT_TLSSettingData/Put'] = (request) => ({ body: wsmanOk(request.body, '') });

    const setup = session.setup('wsman');
    const input = { privateKeyDer: keyDer, certificateChainDer: [leaf, root], acceptNonSecureConnections: true };
    await setup.installTlsCertificate(input);
    await setup.installTlsCertificate(input);

    expect(requestsTo('AMT_PublicKeyManagementService/AddKey')).toHaveLength(0);
    expect(requestsTo('AMT_PublicKeyManagementService/AddCertificate')).toHaveLength(1);
    expect(requestsTo('AMT_PublicKeyManagementService/AddTrustedRootCertificate')).toHaveLength(1);
    expect(installed).toEqual([leaf.toString('base64'), root.toString('base64')]);
    const puts = amt.handled.filter((r) => routeOf(r.body) === 'AMT_TLSSettingData/Put').map((r) => r.body);
    expect(puts[0]).toContain('<w:Selector Name="InstanceID">Intel(r) AMT 802.3 TLS Settings</w:Selector>');
    expect(bodyOf(puts[0] ?? '')).toContain(
      '<h:AcceptNonSecureConnections>true</h:AcceptNonSecureConnections><h:ElementName>x</h:ElementName><h:Enabled>true</h:Enabled>',
    );
    expect(puts[1]).toContain('Intel(r) AMT LMS TLS Settings');

    // A key the firmware generated itself (GeneratePKCS10RequestEx): the certificate goes in without a key.
    const keyReads = requestsTo('AMT_PublicPrivateKeyPair/Enumerate').length;
    await setup.installTlsCertificate({ certificateChainDer: [leaf, root], acceptNonSecureConnections: true });
    expect(requestsTo('AMT_PublicPrivateKeyPair/Enumerate')).toHaveLength(keyReads);
    expect(requestsTo('AMT_PublicKeyManagementService/AddKey')).toHaveLength(0);
    expect(requestsTo('AMT_PublicKeyManagementService/AddCertificate')).toHaveLength(1);
  });
});

describe('stage-two features and network', () => {
  it('enables SOL and IDER, then the redirection listener', async () => {
    let enabledState = 32768;
    routes['AMT_RedirectionService/RequestStateChange'] = (request) => {
      enabledState = Number(/<h:RequestedState>(\d+)</.exec(request.body)?.[1]);
      return { body: wsmanOk(request.body, methodOutput('RequestStateChange', 0)) };
    };
    routes['AMT_RedirectionService/Get'] = (request) => ({
      body: wsmanOk(
        request.body,
        `<g:AMT_RedirectionService><g:EnabledState>${enabledState}</g:EnabledState><g:ListenerEnabled>false</g:ListenerEnabled><g:Name>Intel(r) AMT Redirection Service</g:Name></g:AMT_RedirectionService>`,
      ),
    });
    routes['AMT_RedirectionService/Put'] = (request) => ({ body: wsmanOk(request.body, '') });
    await session.wsman.features.setRedirection({ sol: true, ider: true });
    expect(enabledState).toBe(32771);
    expect(requestsTo('AMT_RedirectionService/Put')[0]).toContain('<h:ListenerEnabled>true</h:ListenerEnabled>');
    expect(await session.wsman.features.getRedirection()).toMatchObject({ sol: true, ider: true });
  });

  it('sets Kerberos with the write-only master key in ASCII order', async () => {
    routes['AMT_KerberosSettingData/Get'] = ok(
      '<g:AMT_KerberosSettingData><g:ElementName>Intel(r) AMT Kerberos Settings</g:ElementName><g:InstanceID>Intel (r) AMT: Kerberos Settings</g:InstanceID><g:KrbEnabled>false</g:KrbEnabled><g:RealmName></g:RealmName><g:SupportedEncryptionAlgorithms>0</g:SupportedEncryptionAlgorithms></g:AMT_KerberosSettingData>',
    );
    routes['AMT_KerberosSettingData/Put'] = ok('');
    const masterKey = Buffer.alloc(16, 0xab);
    await session.wsman.features.setKerberos({ realmName: 'CORP.TEST', keyVersion: 3, masterKey });
    const sent = requestsTo('AMT_KerberosSettingData/Put')[0] ?? '';
    expect([...sent.matchAll(/<h:(\w+)>/g)].map((m) => m[1])).toEqual([
      'ElementName',
      'EncryptionAlgorithm',
      'InstanceID',
      'KeyVersion',
      'KrbEnabled',
      'MasterKey',
      'RealmName',
      'SupportedEncryptionAlgorithms',
    ]);
    expect(sent).toContain(`<h:MasterKey>${masterKey.toString('base64')}</h:MasterKey>`);
    expect(sent).toContain('<h:KrbEnabled>true</h:KrbEnabled>');
  });

  it('adds a Wi-Fi profile with the settings embedded in their own namespace and the passphrase escaped', async () => {
    routes['AMT_WiFiPortConfigurationService/AddWiFiSettings'] = ok(methodOutput('AddWiFiSettings', 0));
    await session.wsman.network.addWiFiProfile({
      name: 'office',
      ssid: 'Office <5G>',
      priority: 1,
      authenticationMethod: 6,
      encryptionMethod: 4,
      pskPassPhrase: `p&ss"]]>'<`,
      caCertificateInstanceId: 'Intel(r) AMT Certificate: Handle: 3',
    });
    const body = requestsTo('AMT_WiFiPortConfigurationService/AddWiFiSettings')[0] ?? '';
    expect(body).toContain(
      `<h:WiFiEndpoint><a:Address>/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>${CIM_SCHEMA}CIM_WiFiEndpoint</w:ResourceURI><w:SelectorSet><w:Selector Name="Name">WiFi Endpoint 0</w:Selector></w:SelectorSet></a:ReferenceParameters></h:WiFiEndpoint>`,
    );
    expect(body).toContain(
      `<h:WiFiEndpointSettingsInput xmlns:q="${CIM_SCHEMA}CIM_WiFiEndpointSettings"><q:ElementName>office</q:ElementName><q:InstanceID>Intel(r) AMT:WiFi Endpoint Settings office</q:InstanceID>` +
        '<q:AuthenticationMethod>6</q:AuthenticationMethod><q:EncryptionMethod>4</q:EncryptionMethod><q:SSID>Office &lt;5G&gt;</q:SSID><q:Priority>1</q:Priority>' +
        '<q:PSKPassPhrase>p&amp;ss&quot;]]&gt;&apos;&lt;</q:PSKPassPhrase></h:WiFiEndpointSettingsInput>',
    );
    expect(body).toContain('<h:CACredential><a:Address>default</a:Address>');
    expect(body).not.toContain('IEEE8021xSettingsInput');
  });

  it('reports no wireless port when the class does not exist', async () => {
    expect(await session.wsman.network.hasWirelessPort()).toBe(false);
  });

  it('controls power through CIM_PowerManagementService', async () => {
    routes['CIM_PowerManagementService/RequestPowerStateChange'] = ok(methodOutput('RequestPowerStateChange', 0));
    await session.power('wsman').request('cycle');
    expect(requestsTo('CIM_PowerManagementService/RequestPowerStateChange')[0]).toContain(
      `<h:PowerState>5</h:PowerState><h:ManagedElement><a:Address>/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>${CIM_SCHEMA}CIM_ComputerSystem</w:ResourceURI>` +
        '<w:SelectorSet><w:Selector Name="CreationClassName">CIM_ComputerSystem</w:Selector><w:Selector Name="Name">ManagedSystem</w:Selector></w:SelectorSet>',
    );
  });
});
