import forge from 'node-forge';
import { PkiError } from './errors';
import type { Signer } from './templates';
import { signDer, subjectKeyIdentifier, subjectNameAsn1 } from './x509';

/**
 * RFC 5280 CRLReason values amtflow accepts. certificateHold/removeFromCRL are left out (amtflow
 * never suspends a certificate) and so is aACompromise (no attribute certificates). Configuration
 * Manager revokes with `superseded` when it removes provisioning information.
 */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;

export type RevocationReason = keyof typeof REVOCATION_REASONS;

export function assertRevocationReason(reason: string): asserts reason is RevocationReason {
  if (!Object.prototype.hasOwnProperty.call(REVOCATION_REASONS, reason)) {
    throw new PkiError(
      'INVALID_REVOCATION_REASON',
      `revocation reason ${JSON.stringify(reason)} is not one of ${Object.keys(REVOCATION_REASONS).join(', ')}`,
    );
  }
}

export interface RevokedEntry {
  /** Serial number in hex, as stored. */
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CrlSpec {
  issuer: Signer;
  entries: readonly RevokedEntry[];
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
}

const { asn1 } = forge;
const { UNIVERSAL, CONTEXT_SPECIFIC } = asn1.Class;
const T = asn1.Type;

const node = (type: number, value: string | forge.asn1.Asn1[]) =>
  asn1.create(UNIVERSAL, type, Array.isArray(value), value);
const oid = (id: string) => node(T.OID, asn1.oidToDer(id).getBytes());
const octets = (der: forge.asn1.Asn1) => node(T.OCTETSTRING, asn1.toDer(der).getBytes());

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after. */
function time(date: Date): forge.asn1.Asn1 {
  return date.getUTCFullYear() < 2050
    ? node(T.UTCTIME, asn1.dateToUtcTime(date))
    : node(T.GENERALIZEDTIME, asn1.dateToGeneralizedTime(date));
}

/** A non-negative DER INTEGER from hex (a leading zero octet when the top bit is set). */
function unsignedInteger(hex: string): forge.asn1.Asn1 {
  const even = hex.length % 2 ? `0${hex}` : hex;
  return node(T.INTEGER, forge.util.hexToBytes(/^[89a-f]/i.test(even) ? `00${even}` : even));
}

function extension(id: string, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  return node(T.SEQUENCE, [oid(id), octets(value)]);
}

function entry(revoked: RevokedEntry): forge.asn1.Asn1 {
  const code = REVOCATION_REASONS[revoked.reason];
  // RFC 5280 §5.3.1: the reasonCode extension is left out rather than set to unspecified.
  const extensions =
    code === 0 ? [] : [node(T.SEQUENCE, [extension('2.5.29.21', node(T.ENUMERATED, String.fromCharCode(code)))])];
  return node(T.SEQUENCE, [unsignedInteger(revoked.serial), time(revoked.revokedAt), ...extensions]);
}

/**
 * A v2 CRL (RFC 5280 §5) signed by the issuing CA with SHA-256/RSA, as DER. forge builds
 * certificates but not CRLs, so the structure is laid out here with its ASN.1 helpers; the issuer
 * Name is copied byte for byte from the CA certificate so that path validation matches it.
 */
export function buildCrl(spec: CrlSpec): Buffer {
  const algorithm = node(T.SEQUENCE, [oid(forge.pki.oids.sha256WithRSAEncryption as string), node(T.NULL, '')]);
  const keyId = subjectKeyIdentifier(spec.issuer.certificate.forge);
  const crlExtensions = [
    ...(keyId ? [extension('2.5.29.35', node(T.SEQUENCE, [asn1.create(CONTEXT_SPECIFIC, 0, false, keyId)]))] : []),
    extension('2.5.29.20', unsignedInteger(spec.crlNumber.toString(16))),
  ];
  const entries = spec.entries.map(entry);
  const tbs = node(T.SEQUENCE, [
    node(T.INTEGER, String.fromCharCode(1)),
    algorithm,
    subjectNameAsn1(spec.issuer.certificate),
    time(spec.thisUpdate),
    time(spec.nextUpdate),
    ...(entries.length ? [node(T.SEQUENCE, entries)] : []),
    asn1.create(CONTEXT_SPECIFIC, 0, true, [node(T.SEQUENCE, crlExtensions)]),
  ]);
  const tbsDer = asn1.toDer(tbs).getBytes();
  const signature = node(T.BITSTRING, String.fromCharCode(0) + signDer(tbsDer, spec.issuer.key));
  return Buffer.from(asn1.toDer(node(T.SEQUENCE, [tbs, algorithm, signature])).getBytes(), 'binary');
}

export function crlToPem(der: Buffer): string {
  return forge.pem.encode({ type: 'X509 CRL', body: der.toString('binary') }, { maxline: 64 });
}
