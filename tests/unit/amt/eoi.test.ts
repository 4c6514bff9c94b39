import { AmtError } from '../../../lib/amt/errors';
import { openAmtSession, type AmtSession } from '../../../lib/amt/session';
import { startFakeAmt, type FakeAmt, type FakeReply, type FakeRequest } from './support/fake-amt';
import { methodOutput, routeOf, wsmanOk } from './support/wsman-replies';

const NS = (service: string): string => `http://schemas.intel.com/platform/client/${service}/2004/01`;

/** A SOAP 1.1 EOI answer as AMT 3.x–5.x sends it: `<Op>Response` with the status first. */
function eoiOk(service: string, operation: string, children: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" ' +
    `xmlns:b="${NS(service)}"><SOAP-ENV:Body><b:${operation}Response>${children}</b:${operation}Response></SOAP-ENV:Body></SOAP-ENV:Envelope>`
  );
}

const operationOf = (request: FakeRequest): string =>
  /^"[^#]+#(\w+)"$/.exec(String(request.headers['soapaction']))?.[1] ?? '';

let amt: FakeAmt;
let routes: Record<string, (request: FakeRequest) => FakeReply>;
let session: AmtSession;

beforeEach(async () => {
  routes = {};
  amt = await startFakeAmt({
    users: { admin: 'admin' },
    server: 'Intel(R) Active Management Technology 3.2.1',
    handler: (request) => {
      const key = request.path === '/wsman' ? routeOf(request.body) : `${request.path}#${operationOf(request)}`;
      return routes[key]?.(request) ?? { status: 404, body: '' };
    },
  });
  session = openAmtSession({
    host: '127.0.0.1',
    port: amt.port,
    credentials: [
      { username: 'admin', password: 'wrong', ref: 'configured' },
      { username: 'admin', password: 'admin', ref: 'factory-default' },
    ],
    timeouts: { connectMs: 10_000, responseMs: 10_000 },
  });
});
afterEach(() => amt.close());

const reply = (service: string, operation: string, children: string) => (): FakeReply => ({
  body: eoiOk(service, operation, children),
  headers: { 'Content-Type': 'text/xml; charset=utf-8' },
});

describe('EOI SOAP', () => {
  it('posts SOAP 1.1 to /<Name>Service with SOAPAction, logs in with fallback, and falls back to SecurityAdministration.GetCoreVersion', async () => {
    routes['/SecurityAdministrationService#GetCoreVersion'] = reply(
      'SecurityAdministration',
      'GetCoreVersion',
      '<b:StatusCode>0</b:StatusCode><b:Version>3.2.1</b:Version>',
    );
    expect(await session.login('eoi')).toEqual({ credentialRef: 'factory-default' });
    expect(await session.setup('eoi').getCoreVersion()).toBe('3.2.1');
    const [first] = amt.handled;
    expect(first?.path).toBe('/GeneralInfoService');
    expect(first?.headers['soapaction']).toBe(`"${NS('GeneralInfo')}#GetCoreVersion"`);
    expect(first?.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(first?.body).toBe(
      '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
        `<soap:Body><GetCoreVersion xmlns="${NS('GeneralInfo')}"></GetCoreVersion></soap:Body></soap:Envelope>`,
    );
    expect(session.serverVersion).toBe('3.2.1');
  });

  it('reads the provisioning state by name or number', async () => {
    let state = 'ProvisioningStateIn';
    routes['/GeneralInfoService#GetProvisioningState'] = () => ({
      body: eoiOk(
        'GeneralInfo',
        'GetProvisioningState',
        `<b:StatusCode>0</b:StatusCode><b:ProvisioningState>${state}</b:ProvisioningState>`,
      ),
    });
    expect(await session.setup('eoi').getProvisioningState()).toBe('in');
    state = '2';
    expect(await session.setup('eoi').getProvisioningState()).toBe('post');
  });

  it('runs stage one: clock, names, TLS key and chain, admin password, commit', async () => {
    routes['/NetworkTimeService#GetLowAccuracyTimeSynch'] = reply(
      'NetworkTime',
      'GetLowAccuracyTimeSynch',
      '<b:StatusCode>0</b:StatusCode><b:Ta0>1200000000</b:Ta0>',
    );
    for (const [path, service, operation] of [
      ['/NetworkTimeService', 'NetworkTime', 'SetHighAccuracyTimeSynch'],
      ['/NetworkAdministrationService', 'NetworkAdministration', 'SetHostName'],
      ['/NetworkAdministrationService', 'NetworkAdministration', 'SetDomainName'],
      ['/SecurityAdministrationService', 'SecurityAdministration', 'SetTLSKeyAndCertificate'],
      ['/SecurityAdministrationService', 'SecurityAdministration', 'SetTlsEnabled'],
      ['/SecurityAdministrationService', 'SecurityAdministration', 'CommitChanges'],
    ] as const) {
      routes[`${path}#${operation}`] = reply(service, operation, '<b:StatusCode>0</b:StatusCode>');
    }
    routes['/SecurityAdministrationService#SetAdminAclEntry'] = () => {
      amt.setPassword('admin', 'S3cret<&>');
      return { body: eoiOk('SecurityAdministration', 'SetAdminAclEntry', '<b:StatusCode>0</b:StatusCode>') };
    };
    const setup = session.setup('eoi');
    const now = new Date('2026-01-02T03:04:05Z');
    await setup.synchronizeClock(() => now);
    await setup.setHostAndDomainName('amt1', 'corp.test');
    await setup.installTlsCertificate({
      privateKeyDer: Buffer.from('key'),
      certificateChainDer: [Buffer.from('leaf'), Buffer.from('root')],
      acceptNonSecureConnections: false,
    });
    await setup.setAdminPassword({ username: 'admin', password: 'S3cret<&>', ref: 'pending' });
    await setup.commitChanges();
    expect(session.credentialRef).toBe('pending');

    const bodyOf = (operation: string): string =>
      /<soap:Body>(.*)<\/soap:Body>/.exec(amt.handled.find((r) => operationOf(r) === operation)?.body ?? '')?.[1] ?? '';
    expect(bodyOf('SetHighAccuracyTimeSynch')).toBe(
      `<SetHighAccuracyTimeSynch xmlns="${NS('NetworkTime')}"><Ta0>1200000000</Ta0><Tm1>${now.getTime() / 1000}</Tm1><Tm2>${now.getTime() / 1000}</Tm2></SetHighAccuracyTimeSynch>`,
    );
    expect(bodyOf('SetHostName')).toBe(
      `<SetHostName xmlns="${NS('NetworkAdministration')}"><HostName>amt1</HostName></SetHostName>`,
    );
    expect(bodyOf('SetTLSKeyAndCertificate')).toBe(
      `<SetTLSKeyAndCertificate xmlns="${NS('SecurityAdministration')}"><PrivateKey>a2V5</PrivateKey>` +
        '<CertificateChain><Certificate>bGVhZg==</Certificate><Certificate>cm9vdA==</Certificate></CertificateChain></SetTLSKeyAndCertificate>',
    );
    expect(bodyOf('SetTlsEnabled')).toContain('<Enabled>true</Enabled>');
    expect(bodyOf('SetAdminAclEntry')).toBe(
      `<SetAdminAclEntry xmlns="${NS('SecurityAdministration')}"><Username>admin</Username><Password>S3cret&lt;&amp;&gt;</Password></SetAdminAclEntry>`,
    );
    expect(amt.handled.at(-1)?.auth?.['username']).toBe('admin');
  });

  it('maps StatusCode and SOAP faults to typed errors', async () => {
    routes['/SecurityAdministrationService#SetAdminAclEntry'] = reply(
      'SecurityAdministration',
      'SetAdminAclEntry',
      '<b:StatusCode>2054</b:StatusCode>',
    );
    routes['/SecurityAdministrationService#CommitChanges'] = () => ({
      status: 500,
      body:
        '<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault>' +
        '<faultcode>SOAP-ENV:Client</faultcode><faultstring>Invalid request</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>',
    });
    const setup = session.setup('eoi');
    await expect(
      setup.setAdminPassword({ username: 'admin', password: 'short', ref: 'pending' }),
    ).rejects.toMatchObject({
      code: 'PT_STATUS_INVALID_PASSWORD',
      outcome: 'rejected',
    });
    expect(session.credentialRef).toBe('factory-default');
    const fault = await setup.commitChanges().catch((err: unknown) => err);
    expect(fault).toBeInstanceOf(AmtError);
    expect(fault).toMatchObject({
      code: 'SOAP_FAULT',
      subcode: 'Client',
      reason: 'Invalid request',
      outcome: 'rejected',
    });
  });

  it('adds a user with EOI realm names and pages handles', async () => {
    routes['/SecurityAdministrationService#AddUserAclEntry'] = reply(
      'SecurityAdministration',
      'AddUserAclEntry',
      '<b:StatusCode>0</b:StatusCode><b:Handle>5</b:Handle>',
    );
    routes['/SecurityAdministrationService#EnumerateUserAclEntries'] = reply(
      'SecurityAdministration',
      'EnumerateUserAclEntries',
      '<b:StatusCode>0</b:StatusCode><b:TotalCount>1</b:TotalCount><b:HandleCount>1</b:HandleCount><b:Handles><b:Handle>5</b:Handle></b:Handles>',
    );
    expect(await session.eoi.addUserAclEntry({ username: 'ops', password: 'Pw1!', realms: [3, 5] })).toBe(5);
    expect(amt.handled.at(-1)?.body).toContain(
      '<Entry><Username>ops</Username><Password>Pw1!</Password><Realms><Realm>PTAdministrationRealm</Realm><Realm>RemoteControlRealm</Realm></Realms></Entry>',
    );
    expect(await session.eoi.listUserAclHandles()).toEqual([5]);
  });

  it('controls power with RemoteControl (Status, not StatusCode) and reads the ACPI state', async () => {
    routes['/RemoteControlService#RemoteControl'] = reply('RemoteControl', 'RemoteControl', '<b:Status>0</b:Status>');
    routes['/RemoteControlService#GetSystemPowerState'] = reply(
      'RemoteControl',
      'GetSystemPowerState',
      '<b:Status>0</b:Status><b:SystemPowerState>5</b:SystemPowerState>',
    );
    const power = session.power('eoi');
    await power.request('reset');
    expect(amt.handled.at(-1)?.body).toContain(
      `<RemoteControl xmlns="${NS('RemoteControl')}"><Command>16</Command><IanaOemNumber>343</IanaOemNumber></RemoteControl>`,
    );
    expect(await power.getStatus()).toEqual({ state: 'off', firmwareValue: 5, available: ['on'] });
  });

  it('sets the MEBx password and partial unprovision through WS-Management on the same login', async () => {
    routes['AMT_SetupAndConfigurationService/SetMEBxPassword'] = (request) => ({
      body: wsmanOk(request.body, methodOutput('SetMEBxPassword', 0)),
    });
    routes['AMT_SetupAndConfigurationService/PartialUnprovision'] = (request) => ({
      body: wsmanOk(request.body, methodOutput('PartialUnprovision', 0)),
    });
    const setup = session.setup('eoi');
    await setup.setMebxPassword('Mebx-Pa55!');
    await setup.unprovision('partial');
    expect(amt.handled.map((r) => r.path)).toEqual(['/wsman', '/wsman']);
  });
});
