import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { AmtConnectionError, AmtTimeoutError, AmtTlsError } from './errors';
import { probeAmt } from './session';
import { AMT_TLS_SECURE_OPTIONS, tlsHandshakeError, type AmtTimeouts, type ProvisioningTls } from './transport';

/**
 * Raw TLS handshakes with a device's TLS port (16993), for what an HTTP exchange cannot tell: the
 * certificate the firmware serves, and whether it takes amtflow's provisioning chain (spec OOB3,
 * OOB4, DEP1). Errors are the AMT client's transport errors (docs/amt-client.md).
 */

/** Where a device listens: its address, the plain port (16992) and the TLS port (16993). */
export interface AmtPorts {
  host: string;
  httpPort: number;
  tlsPort: number;
}

export interface HandshakeOptions {
  /** PEM chain and key to present; without, none is offered, which only looks at what the device serves. */
  clientCertificate?: { cert: string; key: string };
  /** Allow TLS 1.0/1.1 and the old RSA ciphers AMT before 12 needs. */
  legacyProtocols: boolean;
  /** TCP connect plus handshake, in milliseconds. */
  connectMs: number;
}

/**
 * One TLS handshake with `host:port`, resolving with the certificate the device presents.
 * Rejects as the AMT transport classifies a handshake (`tlsHandshakeError`): TLS_HANDSHAKE_REJECTED
 * when the device ended it (an alert, a dropped connection) or presented no certificate,
 * TLS_HANDSHAKE_FAILED when our side gave up (no common protocol, no RFC 5746) — not a refusal of
 * our certificate; otherwise CONNECTION_FAILED (transient) or CONNECT_TIMEOUT.
 */
export function presentedCertificate(
  target: { host: string; port: number },
  options: HandshakeOptions,
): Promise<X509Certificate> {
  const label = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      rejectUnauthorized: false,
      // As the AMT client: firmware without RFC 5746 is still AMT (transport.ts).
      secureOptions: AMT_TLS_SECURE_OPTIONS,
      // As the AMT client: with a client certificate, TLS 1.2 decides acceptance inside the handshake.
      maxVersion: 'TLSv1.2',
      ...(options.legacyProtocols ? { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
      ...(options.clientCertificate ?? {}),
    });
    const timer = setTimeout(() => fail(new AmtTimeoutError('connect', options.connectMs, label)), options.connectMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const raw = socket.getPeerX509Certificate();
      socket.end();
      if (raw) resolve(raw);
      else reject(new AmtTlsError('TLS_HANDSHAKE_REJECTED', `${label}: the device presented no certificate`));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      fail(
        tlsHandshakeError(err, label) ??
          new AmtConnectionError(
            'CONNECTION_FAILED',
            `${label}: connection failed (${err.code ?? ''})`,
            'not-delivered',
            {
              transient: true,
              cause: err,
            },
          ),
      );
    });
  });
}

/** SHA-256 fingerprint of a certificate's DER, lower-case hex. */
export function sha256Fingerprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('hex');
}

/**
 * OOB3/OOB4: a handshake presenting the provisioning chain, then one unauthenticated request over a
 * connection pinned to the certificate seen. Firmware that checks the chain after the handshake
 * closes that connection unanswered, which is its refusal (TLS_HANDSHAKE_REJECTED). Resolves with
 * the fingerprint of the device's self-signed certificate.
 */
export async function checkProvisioningAccepted(
  device: Pick<AmtPorts, 'host' | 'tlsPort'>,
  provisioning: ProvisioningTls,
  timeouts: AmtTimeouts,
): Promise<{ serverCertificateSha256: string }> {
  const target = { host: device.host, port: device.tlsPort };
  const certificate = await presentedCertificate(target, {
    clientCertificate: { cert: provisioning.clientCertificateChainPem, key: provisioning.clientKeyPem },
    legacyProtocols: provisioning.legacyProtocols === true,
    connectMs: timeouts.connectMs,
  });
  const serverCertificateSha256 = sha256Fingerprint(certificate);
  try {
    await probeAmt({ ...target, tls: { ...provisioning, pinnedServerSha256: serverCertificateSha256 } }, timeouts);
  } catch (err) {
    if (!(err instanceof AmtConnectionError && err.code === 'CONNECTION_RESET')) throw err;
    throw new AmtTlsError(
      'TLS_HANDSHAKE_REJECTED',
      `${target.host}:${target.port}: the device closed the session unanswered: it refused the provisioning certificate (OOB4)`,
      err,
    );
  }
  return { serverCertificateSha256 };
}

/**
 * DEP1: whether the device answers on its plain port while its TLS port refuses TLS or serves a
 * self-signed certificate — what Unprovision leaves behind once the TLS configuration is gone.
 * Connection errors of the plain port reject (the device is not up, so nothing can be said).
 */
export async function tlsConfigurationRemoved(
  device: AmtPorts,
  options: { legacyProtocols: boolean; timeouts: AmtTimeouts },
): Promise<boolean> {
  await probeAmt({ host: device.host, port: device.httpPort }, options.timeouts);
  try {
    const served = await presentedCertificate(
      { host: device.host, port: device.tlsPort },
      { legacyProtocols: options.legacyProtocols, connectMs: options.timeouts.connectMs },
    );
    return served.subject === served.issuer;
  } catch (err) {
    if (err instanceof AmtTlsError) return true;
    throw err;
  }
}
