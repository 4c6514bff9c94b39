/** Certificates issued and revoked by the built-in CA. */
export type CertificateTables = Record<never, never>;
