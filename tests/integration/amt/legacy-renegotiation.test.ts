import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { amtFailure } from '../../support/amt-failure';
import { checkProvisioningAccepted, presentedCertificate, sha256Fingerprint } from '../../../lib/amt/tls-handshake';
import { postOnce, type AmtTimeouts, type ProvisioningTls } from '../../../lib/amt/transport';
import { provisioningChain, sha256, testKeyPool } from '../../unit/emulator/support/pki';
import { testFleet } from '../emulator/support/fleet';

/**
 * Issue 12 §2: AMT firmware without RFC 5746 secure renegotiation. OpenSSL 3 (Node ≥ 17) refuses
 * such servers unless SSL_OP_LEGACY_SERVER_CONNECT is set; amtflow sets it for AMT TLS, and reports
 * a TLS failure as what it is. The emulator plays that firmware (profile `secureRenegotiation: false`).
 */
describe('firmware without secure renegotiation (RFC 5746)', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  let chain: ReturnType<typeof provisioningChain>;
  const patient: AmtTimeouts = { connectMs: 15_000, responseMs: 15_000 };
  const request = { path: '/wsman', headers: {}, body: '<x/>' };

  beforeAll(async () => {
    chain = provisioningChain(await testKeyPool(), { cn: 'oobsp.corp.example.test' });
    fleet = await testFleet([
      {
        amtVersion: '9.5.30',
        secureRenegotiation: false,
        helloEnabled: false,
        customHashes: [{ algorithm: 'sha256', hash: sha256(chain.root.der) }],
      },
    ]);
  });
  afterAll(() => fleet.cleanup());

  const device = () => fleet.devices[0]!;
  const provisioning = (overrides: Partial<ProvisioningTls> = {}): ProvisioningTls => ({
    mode: 'provisioning',
    clientCertificateChainPem: chain.chainPem,
    clientKeyPem: chain.leaf.keyPem,
    legacyProtocols: true,
    ...overrides,
  });

  it('is what the emulator serves: a plain OpenSSL 3 client refuses it', async () => {
    const error = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const socket = tls.connect({
        host: device().address,
        port: device().tlsPort,
        rejectUnauthorized: false,
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      });
      socket.once('secureConnect', () => reject(new Error('handshake completed')));
      socket.once('error', resolve);
    });
    expect(error.code).toBe('ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED');
  });

  it('is reached by the AMT transport: TLS-PKI handshake, then the firmware answers HTTP', async () => {
    const response = await postOnce(
      { host: device().address, port: device().tlsPort, tls: provisioning() },
      patient,
      request,
    );
    expect(response.status).toBe(401);
    expect(response.headers.server).toBe(`Intel(R) Active Management Technology 9.5.30.${device().nvram().build}`);
    expect(device().nvram().provisioning.state).toBe(1);
  });

  it('reports a TLS failure of our side as TLS_HANDSHAKE_FAILED naming the OpenSSL reason', async () => {
    // Without the legacy protocols this firmware has no TLS version in common with us.
    const error = await amtFailure(
      postOnce(
        { host: device().address, port: device().tlsPort, tls: provisioning({ legacyProtocols: false }) },
        patient,
        request,
      ),
    );
    expect(error).toMatchObject({
      code: 'TLS_HANDSHAKE_FAILED',
      outcome: 'not-delivered',
      message: expect.stringMatching(/TLS handshake failed: .*(protocol|version)/i),
    });
    expect(error.message).not.toMatch(/refused the provisioning certificate/);
  });

  // The raw handshakes of OOB3/OOB4 (checkProvisioningAccepted) and of the certificate renewal's
  // read-back (lib/provisioning/renewal.ts) reach the same firmware, and report the same failures.
  it('takes the provisioning chain at OOB3/OOB4 through the raw handshake', async () => {
    const accepted = await checkProvisioningAccepted(
      { host: device().address, tlsPort: device().tlsPort },
      provisioning(),
      patient,
    );
    // Its pre-provisioning TLS port asks for a client certificate, so what it serves is read from its NVRAM.
    const served = new X509Certificate(device().nvram().identity.certPem);
    expect(accepted.serverCertificateSha256).toBe(sha256Fingerprint(served));
  });

  it('reports no common protocol in the raw handshake as TLS_HANDSHAKE_FAILED, not as a refused certificate', async () => {
    const error = await amtFailure(
      checkProvisioningAccepted(
        { host: device().address, tlsPort: device().tlsPort },
        provisioning({ legacyProtocols: false }),
        patient,
      ),
    );
    expect(error).toMatchObject({
      code: 'TLS_HANDSHAKE_FAILED',
      outcome: 'not-delivered',
      message: expect.stringMatching(/TLS handshake failed: .*(protocol|version)/i),
    });
    const served = await amtFailure(
      presentedCertificate(
        { host: device().address, port: device().tlsPort },
        { legacyProtocols: false, connectMs: patient.connectMs },
      ),
    );
    expect(served.code).toBe('TLS_HANDSHAKE_FAILED');
  });
});
