export {
  CertificateAuthority,
  type CertificateAuthorityOptions,
  type CurrentCrl,
  type IssueRequest,
  type IssuedCertificate,
  type KeyRequest,
  type ProvisioningSummary,
} from './authority';
export {
  WEAK_CHAIN_REFUSED_FROM_AMT_MAJOR,
  checkProvisioningChainStrength,
  provisioningChainWeaknesses,
  type ChainWeakness,
} from './chain';
export { REVOCATION_REASONS, type RevocationReason } from './crl';
export { PkiError, type PkiErrorCode } from './errors';
export { MAX_RSA_BITS } from './keys';
export { rootHashMatches, type ProvisioningCredential, type RootHashAlgorithm } from './provisioning';
export {
  AMT_PROVISIONING_OID,
  AMT_PROVISIONING_OU,
  DEVICE_TEMPLATES,
  type DeviceTemplate,
  type TemplateName,
} from './templates';
export type { Thumbprints } from './x509';
export type { CertificateRecord } from '../store/certificates';
