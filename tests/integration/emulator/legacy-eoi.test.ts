import { createPrivateKey, X509Certificate } from 'node:crypto';
import { makeCert, provisioningChain, sha256, testKeyPool } from '../../unit/emulator/support/pki';
import { AmtClient, exchange, peerCertificate, type Xml } from './support/client';
import { testFleet } from './support/fleet';
import { get, invoke } from './support/wsman';

const soap = (service: string, op: string, params = '') =>
  '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">' +
  `<SOAP-ENV:Body><s:${op} xmlns:s="http://schemas.intel.com/platform/client/${service}/2004/01">${params}</s:${op}></SOAP-ENV:Body></SOAP-ENV:Envelope>`;

/** Issue 3, 5: AMT before 6.0 speaks the EOI SOAP services with the same digest authentication. */
describe('legacy EOI SOAP (AMT 3.2.1)', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  let chain: ReturnType<typeof provisioningChain>;

  beforeAll(async () => {
    chain = provisioningChain(await testKeyPool(), { cn: 'oobsp.corp.example.test' });
    fleet = await testFleet([
      {
        amtVersion: '3.2.1',
        helloEnabled: false,
        customHashes: [{ algorithm: 'sha256', hash: sha256(chain.root.der) }],
      },
      { amtVersion: '11.8.50', state: 'post', adminPassword: 'M0dern!pw' },
    ]);
  });
  afterAll(() => fleet.cleanup());

  function eoiClient(service: string, password: string, overTls: 'pki' | 'server' | false) {
    const d = fleet.devices[0]!;
    return new AmtClient({
      host: d.address,
      port: overTls ? d.tlsPort : d.httpPort,
      tls: overTls === 'pki' ? { key: chain.leaf.keyPem, cert: chain.chainPem } : overTls === 'server' ? {} : undefined,
      username: 'admin',
      password,
      style: 'mesh',
      path: `/${service}Service`,
    });
  }
  async function call(
    service: string,
    op: string,
    params: string,
    password: string,
    overTls: 'pki' | 'server' | false,
  ): Promise<Xml> {
    const res = await eoiClient(service, password, overTls).post(soap(service, op, params));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    return res.xml.Envelope.Body[`${op}Response`];
  }

  it('runs stage one over EOI after the TLS-PKI handshake and commits', async () => {
    const pki = (service: string, op: string, params = '') => call(service, op, params, 'admin', 'pki');
    expect(await pki('GeneralInfo', 'GetCoreVersion')).toEqual({ StatusCode: '0', Version: '3.2.1' });
    expect((await pki('GeneralInfo', 'GetProvisioningState')).ProvisioningState).toBe('1');
    const now = Math.floor(Date.now() / 1000);
    const ta0 = (await pki('NetworkTime', 'GetLowAccuracyTimeSynch')).Ta0;
    expect(
      (
        await pki(
          'NetworkTime',
          'SetHighAccuracyTimeSynch',
          `<s:Ta0>${ta0}</s:Ta0><s:Tm1>${now}</s:Tm1><s:Tm2>${now}</s:Tm2>`,
        )
      ).StatusCode,
    ).toBe('0');
    expect((await pki('NetworkAdministration', 'SetHostName', '<s:HostName>legacy-pc</s:HostName>')).StatusCode).toBe(
      '0',
    );
    expect(
      (await pki('NetworkAdministration', 'SetDomainName', '<s:DomainName>corp.example.test</s:DomainName>'))
        .StatusCode,
    ).toBe('0');

    const pool = await testKeyPool();
    const key = pool.draw();
    const ca = makeCert({ cn: 'Legacy CA', keyPem: pool.draw().privateKeyPem, ca: true });
    const web = makeCert({ cn: 'legacy-pc.corp.example.test', keyPem: key.privateKeyPem, issuer: ca });
    const keyDer = createPrivateKey(key.privateKeyPem).export({ type: 'pkcs1', format: 'der' }).toString('base64');
    const setTls = await pki(
      'SecurityAdministration',
      'SetTLSKeyAndCertificate',
      `<s:PrivateKey>${keyDer}</s:PrivateKey><s:CertificateChain><s:Certificate>${web.der.toString('base64')}</s:Certificate></s:CertificateChain>`,
    );
    expect(setTls.StatusCode).toBe('0');
    expect((await pki('SecurityAdministration', 'SetTlsEnabled', '<s:Enabled>true</s:Enabled>')).StatusCode).toBe('0');
    expect(
      (
        await pki(
          'SecurityAdministration',
          'SetAdminAclEntry',
          '<s:Username>admin</s:Username><s:Password>Leg4cy!Admin</s:Password>',
        )
      ).StatusCode,
    ).toBe('0');
    expect((await pki('SecurityAdministration', 'CommitChanges')).StatusCode).toBe('0');

    const nvram = fleet.devices[0]!.nvram();
    expect(nvram.provisioning).toMatchObject({ state: 2, controlMode: 2 });
    expect(nvram.general).toMatchObject({ hostName: 'legacy-pc', domainName: 'corp.example.test' });
    expect(nvram.mebx).toEqual({ password: 'Leg4cy!Admin', changed: true });

    // 16993 now serves the installed web-server certificate; power control over TLS.
    const d = fleet.devices[0]!;
    const res = await exchange(
      { host: d.address, port: d.tlsPort, tls: {} },
      'POST /RemoteControlService HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
    );
    expect(res.status).toBe(401);
    expect(new X509Certificate(await peerCertificate(d.address, d.tlsPort)).fingerprint256).toBe(
      new X509Certificate(web.der).fingerprint256,
    );
    // Power package "ON in S0, S3, S4-5" first: under the factory "ON in S0" the ME goes dark with the host.
    const wsman = new AmtClient({ host: d.address, port: d.httpPort, username: 'admin', password: 'Leg4cy!Admin' });
    const scheme = { InstanceID: 'Intel(r) AMT Power Scheme 7' };
    expect((await wsman.post(invoke('AMT_SystemPowerScheme', 'SetPowerScheme', '', scheme))).status).toBe(200);
    const power = (op: string, params = '') => call('RemoteControl', op, params, 'Leg4cy!Admin', 'server');
    expect((await power('GetSystemPowerState')).SystemPowerState).toBe('0');
    expect(
      (await power('RemoteControl', '<s:Command>18</s:Command><s:IanaOemNumber>343</s:IanaOemNumber>')).StatusCode,
    ).toBe('0');
    expect((await power('GetSystemPowerState')).SystemPowerState).toBe('5');
    expect(
      (await power('RemoteControl', '<s:Command>99</s:Command><s:IanaOemNumber>343</s:IanaOemNumber>')).StatusCode,
    ).toBe('2051');
  });

  it('serves the documented WS-Man subset and refuses unknown EOI operations', async () => {
    const d = fleet.devices[0]!;
    const wsman = new AmtClient({
      host: d.address,
      port: d.httpPort,
      username: 'admin',
      password: 'Leg4cy!Admin',
      style: 'go',
    });
    expect((await wsman.post(get('AMT_GeneralSettings'))).status).toBe(200);
    const hbs = await wsman.post(get('IPS_HostBasedSetupService'));
    expect(hbs.xml.Envelope.Body.Fault.Code.Subcode.Value).toBe('b:DestinationUnreachable');
    const unknown = await eoiClient('GeneralInfo', 'Leg4cy!Admin', false).post(soap('GeneralInfo', 'SelfDestruct'));
    expect(unknown.status).toBe(500);
    expect(unknown.xml.Envelope.Body.Fault.faultcode).toBe('SOAP-ENV:Client');
  });

  it('modern firmware has no EOI services', async () => {
    const d = fleet.devices[1]!;
    const c = new AmtClient({
      host: d.address,
      port: d.httpPort,
      username: 'admin',
      password: 'M0dern!pw',
      path: '/GeneralInfoService',
    });
    expect((await c.post(soap('GeneralInfo', 'GetCoreVersion'))).status).toBe(404);
  });
});
