import { X509Certificate } from 'node:crypto';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import forge from 'node-forge';

/**
 * The TLS port of firmware that predates RFC 5746 (secure renegotiation): its ServerHello never
 * carries the `renegotiation_info` extension, so OpenSSL 3 clients (Node 17 and later) refuse it
 * with "unsafe legacy renegotiation disabled" unless they set SSL_OP_LEGACY_SERVER_CONNECT — what
 * MeshCentral (PR #4766) and MeshCommander had to do for such AMT devices.
 *
 * Node's own TLS server cannot play this: OpenSSL answers RFC 5746 whenever a client offers it
 * (the extension or the SCSV), and no server option turns that off — SSL_OP_NO_RENEGOTIATION only
 * refuses renegotiations, it still sends the extension. node-forge's TLS engine implements no RFC
 * 5746 at all, and speaks what such firmware speaks: TLS 1.0/1.1 with RSA key exchange and AES-CBC
 * with SHA-1 (TLS_RSA_WITH_AES_128_CBC_SHA / _256_). So a device whose profile says
 * `secureRenegotiation: false` serves its TLS port with it; everything above TLS is unchanged.
 */

/** The decrypted side of one legacy TLS connection: what the HTTP layer reads and writes. */
export class LegacyTlsStream extends Duplex {
  constructor(
    private readonly raw: net.Socket,
    private readonly connection: forge.tls.Connection,
  ) {
    super();
  }

  setTimeout(ms: number, onTimeout?: () => void): this {
    this.raw.setTimeout(ms, onTimeout);
    return this;
  }

  override _read(): void {
    // Data is pushed as forge decrypts it.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.connection.prepare(chunk.toString('binary'));
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.connection.close();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.raw.destroy();
    done(err);
  }
}

export interface LegacyTlsOptions {
  keyPem: string;
  certPem: string;
  /** Ask for (and require) a client certificate chain. */
  requestCert: boolean;
  /** The handshake completed; `chain` is the client's, leaf first (empty without one). */
  onSecure(stream: LegacyTlsStream, chain: X509Certificate[]): void;
}

const toX509 = (cert: forge.pki.Certificate) =>
  new X509Certificate(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'));

/** Runs the server side of TLS over `raw`; a failed handshake closes it. */
export function serveLegacyTls(raw: net.Socket, options: LegacyTlsOptions): void {
  let chain: forge.pki.Certificate[] = [];
  let stream: LegacyTlsStream | null = null;
  const connection = forge.tls.createConnection({
    server: true,
    cipherSuites: [
      forge.tls.CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA!,
      forge.tls.CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA!,
    ],
    verifyClient: options.requestCert,
    // The chain is judged after the handshake, by the same checks as on the modern TLS port.
    verify: (_connection, _verified, depth, certs) => {
      if (depth === 0) chain = certs;
      return true;
    },
    getCertificate: () => options.certPem,
    getPrivateKey: () => options.keyPem,
    tlsDataReady: (c) => {
      if (!raw.destroyed) raw.write(Buffer.from(c.tlsData.getBytes(), 'binary'));
    },
    connected: (c) => {
      stream = new LegacyTlsStream(raw, c);
      raw.once('close', () => stream?.destroy());
      options.onSecure(stream, chain.map(toX509));
    },
    dataReady: (c) => {
      const bytes = c.data.getBytes();
      if (bytes.length > 0) stream?.push(Buffer.from(bytes, 'binary'));
    },
    closed: () => {
      stream?.push(null);
      raw.end();
    },
    error: () => raw.destroy(),
  });
  raw.on('data', (chunk: Buffer) => connection.process(chunk.toString('binary')));
}
