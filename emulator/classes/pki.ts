import { createPrivateKey, type X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import type { Nvram, StoredCert, TlsSettings } from '../device/nvram';
import { publicKeyDerOf } from '../keys/pool';
import type { Epr } from '../wsman/envelope';
import { faults } from '../wsman/faults';
import { resourceUriOf } from '../wsman/namespaces';
import type { FirmwareContext, MethodOutput, PutInput, WsmanClass } from '../wsman/registry';
import { epr, type Props } from '../wsman/writer';
import {
  PT,
  bool,
  certEpr,
  certInstanceId,
  decodeBase64,
  dnString,
  handleOf,
  keyInstanceId,
  parseCertificate,
} from './common';

const MAX_CERTS = 32;
const MAX_KEYS = 16;

function certPublicDer(cert: X509Certificate): string {
  return cert.publicKey.export({ type: 'pkcs1', format: 'der' }).toString('base64');
}

/** The stored key matching a certificate's public key, if any. */
export function keyForCert(nvram: Nvram, cert: StoredCert) {
  const x509 = parseCertificate(Buffer.from(cert.der, 'base64'));
  if (!x509 || x509.publicKey.asymmetricKeyType !== 'rsa') return undefined;
  const der = certPublicDer(x509);
  return nvram.keys.find((k) => k.publicKeyDer === der);
}

function addCertificate(ctx: FirmwareContext, blob: string | undefined, trustedRoot: boolean): MethodOutput {
  const { nvram } = ctx;
  const der = decodeBase64(blob);
  const x509 = parseCertificate(der);
  if (!x509) return { returnValue: PT.INVALID_CERT };
  const b64 = der!.toString('base64');
  const existing = nvram.certs.find((c) => c.der === b64);
  if (existing) return { returnValue: PT.DUPLICATE };
  if (nvram.certs.length >= MAX_CERTS) return { returnValue: PT.MAX_LIMIT_REACHED };
  const handle = nvram.nextHandle++;
  nvram.certs.push({
    handle,
    der: b64,
    trustedRoot,
    readOnly: false,
    subject: dnString(x509.subject),
    issuer: dnString(x509.issuer),
  });
  return { returnValue: PT.SUCCESS, out: { CreatedCertificate: certEpr(handle) } };
}

function keyEpr(handle: number): Epr {
  return epr(resourceUriOf('AMT_PublicPrivateKeyPair'), { InstanceID: keyInstanceId(handle) });
}

function storeKey(nvram: Nvram, privateKeyPem: string): number | null {
  const publicKeyDer = publicKeyDerOf(privateKeyPem);
  if (nvram.keys.some((k) => k.publicKeyDer === publicKeyDer)) return null;
  const handle = nvram.nextHandle++;
  nvram.keys.push({ handle, privateKeyPem, publicKeyDer });
  return handle;
}

/** Signs a PKCS#10 request whose (null) signature the caller could not make (reference §4.9). */
function signCsr(nullSigned: Buffer, privateKeyPem: string, algorithm: number): string | null {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromAsn1(forge.asn1.fromDer(nullSigned.toString('binary')));
  } catch {
    return null;
  }
  const key = forge.pki.privateKeyFromPem(privateKeyPem);
  const csrKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (!csrKey || csrKey.n.compareTo(key.n) !== 0) return null;
  csr.sign(key, algorithm === 0 ? forge.md.sha1.create() : forge.md.sha256.create());
  return Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary').toString(
    'base64',
  );
}

export const publicKeyManagementService: WsmanClass = {
  name: 'AMT_PublicKeyManagementService',
  keys: ['CreationClassName', 'Name', 'SystemCreationClassName', 'SystemName'],
  realm: 3,
  instances() {
    return [
      {
        CreationClassName: 'AMT_PublicKeyManagementService',
        ElementName: 'Intel(r) AMT Public Key Management Service',
        EnabledState: 5,
        Name: 'Intel(r) AMT Public Key Management Service',
        RequestedState: 12,
        SystemCreationClassName: 'CIM_ComputerSystem',
        SystemName: 'Intel(r) AMT',
      },
    ];
  },
  methods: {
    AddTrustedRootCertificate(ctx, input) {
      return addCertificate(ctx, input.text('CertificateBlob'), true);
    },
    AddCertificate(ctx, input) {
      return addCertificate(ctx, input.text('CertificateBlob'), false);
    },
    AddKey(ctx, input) {
      const der = decodeBase64(input.text('KeyBlob'));
      let pem: string;
      try {
        pem = createPrivateKey({ key: der ?? Buffer.alloc(0), format: 'der', type: 'pkcs1' })
          .export({ type: 'pkcs1', format: 'pem' })
          .toString();
      } catch {
        return { returnValue: PT.INVALID_KEY };
      }
      if (ctx.nvram.keys.length >= MAX_KEYS) return { returnValue: PT.MAX_LIMIT_REACHED };
      const handle = storeKey(ctx.nvram, pem);
      if (handle === null) return { returnValue: PT.DUPLICATE };
      return { returnValue: PT.SUCCESS, out: { CreatedKey: keyEpr(handle) } };
    },
    GenerateKeyPair(ctx, input) {
      const algorithm = input.int('KeyAlgorithm');
      const length = input.int('KeyLength');
      if (algorithm !== 0 || length !== 2048) return { returnValue: PT.UNSUPPORTED };
      if (ctx.nvram.keys.length >= MAX_KEYS) return { returnValue: PT.MAX_LIMIT_REACHED };
      // Firmware makes the key; the emulator draws it from the pool. A pool key the device already
      // holds is skipped, so every stored key is distinct.
      for (let attempt = 0; attempt < MAX_KEYS + 1; attempt++) {
        const handle = storeKey(ctx.nvram, ctx.drawKey().privateKeyPem);
        if (handle !== null) return { returnValue: PT.SUCCESS, out: { KeyPair: keyEpr(handle) } };
      }
      return { returnValue: PT.INTERNAL_ERROR };
    },
    GeneratePKCS10RequestEx(ctx, input) {
      const handle = handleOf(input.epr('KeyPair'), 'key');
      const key = ctx.nvram.keys.find((k) => k.handle === handle);
      if (!key) return { returnValue: PT.INVALID_HANDLE };
      const algorithm = input.int('SigningAlgorithm') ?? 1;
      if (algorithm !== 0 && algorithm !== 1) return { returnValue: PT.INVALID_PARAMETER };
      const csr = decodeBase64(input.text('NullSignedCertificateRequest'));
      const signed = csr && signCsr(csr, key.privateKeyPem, algorithm);
      if (!signed) return { returnValue: PT.INVALID_PARAMETER };
      return { returnValue: PT.SUCCESS, out: { SignedCertificateRequest: signed } };
    },
  },
};

function certInUse(nvram: Nvram, handle: number): boolean {
  return (
    nvram.tls.credentialContext === handle ||
    nvram.tls.applied?.certHandle === handle ||
    nvram.ieee8021x.clientCertHandle === handle ||
    nvram.ieee8021x.serverCertHandle === handle ||
    nvram.wifi.profiles.some((p) => p.clientCertHandle === handle || p.caCertHandle === handle)
  );
}

export const publicKeyCertificate: WsmanClass = {
  name: 'AMT_PublicKeyCertificate',
  keys: ['InstanceID'],
  realm: 3,
  instances({ nvram }) {
    return nvram.certs.map((c) => ({
      ElementName: 'Intel(r) AMT Certificate',
      InstanceID: certInstanceId(c.handle),
      Issuer: c.issuer,
      ReadOnlyCertificate: c.readOnly,
      Subject: c.subject,
      // AMT's own spelling.
      TrustedRootCertficate: c.trustedRoot,
      X509Certificate: c.der,
    }));
  },
  delete({ nvram }, target) {
    const cert = nvram.certs.find((c) => certInstanceId(c.handle) === target.InstanceID)!;
    if (cert.readOnly || certInUse(nvram, cert.handle)) throw faults.accessDenied();
    nvram.certs = nvram.certs.filter((c) => c !== cert);
  },
};

export const publicPrivateKeyPair: WsmanClass = {
  name: 'AMT_PublicPrivateKeyPair',
  keys: ['InstanceID'],
  realm: 3,
  instances({ nvram }) {
    return nvram.keys.map((k) => ({
      DERKey: k.publicKeyDer,
      ElementName: 'Intel(r) AMT Key',
      InstanceID: keyInstanceId(k.handle),
    }));
  },
  delete({ nvram }, target) {
    const key = nvram.keys.find((k) => keyInstanceId(k.handle) === target.InstanceID)!;
    if (nvram.certs.some((c) => certInUse(nvram, c.handle) && keyForCert(nvram, c) === key))
      throw faults.accessDenied();
    nvram.keys = nvram.keys.filter((k) => k !== key);
  },
};

const TLS_REMOTE = 'Intel(r) AMT 802.3 TLS Settings';
const TLS_LOCAL = 'Intel(r) AMT LMS TLS Settings';

function tlsProps(id: string, s: TlsSettings, remote: boolean): Props {
  return {
    AcceptNonSecureConnections: s.acceptNonSecureConnections,
    ElementName: id,
    Enabled: s.enabled,
    InstanceID: id,
    MutualAuthentication: s.mutualAuthentication,
    NonSecureConnectionsSupported: remote ? true : undefined,
    TrustedCN: s.trustedCN.length > 0 ? s.trustedCN : undefined,
  };
}

export const tlsSettingData: WsmanClass = {
  name: 'AMT_TLSSettingData',
  keys: ['InstanceID'],
  realm: 3,
  instances({ nvram }) {
    return [tlsProps(TLS_REMOTE, nvram.tls.remote, true), tlsProps(TLS_LOCAL, nvram.tls.local, false)];
  },
  put({ nvram }, target, input) {
    const remote = target.InstanceID === TLS_REMOTE;
    const s = remote ? nvram.tls.remote : nvram.tls.local;
    const cns = input.texts('TrustedCN');
    if (cns.some((cn) => cn.length === 0 || cn.length > 64) || cns.length > 4) throw faults.invalidRepresentation();
    s.enabled = bool(input.text('Enabled'), s.enabled);
    s.mutualAuthentication = bool(input.text('MutualAuthentication'), s.mutualAuthentication);
    // The local (LMS) interface always accepts non-TLS connections.
    s.acceptNonSecureConnections = remote
      ? bool(input.text('AcceptNonSecureConnections'), s.acceptNonSecureConnections)
      : true;
    s.trustedCN = cns;
  },
};

const ENDPOINT_COLLECTION = 'TLSProtocolEndpoint Instances Collection';

function credentialContextProps(handle: number): Props {
  return {
    ElementInContext: certEpr(handle),
    ElementProvidingContext: epr(resourceUriOf('AMT_TLSProtocolEndpointCollection'), {
      ElementName: ENDPOINT_COLLECTION,
    }),
  };
}

function contextCertificate(nvram: Nvram, input: PutInput): number {
  const handle = handleOf(input.epr('ElementInContext'), 'cert');
  const cert = nvram.certs.find((c) => c.handle === handle);
  // A TLS server certificate is useless without its private key in the firmware.
  if (!cert || cert.trustedRoot || !keyForCert(nvram, cert)) throw faults.invalidRepresentation();
  return cert.handle;
}

export const tlsCredentialContext: WsmanClass = {
  name: 'AMT_TLSCredentialContext',
  keys: ['ElementInContext', 'ElementProvidingContext'],
  realm: 3,
  createFields: ['ElementInContext', 'ElementProvidingContext'],
  instances({ nvram }) {
    return nvram.tls.credentialContext === null ? [] : [credentialContextProps(nvram.tls.credentialContext)];
  },
  create({ nvram }, input) {
    if (nvram.tls.credentialContext !== null) throw faults.alreadyExists();
    const handle = contextCertificate(nvram, input);
    nvram.tls.credentialContext = handle;
    return credentialContextProps(handle) as Record<string, Epr>;
  },
  put({ nvram }, _target, input) {
    nvram.tls.credentialContext = contextCertificate(nvram, input);
  },
  delete({ nvram }) {
    nvram.tls.credentialContext = null;
  },
};

export const tlsProtocolEndpointCollection: WsmanClass = {
  name: 'AMT_TLSProtocolEndpointCollection',
  keys: ['ElementName'],
  realm: 3,
  instances() {
    return [{ ElementName: ENDPOINT_COLLECTION }];
  },
};
