import { X509Certificate } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { amtFailure } from '../../support/amt-failure';
import {
  cachedSecureContext,
  DeviceConnection,
  postOnce,
  validateEndpoint,
  type AmtEndpoint,
  type AmtTimeouts,
} from '../../../lib/amt/transport';
import { startFakeAmt, type FakeAmt, type FakeAmtOptions } from './support/fake-amt';
import { fingerprint256, issueProvisioning, issueServer, makeCa, selfSigned, type TestIdentity } from './support/pki';

const request = { path: '/wsman', headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' }, body: '<x/>' };
const patient: AmtTimeouts = { connectMs: 10_000, responseMs: 10_000 };

let fake: FakeAmt | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function serve(options: Partial<FakeAmtOptions> = {}): Promise<FakeAmt> {
  fake = await startFakeAmt({ handler: () => ({ body: '<ok/>' }), ...options });
  return fake;
}

describe('plain HTTP', () => {
  it('reads a chunked 200 with AMT headers', async () => {
    const amt = await serve();
    const response = await postOnce({ host: '127.0.0.1', port: amt.port }, patient, request);
    expect(response.status).toBe(200);
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.body).toBe('<ok/>');
    expect(amt.handled[0]?.headers['content-length']).toBe('4');
  });

  it('reports a refused connection as not delivered', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as AddressInfo;
        server.close(() => resolve(free));
      });
    });
    const error = await amtFailure(postOnce({ host: '127.0.0.1', port }, patient, request));
    expect(error).toMatchObject({ code: 'CONNECTION_REFUSED', outcome: 'not-delivered', transient: true });
  });

  it('reports a connection reset after the request arrived as outcome unknown', async () => {
    const amt = await serve({ handler: () => ({ fault: 'reset-before-response' }) });
    const error = await amtFailure(postOnce({ host: '127.0.0.1', port: amt.port }, patient, request));
    expect(error).toMatchObject({ code: 'CONNECTION_RESET', outcome: 'unknown', mayHaveTakenEffect: true });
    expect(amt.handled).toHaveLength(1);
  });

  it('reports a body cut off midway as outcome unknown', async () => {
    const amt = await serve({ handler: () => ({ body: '<a>'.padEnd(4000, 'x'), fault: 'reset-mid-body' }) });
    const error = await amtFailure(postOnce({ host: '127.0.0.1', port: amt.port }, patient, request));
    expect(error.outcome).toBe('unknown');
  });

  it('gives up waiting for a response with outcome unknown', async () => {
    const amt = await serve({ handler: () => ({ fault: 'hang' }) });
    const error = await amtFailure(
      postOnce({ host: '127.0.0.1', port: amt.port }, { connectMs: 10_000, responseMs: 200 }, request),
    );
    expect(error).toMatchObject({ code: 'RESPONSE_TIMEOUT', outcome: 'unknown', phase: 'response' });
  });

  it('gives up on a TLS handshake that never completes with outcome not delivered', async () => {
    const silent = net.createServer((socket) => socket.on('data', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const identity = selfSigned('client');
    try {
      const endpoint: AmtEndpoint = {
        host: '127.0.0.1',
        port: (silent.address() as AddressInfo).port,
        tls: { mode: 'provisioning', clientCertificateChainPem: identity.certPem, clientKeyPem: identity.keyPem },
      };
      const error = await amtFailure(postOnce(endpoint, { connectMs: 200, responseMs: 10_000 }, request));
      expect(error).toMatchObject({ code: 'CONNECT_TIMEOUT', outcome: 'not-delivered' });
    } finally {
      silent.close();
    }
  });
});

describe('a device connection kept between requests', () => {
  it('carries the requests of one client over one connection while the device keeps it open', async () => {
    const amt = await serve();
    const device = new DeviceConnection({ host: '127.0.0.1', port: amt.port });
    for (let i = 0; i < 3; i++) await expect(device.post(patient, request)).resolves.toMatchObject({ status: 200 });
    expect(amt.handled).toHaveLength(3);
    expect(amt.connections).toBe(1);
    device.close();
  });

  it('opens a new connection after an answer that closes it', async () => {
    let answered = 0;
    const amt = await serve({
      handler: () => ({ body: '<ok/>', ...(++answered === 2 ? { headers: { Connection: 'close' } } : {}) }),
    });
    const device = new DeviceConnection({ host: '127.0.0.1', port: amt.port });
    for (let i = 0; i < 3; i++) await device.post(patient, request);
    expect(amt.connections).toBe(2);
    device.close();
  });

  it('reports a reset on a reused connection as outcome unknown, then connects afresh', async () => {
    let answered = 0;
    const amt = await serve({
      handler: () => (++answered === 2 ? { fault: 'reset-before-response' } : { body: '<ok/>' }),
    });
    const device = new DeviceConnection({ host: '127.0.0.1', port: amt.port });
    await device.post(patient, request);
    const error = await amtFailure(device.post(patient, request));
    expect(error).toMatchObject({ code: 'CONNECTION_RESET', outcome: 'unknown' });
    await expect(device.post(patient, request)).resolves.toMatchObject({ status: 200 });
    expect(amt.handled).toHaveLength(3);
    expect(amt.connections).toBe(2);
    device.close();
  });
});

describe('TLS', () => {
  let provisioningRoot: TestIdentity;
  let provisioning: TestIdentity;
  let preProvisioning: TestIdentity;
  let amtflowCa: TestIdentity;
  let deviceCertificate: TestIdentity;
  let otherCa: TestIdentity;

  beforeAll(() => {
    provisioningRoot = makeCa('Test Provisioning Root');
    provisioning = issueProvisioning(provisioningRoot, 'oobsp.corp.test');
    preProvisioning = selfSigned('iAMT pre-provisioning');
    amtflowCa = makeCa('amtflow CA');
    deviceCertificate = issueServer(amtflowCa, 'amt1.corp.test');
    otherCa = makeCa('Someone else');
  });

  const provisioningTls = (pin?: string): AmtEndpoint['tls'] => ({
    mode: 'provisioning',
    clientCertificateChainPem: provisioning.certPem + provisioningRoot.certPem,
    clientKeyPem: provisioning.keyPem,
    ...(pin ? { pinnedServerSha256: pin } : {}),
  });

  it('presents the provisioning chain as client certificate and accepts the self-signed device certificate', async () => {
    const amt = await serve({
      tls: {
        key: preProvisioning.keyPem,
        cert: preProvisioning.certPem,
        requestCert: true,
        rejectUnauthorized: true,
        ca: provisioningRoot.certPem,
      },
    });
    const response = await postOnce({ host: '127.0.0.1', port: amt.port, tls: provisioningTls() }, patient, request);
    expect(response.status).toBe(200);
    expect(amt.handled[0]?.clientCertCn).toBe('oobsp.corp.test');
  });

  it('checks a pinned device certificate before sending anything', async () => {
    const amt = await serve({ tls: { key: preProvisioning.keyPem, cert: preProvisioning.certPem } });
    const pin = fingerprint256(preProvisioning)
      .replace(/(..)(?!$)/g, '$1:')
      .toUpperCase();
    await expect(
      postOnce({ host: '127.0.0.1', port: amt.port, tls: provisioningTls(pin) }, patient, request),
    ).resolves.toMatchObject({ status: 200 });
    const error = await amtFailure(
      postOnce({ host: '127.0.0.1', port: amt.port, tls: provisioningTls('00'.repeat(32)) }, patient, request),
    );
    expect(error).toMatchObject({ code: 'TLS_PIN_MISMATCH', outcome: 'not-delivered' });
    expect(amt.received).toHaveLength(1);
  });

  const verified = (serverName: string, caPem: string): AmtEndpoint['tls'] => ({ mode: 'verified', caPem, serverName });

  it("verifies the device certificate against amtflow's CA and the device FQDN", async () => {
    const amt = await serve({ tls: { key: deviceCertificate.keyPem, cert: deviceCertificate.certPem } });
    const endpoint = { host: '127.0.0.1', port: amt.port, tls: verified('amt1.corp.test', amtflowCa.certPem) };
    await expect(postOnce(endpoint, patient, request)).resolves.toMatchObject({ status: 200 });
  });

  it('refuses a certificate for another FQDN or from another CA, before sending anything', async () => {
    const amt = await serve({ tls: { key: deviceCertificate.keyPem, cert: deviceCertificate.certPem } });
    const wrongName = await amtFailure(
      postOnce(
        { host: '127.0.0.1', port: amt.port, tls: verified('amt2.corp.test', amtflowCa.certPem) },
        patient,
        request,
      ),
    );
    expect(wrongName).toMatchObject({ code: 'TLS_SERVER_NAME_MISMATCH', outcome: 'not-delivered' });
    const wrongCa = await amtFailure(
      postOnce(
        { host: '127.0.0.1', port: amt.port, tls: verified('amt1.corp.test', otherCa.certPem) },
        patient,
        request,
      ),
    );
    expect(wrongCa).toMatchObject({ code: 'TLS_SERVER_UNTRUSTED', outcome: 'not-delivered' });
    expect(amt.received).toHaveLength(0);
  });

  it('refuses a device presenting a certificate amtflow revoked, though it chains to the CA', async () => {
    const amt = await serve({ tls: { key: deviceCertificate.keyPem, cert: deviceCertificate.certPem } });
    const endpoint = { host: '127.0.0.1', port: amt.port, tls: verified('amt1.corp.test', amtflowCa.certPem) };
    await expect(postOnce(endpoint, patient, request)).resolves.toMatchObject({ status: 200 });
    // The same CA (one shared secure context), now with the device's serial revoked: checked per connection.
    const serial = new X509Certificate(deviceCertificate.certPem).serialNumber;
    const revoked: AmtEndpoint = {
      ...endpoint,
      tls: { mode: 'verified', caPem: amtflowCa.certPem, serverName: 'amt1.corp.test', refusedSerials: [serial] },
    };
    const error = await amtFailure(postOnce(revoked, patient, request));
    expect(error).toMatchObject({ code: 'TLS_SERVER_REVOKED', outcome: 'not-delivered' });
    expect(amt.received).toHaveLength(1);
  });

  it('checks the pin on each new connection and keeps only a connection it checked', async () => {
    const amt = await serve({ tls: { key: preProvisioning.keyPem, cert: preProvisioning.certPem } });
    const pinned = new DeviceConnection({
      host: '127.0.0.1',
      port: amt.port,
      tls: provisioningTls(fingerprint256(preProvisioning)),
    });
    await pinned.post(patient, request);
    await pinned.post(patient, request);
    expect(amt.connections).toBe(1);
    pinned.close();
    const wrongPin = new DeviceConnection({ host: '127.0.0.1', port: amt.port, tls: provisioningTls('00'.repeat(32)) });
    for (let i = 0; i < 2; i++) {
      const error = await amtFailure(wrongPin.post(patient, request));
      expect(error).toMatchObject({ code: 'TLS_PIN_MISMATCH', outcome: 'not-delivered' });
    }
    expect(amt.received).toHaveLength(2);
  });

  it('keeps a verified connection to the device it verified', async () => {
    const amt = await serve({ tls: { key: deviceCertificate.keyPem, cert: deviceCertificate.certPem } });
    const device = new DeviceConnection({
      host: '127.0.0.1',
      port: amt.port,
      tls: verified('amt1.corp.test', amtflowCa.certPem),
    });
    await device.post(patient, request);
    await device.post(patient, request);
    expect(amt.connections).toBe(1);
    device.close();
    const otherName = new DeviceConnection({
      host: '127.0.0.1',
      port: amt.port,
      tls: verified('amt2.corp.test', amtflowCa.certPem),
    });
    const error = await amtFailure(otherName.post(patient, request));
    expect(error).toMatchObject({ code: 'TLS_SERVER_NAME_MISMATCH', outcome: 'not-delivered' });
    expect(amt.received).toHaveLength(2);
  });

  it('builds one secure context per distinct set of TLS settings, a bounded number of them', () => {
    const settings = { ca: amtflowCa.certPem, secureOptions: 0 };
    const first = cachedSecureContext(settings);
    expect(cachedSecureContext({ ...settings })).toBe(first);
    expect(cachedSecureContext({ ...settings, ca: otherCa.certPem })).not.toBe(first);
    // Many other settings later, the first has been let go and is built afresh.
    for (let minor = 0; minor < 20; minor++)
      cachedSecureContext({ ...settings, ciphers: `DEFAULT:@SECLEVEL=${minor % 3}`, secureOptions: minor });
    expect(cachedSecureContext(settings)).not.toBe(first);
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)(
    'reports a client certificate the device refuses as TLS_HANDSHAKE_REJECTED, not delivered (device up to %s)',
    async (version) => {
      const amt = await serve({
        tls: {
          key: preProvisioning.keyPem,
          cert: preProvisioning.certPem,
          requestCert: true,
          rejectUnauthorized: true,
          ca: otherCa.certPem,
          maxVersion: version,
        },
      });
      const error = await amtFailure(
        postOnce({ host: '127.0.0.1', port: amt.port, tls: provisioningTls() }, patient, request),
      );
      expect(error).toMatchObject({ code: 'TLS_HANDSHAKE_REJECTED', outcome: 'not-delivered' });
      expect(amt.received).toHaveLength(0);
    },
  );

  it('needs an FQDN, not an IP address, to verify a device certificate', () => {
    expect(() => validateEndpoint({ host: '10.0.0.5', tls: verified('10.0.0.5', amtflowCa.certPem) })).toThrow(
      TypeError,
    );
  });
});
