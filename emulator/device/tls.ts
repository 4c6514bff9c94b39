import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { keyForCert } from '../classes/pki';
import { inSetupMode, type Nvram } from './nvram';

/**
 * What the TLS port (16993) does for a new connection, decided from NVRAM at accept time:
 * - setup: remote configuration (setup mode or in-provisioning) — self-signed identity, client
 *   certificate requested and checked as a provisioning certificate (spec OOB3/OOB4);
 * - configured: TLS enabled by CommitChanges — the installed certificate, client certificate
 *   required when mutual authentication is on;
 * - closed: AMT does not serve 16993 (no TLS configured).
 */
export type TlsMode =
  ({ kind: 'setup' } & TlsIdentity) | ({ kind: 'configured'; mutual: boolean } & TlsIdentity) | { kind: 'closed' };

/** What the port presents: as a Node secure context, and as PEM for the legacy TLS engine. */
export interface TlsIdentity {
  context: tls.SecureContext;
  keyPem: string;
  certPem: string;
}

/** Contexts are cached by certificate: every device drawing the same pool key shares one. */
const contexts = new Map<string, tls.SecureContext>();

function contextFor(keyPem: string, certPem: string): tls.SecureContext {
  const cached = contexts.get(certPem);
  if (cached) return cached;
  // Real AMT negotiates TLS 1.2 at most (TLS 1.0/1.1 were dropped in AMT 12 / CSME 16).
  const context = tls.createSecureContext({ key: keyPem, cert: certPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  if (contexts.size > 4096) contexts.clear();
  contexts.set(certPem, context);
  return context;
}

function derToPem(b64: string): string {
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export function tlsModeFor(nvram: Nvram): TlsMode {
  if (inSetupMode(nvram) || nvram.provisioning.state === 1) {
    const { keyPem, certPem } = nvram.identity;
    return { kind: 'setup', context: contextFor(keyPem, certPem), keyPem, certPem };
  }
  const applied = nvram.tls.applied;
  const cert = applied?.enabled ? nvram.certs.find((c) => c.handle === applied.certHandle) : undefined;
  const key = cert && keyForCert(nvram, cert);
  if (!applied || !cert || !key) return { kind: 'closed' };
  const certPem = derToPem(cert.der);
  return {
    kind: 'configured',
    context: contextFor(key.privateKeyPem, certPem),
    keyPem: key.privateKeyPem,
    certPem,
    mutual: applied.mutualAuthentication,
  };
}

/** The client's chain as presented, leaf first (empty when the client sent no certificate). */
export function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let cert = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
  const seen = new Set<string>();
  while (cert && cert.raw && chain.length < 8) {
    const fp = cert.fingerprint256;
    if (seen.has(fp)) break;
    seen.add(fp);
    chain.push(new X509Certificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * Mutual authentication after configuration: the client chain must end in (or be issued by) a
 * trusted root stored in the firmware, and the leaf CN must be one of TrustedCN when any is set.
 */
export function checkMutualClient(chain: X509Certificate[], nvram: Nvram): boolean {
  const leaf = chain[0];
  const top = chain[chain.length - 1];
  if (!leaf || !top) return false;
  for (let i = 0; i + 1 < chain.length; i++) if (!chain[i]!.verify(chain[i + 1]!.publicKey)) return false;
  const roots = nvram.certs.filter((c) => c.trustedRoot).map((c) => new X509Certificate(Buffer.from(c.der, 'base64')));
  const anchored = roots.some((r) => r.raw.equals(top.raw) || (top.checkIssued(r) && top.verify(r.publicKey)));
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject)?.[1] ?? '';
  const trustedCn = nvram.tls.applied?.trustedCN ?? [];
  return anchored && (trustedCn.length === 0 || trustedCn.includes(cn));
}
