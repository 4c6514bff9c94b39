import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { signCertificate, subjectKeyIdentifier, type ParsedCertificate } from './x509';

/** Intel's AMT provisioning purpose (spec vocabulary, protocol reference §6.4). */
export const AMT_PROVISIONING_OID = '2.16.840.1.113741.1.2.3';
/** The subject OU that older provisioning certificates carry instead of the OID (case-sensitive). */
export const AMT_PROVISIONING_OU = 'Intel(R) Client Setup Certificate';
export const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/**
 * What each kind of certificate may be used for. The subject is never taken from a request: it is
 * always built here from the validated host name (CN and the single SAN dNSName).
 */
export const TEMPLATES = {
  /** Spec I2: the per-device TLS server certificate installed into the firmware (OOB8.3). */
  'amt-web-server': { extKeyUsage: [SERVER_AUTH_OID], validityDays: 365 },
  /** Spec I2 (SP2+), UPD3: the firmware's client certificate for 802.1X wired and wireless networks. */
  'ieee8021x-client': { extKeyUsage: [CLIENT_AUTH_OID], validityDays: 365 },
  /** Spec OOB3/OOB4: the certificate amtflow presents to the firmware during TLS-PKI provisioning. */
  'amt-provisioning': { extKeyUsage: [SERVER_AUTH_OID, AMT_PROVISIONING_OID], validityDays: 365 },
} as const;

export type TemplateName = keyof typeof TEMPLATES;
/** Templates issued to devices through `CertificateAuthority.issue`. */
export type DeviceTemplate = Exclude<TemplateName, 'amt-provisioning'>;
export const DEVICE_TEMPLATES: readonly DeviceTemplate[] = ['amt-web-server', 'ieee8021x-client'];

/** A CA that signs: its certificate and its private key. */
export interface Signer {
  certificate: ParsedCertificate;
  key: KeyObject;
}

const DAY_MS = 86_400_000;
/** Firmware and hosts with a slightly slow clock still accept a certificate issued just now. */
const BACKDATE_MS = 3_600_000;

interface CertificateSpec {
  serial: string;
  subject: forge.pki.CertificateField[];
  publicKey: forge.pki.PublicKey;
  validityDays: number;
  extensions: object[];
  /** Absent for a self-signed root, which signs with `selfKey`. */
  issuer?: Signer;
  selfKey?: KeyObject;
  now: Date;
}

function build(spec: CertificateSpec): ParsedCertificate {
  const cert = forge.pki.createCertificate();
  cert.serialNumber = spec.serial;
  cert.publicKey = spec.publicKey;
  cert.validity.notBefore = new Date(spec.now.getTime() - BACKDATE_MS);
  const notAfter = new Date(spec.now.getTime() + spec.validityDays * DAY_MS);
  // A certificate never outlives its issuer: the chain would stop verifying before the leaf expires.
  const issuerEnd = spec.issuer?.certificate.forge.validity.notAfter;
  cert.validity.notAfter = issuerEnd && issuerEnd < notAfter ? issuerEnd : notAfter;
  cert.setSubject(spec.subject);
  cert.setIssuer(spec.issuer ? spec.issuer.certificate.forge.subject.attributes : spec.subject);
  const authorityKeyId = spec.issuer && subjectKeyIdentifier(spec.issuer.certificate.forge);
  cert.setExtensions([
    ...spec.extensions,
    { name: 'subjectKeyIdentifier' },
    ...(authorityKeyId ? [{ name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId }] : []),
  ]);
  return signCertificate(cert, spec.issuer?.key ?? (spec.selfKey as KeyObject));
}

export interface CaCertificateSpec {
  serial: string;
  commonName: string;
  organization: string;
  publicKey: forge.pki.PublicKey;
  validityDays: number;
  /** Issuing CAs sign only end-entity certificates (pathLen 0); the root leaves the depth open. */
  pathLen?: number;
  issuer?: Signer;
  selfKey?: KeyObject;
  now: Date;
}

export function buildCaCertificate(spec: CaCertificateSpec): ParsedCertificate {
  return build({
    ...spec,
    subject: [
      { shortName: 'O', value: spec.organization },
      { shortName: 'CN', value: spec.commonName },
    ],
    extensions: [
      {
        name: 'basicConstraints',
        critical: true,
        cA: true,
        ...(spec.pathLen === undefined ? {} : { pathLenConstraint: spec.pathLen }),
      },
      { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true },
    ],
  });
}

/**
 * The EKU extension encoded here rather than by forge, which only knows OIDs by its own names and
 * mis-encodes a dotted OID that it also has a name for.
 */
function extendedKeyUsage(oids: readonly string[]): object {
  const { asn1 } = forge;
  const oid = (id: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
  return { id: '2.5.29.37', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, oids.map(oid)) };
}

export interface LeafSpec {
  template: TemplateName;
  serial: string;
  /** A host name already checked by `normalizeFqdn`. */
  hostName: string;
  organization: string;
  publicKey: forge.pki.PublicKey;
  issuer: Signer;
  /** Where relying parties fetch the CRL, when the API's address is configured. */
  crlUrl?: string;
  now: Date;
}

export function buildLeafCertificate(spec: LeafSpec): ParsedCertificate {
  const template = TEMPLATES[spec.template];
  return build({
    ...spec,
    validityDays: template.validityDays,
    subject: [
      { shortName: 'O', value: spec.organization },
      { shortName: 'CN', value: spec.hostName },
    ],
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
      extendedKeyUsage(template.extKeyUsage),
      { name: 'subjectAltName', altNames: [{ type: 2, value: spec.hostName }] },
      ...(spec.crlUrl ? [{ name: 'cRLDistributionPoints', altNames: [{ type: 6, value: spec.crlUrl }] }] : []),
    ],
  });
}
