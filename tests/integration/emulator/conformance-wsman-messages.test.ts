import { X509Certificate, createHash } from 'node:crypto';
import { AMT, CIM, IPS } from '@device-management-toolkit/wsman-messages';
import forge from 'node-forge';
import { makeCert, testKeyPool } from '../../unit/emulator/support/pki';
import { AmtClient, peerCertificate, type Xml } from './support/client';
import { testFleet } from './support/fleet';
import { enumerate, invoke, pull } from './support/wsman';

/**
 * Conformance (issue 3, 9a): requests built by Intel's wsman-messages — the library RPS uses — are
 * accepted and answered the way RPS reads them (xml2js-like paths: Envelope.Body.<Class>…,
 * <Method>_OUTPUT.ReturnValue, PullResponse.Items…).
 */
describe('conformance with @device-management-toolkit/wsman-messages', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  let c: AmtClient;
  const amt = new AMT.Messages();
  const ips = new IPS.Messages();
  const cim = new CIM.Messages();
  const password = 'Adm1n!pass';

  beforeAll(async () => {
    fleet = await testFleet([{ state: 'post', adminPassword: password, amtVersion: '16.1.25' }]);
    const d = fleet.devices[0]!;
    c = new AmtClient({ host: d.address, port: d.httpPort, username: 'admin', password, style: 'rps' });
  });
  afterAll(() => fleet.cleanup());

  async function ok(xml: string): Promise<Xml> {
    const res = await c.post(xml);
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.toString()}`);
    return res.xml.Envelope.Body;
  }
  async function pullAll(enumXml: string, className: string): Promise<Xml[]> {
    const ctx = (await ok(enumXml)).EnumerateResponse.EnumerationContext;
    const items = (await ok(pull(className, ctx))).PullResponse.Items[className];
    return Array.isArray(items) ? items : [items];
  }
  const nvram = () => fleet.devices[0]!.nvram();

  it('GeneralSettings Get and Put of the instance as read', async () => {
    const gs = (await ok(amt.GeneralSettings.Get())).AMT_GeneralSettings;
    expect(gs.DigestRealm).toMatch(/^Digest:[0-9A-F]{32}$/);
    expect(gs.InstanceID).toBe('Intel(r) AMT: General Settings');
    const put = (await ok(amt.GeneralSettings.Put({ ...gs, HostName: 'pc-17', DomainName: 'corp.example.test' })))
      .AMT_GeneralSettings;
    expect(put.HostName).toBe('pc-17');
    expect(nvram().general).toMatchObject({ hostName: 'pc-17', domainName: 'corp.example.test' });
  });

  it('SetupAndConfigurationService Get, GetUuid, SetMEBXPassword', async () => {
    const sc = (await ok(amt.SetupAndConfigurationService.Get())).AMT_SetupAndConfigurationService;
    expect(sc).toMatchObject({ ProvisioningState: '2', ProvisioningMode: '1' });
    const uuid = (await ok(amt.SetupAndConfigurationService.GetUuid())).GetUuid_OUTPUT.UUID;
    expect(Buffer.from(uuid, 'base64')).toHaveLength(16);
    expect(
      (await ok(amt.SetupAndConfigurationService.SetMEBXPassword('weak'))).SetMEBxPassword_OUTPUT.ReturnValue,
    ).toBe('2054');
    expect(
      (await ok(amt.SetupAndConfigurationService.SetMEBXPassword('N3w!Mebx'))).SetMEBxPassword_OUTPUT.ReturnValue,
    ).toBe('0');
    expect(nvram().mebx).toEqual({ password: 'N3w!Mebx', changed: true });
  });

  it('AuthorizationService user ACL entries (digest and Kerberos)', async () => {
    const realm = nvram().realm;
    const digest = createHash('md5').update(`operator:${realm}:Op3rator!`).digest('base64');
    const added = (await ok(amt.AuthorizationService.AddUserAclEntryEx(2, [3, 5], 'operator', digest)))
      .AddUserAclEntryEx_OUTPUT;
    expect(added.ReturnValue).toBe('0');
    const sid = Buffer.from([1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0]).toString('base64');
    const krb = (await ok(amt.AuthorizationService.AddUserAclEntryEx(2, [2], undefined, undefined, sid)))
      .AddUserAclEntryEx_OUTPUT;
    expect(krb.ReturnValue).toBe('0');
    const list = (await ok(amt.AuthorizationService.EnumerateUserAclEntries(1))).EnumerateUserAclEntries_OUTPUT;
    expect(list.TotalCount).toBe('2');
    const entry = (await ok(amt.AuthorizationService.GetUserAclEntryEx(Number(added.Handle)))).GetUserAclEntryEx_OUTPUT;
    expect(entry.DigestUsername).toBe('operator');
    expect(entry.Realms).toEqual(['3', '5']);
    // The new user authenticates with its own password.
    const d = fleet.devices[0]!;
    const op = new AmtClient({
      host: d.address,
      port: d.httpPort,
      username: 'operator',
      password: 'Op3rator!',
      style: 'go',
    });
    expect((await op.post(amt.GeneralSettings.Get())).status).toBe(200);
    expect(
      (await ok(amt.AuthorizationService.RemoveUserAclEntry(Number(krb.Handle)))).RemoveUserAclEntry_OUTPUT.ReturnValue,
    ).toBe('0');
    expect(nvram().users.map((u) => u.username)).toEqual(['operator']);
  });

  it('TimeSynchronizationService get and set', async () => {
    const ta0 = Number(
      (await ok(amt.TimeSynchronizationService.GetLowAccuracyTimeSynch())).GetLowAccuracyTimeSynch_OUTPUT.Ta0,
    );
    expect(Math.abs(ta0 - Date.now() / 1000)).toBeLessThan(120);
    const tm = Math.floor(Date.now() / 1000) + 3600;
    const set = (await ok(amt.TimeSynchronizationService.SetHighAccuracyTimeSynch(ta0, tm, tm)))
      .SetHighAccuracyTimeSynch_OUTPUT;
    expect(set.ReturnValue).toBe('0');
    expect(nvram().clockOffsetSeconds).toBeGreaterThan(3000);
    expect(
      (await ok(amt.TimeSynchronizationService.SetHighAccuracyTimeSynch(ta0, 100, 100))).SetHighAccuracyTimeSynch_OUTPUT
        .ReturnValue,
    ).toBe('34');
  });

  it('RPS TLS sequence: key pair, PKCS#10, certificate, credential context, TLS settings, commit', async () => {
    const pool = await testKeyPool();
    const gen = (await ok(amt.PublicKeyManagementService.GenerateKeyPair({ KeyAlgorithm: 0, KeyLength: 2048 })))
      .GenerateKeyPair_OUTPUT;
    expect(gen.ReturnValue).toBe('0');
    const keyId = gen.KeyPair.ReferenceParameters.SelectorSet.Selector['#text'];
    expect(keyId).toMatch(/^Intel\(r\) AMT Key: Handle: \d+$/);
    const keys = await pullAll(amt.PublicPrivateKeyPair.Enumerate(), 'AMT_PublicPrivateKeyPair');
    const derKey = keys.find((k) => k.InstanceID === keyId).DERKey;

    // A null-signed request for the AMT key, re-signed by the firmware.
    const publicKey = forge.pki.publicKeyFromAsn1(forge.asn1.fromDer(forge.util.decode64(derKey)));
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = publicKey;
    csr.setSubject([{ name: 'commonName', value: 'pc-17.corp.example.test' }]);
    csr.sign(forge.pki.privateKeyFromPem(pool.draw().privateKeyPem));
    const nullSigned = forge.util.encode64(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes());
    const keyPairEpr =
      '<a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address><a:ReferenceParameters>' +
      '<w:ResourceURI>http://intel.com/wbem/wscim/1/amt-schema/1/AMT_PublicPrivateKeyPair</w:ResourceURI>' +
      `<w:SelectorSet><w:Selector Name="InstanceID">${keyId}</w:Selector></w:SelectorSet></a:ReferenceParameters>`;
    const signed = (
      await ok(
        amt.PublicKeyManagementService.GeneratePKCS10RequestEx({
          KeyPair: keyPairEpr,
          SigningAlgorithm: 1,
          NullSignedCertificateRequest: nullSigned,
        }),
      )
    ).GeneratePKCS10RequestEx_OUTPUT;
    expect(signed.ReturnValue).toBe('0');
    const signedCsr = forge.pki.certificationRequestFromAsn1(
      forge.asn1.fromDer(forge.util.decode64(signed.SignedCertificateRequest)),
    );
    expect(signedCsr.verify()).toBe(true);

    // An enterprise CA issues the AMT certificate for that key.
    const ca = makeCert({ cn: 'Test Enterprise CA', keyPem: pool.draw().privateKeyPem, ca: true });
    const issued = forge.pki.createCertificate();
    issued.publicKey = publicKey;
    issued.serialNumber = '0a';
    issued.validity.notBefore = new Date(Date.now() - 60_000);
    issued.validity.notAfter = new Date(Date.now() + 86_400_000);
    issued.setSubject([{ name: 'commonName', value: 'pc-17.corp.example.test' }]);
    issued.setIssuer(ca.cert.subject.attributes);
    issued.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
    const issuedDer = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(issued)).getBytes(), 'binary');

    const root = (
      await ok(amt.PublicKeyManagementService.AddTrustedRootCertificate({ CertificateBlob: ca.der.toString('base64') }))
    ).AddTrustedRootCertificate_OUTPUT;
    expect(root.ReturnValue).toBe('0');
    const added = (
      await ok(amt.PublicKeyManagementService.AddCertificate({ CertificateBlob: issuedDer.toString('base64') }))
    ).AddCertificate_OUTPUT;
    expect(added.ReturnValue).toBe('0');
    const certId = added.CreatedCertificate.ReferenceParameters.SelectorSet.Selector['#text'];

    expect((await c.post(amt.TLSCredentialContext.Create(certId))).status).toBe(200);
    const again = await c.post(amt.TLSCredentialContext.Create(certId));
    expect(again.status).toBe(400);
    expect(again.xml.Envelope.Body.Fault.Code.Subcode.Value).toBe('e:AlreadyExists');

    const settings = await pullAll(amt.TLSSettingData.Enumerate(), 'AMT_TLSSettingData');
    expect(settings.map((s) => s.InstanceID)).toEqual([
      'Intel(r) AMT 802.3 TLS Settings',
      'Intel(r) AMT LMS TLS Settings',
    ]);
    const remote = { ...settings[0], Enabled: true, MutualAuthentication: false, AcceptNonSecureConnections: true };
    expect((await ok(amt.TLSSettingData.Put(remote))).AMT_TLSSettingData.Enabled).toBe('true');
    expect((await ok(amt.TLSSettingData.Put({ ...settings[1], Enabled: true }))).AMT_TLSSettingData.Enabled).toBe(
      'true',
    );
    expect((await ok(amt.SetupAndConfigurationService.CommitChanges())).CommitChanges_OUTPUT.ReturnValue).toBe('0');

    // 16993 now serves the installed certificate.
    const d = fleet.devices[0]!;
    expect(new X509Certificate(await peerCertificate(d.address, d.tlsPort)).fingerprint256).toBe(
      new X509Certificate(issuedDer).fingerprint256,
    );
  });

  it('redirection, KVM and user consent', async () => {
    expect((await ok(amt.RedirectionService.RequestStateChange(32771))).RequestStateChange_OUTPUT.ReturnValue).toBe(
      '0',
    );
    const redir = (await ok(amt.RedirectionService.Get())).AMT_RedirectionService;
    expect(
      (await ok(amt.RedirectionService.Put({ ...redir, ListenerEnabled: true }))).AMT_RedirectionService
        .ListenerEnabled,
    ).toBe('true');
    expect((await ok(cim.KVMRedirectionSAP.RequestStateChange(2))).RequestStateChange_OUTPUT.ReturnValue).toBe('0');
    expect((await ok(cim.KVMRedirectionSAP.Get())).CIM_KVMRedirectionSAP.EnabledState).toBe('2');
    const optIn = (await ok(ips.OptInService.Get())).IPS_OptInService;
    expect(
      (await ok(ips.OptInService.Put({ IPS_OptInService: { ...optIn, OptInRequired: 1 } }))).IPS_OptInService
        .OptInRequired,
    ).toBe('1');
    expect(nvram()).toMatchObject({
      redirection: { enabledState: 32771, listenerEnabled: true },
      kvm: { enabledState: 2 },
      optIn: { required: 1 },
    });
  });

  it('Wi-Fi profiles and 802.1X', async () => {
    const wifi = (await ok(amt.WiFiPortConfigurationService.Get())).AMT_WiFiPortConfigurationService;
    const put = await ok(amt.WiFiPortConfigurationService.Put({ ...wifi, localProfileSynchronizationEnabled: 3 }));
    expect(put.AMT_WiFiPortConfigurationService.localProfileSynchronizationEnabled).toBe('3');
    const profile = {
      ElementName: 'office',
      InstanceID: 'Intel(r) AMT:WiFi Endpoint Settings office',
      AuthenticationMethod: 6,
      EncryptionMethod: 4,
      SSID: 'corp-wifi',
      Priority: 1,
      PSKPassPhrase: 'Secr3t&Phrase',
    };
    const added = await ok(
      amt.WiFiPortConfigurationService.AddWiFiSettings(profile as never, { name: 'Name', value: 'WiFi Endpoint 0' }),
    );
    expect(added.AddWiFiSettings_OUTPUT.ReturnValue).toBe('0');
    const profiles = await pullAll(cim.WiFiEndpointSettings.Enumerate(), 'CIM_WiFiEndpointSettings');
    expect(profiles).toHaveLength(1);
    expect(profiles[0]).toMatchObject({ SSID: 'corp-wifi', ElementName: 'office' });
    expect(nvram().wifi.profiles[0]!.pskPassPhrase).toBe('Secr3t&Phrase');
    // (wsman-messages consumes the profile object: use the instance id as enumerated.)
    expect(
      (await c.post(cim.WiFiEndpointSettings.Delete({ name: 'InstanceID', value: profiles[0].InstanceID }))).status,
    ).toBe(200);
    expect(nvram().wifi.profiles).toEqual([]);
    expect((await ok(cim.WiFiPort.RequestStateChange(32769))).RequestStateChange_OUTPUT.ReturnValue).toBe('0');

    const dot1x = (await ok(ips.IEEE8021xSettings.Get())).IPS_IEEE8021xSettings;
    const updated = await ok(
      ips.IEEE8021xSettings.Put({ ...dot1x, Enabled: 2, AuthenticationProtocol: 0, Username: 'pc-17' }),
    );
    expect(updated.IPS_IEEE8021xSettings).toMatchObject({ Enabled: '2', Username: 'pc-17' });
  });

  it('ethernet port settings, software identity, Kerberos settings, power control', async () => {
    const ports = await pullAll(amt.EthernetPortSettings.Enumerate(), 'AMT_EthernetPortSettings');
    expect(ports.map((p) => p.InstanceID)).toEqual([
      'Intel(r) AMT Ethernet Port Settings 0',
      'Intel(r) AMT Ethernet Port Settings 1',
    ]);
    expect(ports[0].IPAddress).toBe(fleet.devices[0]!.address);
    const wired = await ok(
      amt.EthernetPortSettings.Put({ ...ports[0], DHCPEnabled: true, IpSyncEnabled: true, SharedStaticIp: false }),
    );
    expect(wired.AMT_EthernetPortSettings.DHCPEnabled).toBe('true');

    const software = await pullAll(cim.SoftwareIdentity.Enumerate(), 'CIM_SoftwareIdentity');
    expect(software.find((s) => s.InstanceID === 'AMT').VersionString).toBe('16.1.25');

    const krb = (await ok(amt.KerberosSettingData.Get())).AMT_KerberosSettingData;
    expect(krb.InstanceID).toBe('Intel (r) AMT: Kerberos Settings');

    // Power package "ON in S0, S3, S4-5" first: under the factory "ON in S0" the ME goes dark with the host.
    const scheme = { InstanceID: 'Intel(r) AMT Power Scheme 7' };
    expect(
      (await ok(invoke('AMT_SystemPowerScheme', 'SetPowerScheme', '', scheme))).SetPowerScheme_OUTPUT.ReturnValue,
    ).toBe('0');
    expect(
      (await ok(cim.PowerManagementService.RequestPowerStateChange(8))).RequestPowerStateChange_OUTPUT.ReturnValue,
    ).toBe('0');
    const assoc = await pullAll(
      enumerate('CIM_AssociatedPowerManagementService'),
      'CIM_AssociatedPowerManagementService',
    );
    expect(assoc[0].PowerState).toBe('8');
  });

  it('host-based setup is refused remotely and on a provisioned device', async () => {
    const setup = await c.post(ips.HostBasedSetupService.Setup(2, 'a'.repeat(32)));
    expect(setup.status).toBe(400);
    expect(setup.xml.Envelope.Body.Fault.Code.Subcode.Value).toBe('e:AccessDenied');
    const hbs = (await ok(ips.HostBasedSetupService.Get())).IPS_HostBasedSetupService;
    expect(hbs).toMatchObject({ CurrentControlMode: '2', AllowedControlModes: ['2', '1'] });
  });
});
