/**
 * Provisioning chains (issue 12 §2): a mixed fleet needs a provisioning certificate under each root
 * its firmware trusts, and OOB3 picks the one whose root the device listed. Administrator routes on
 * the whole site. A chain is checked as lib/pki checks it at import (provisioning OID or OU, CN in
 * the provisioning domain, complete and unexpired, the key AMT can use); one AMT 15/16 and later
 * refuse (SHA-1 signatures, RSA keys under 2048 bits) is refused unless the administrator says it
 * is for older firmware only. The PKCS#12 password is used once and never stored, logged or audited.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ProvisioningSummary } from '../../lib/pki';
import { ApiError, parseBody } from '../errors';
import { doc } from '../openapi';
import type { ApiServerDeps } from '../server';

const chainBody = z.strictObject({
  /** The provisioning certificate with its private key and chain, PKCS#12 (DER), base64. */
  pkcs12: z
    .string()
    .min(1)
    .max(512 * 1024)
    // Linear on any input: whitespace is matched in one place only, so a failing body cannot
    // make the engine backtrack over every split of a long run of spaces.
    .regex(/^(?:[A-Za-z0-9+/]|\s)*(?:=\s*){0,2}$/, 'must be base64'),
  password: z.string().max(256).default(''),
  /** PEM certificates that complete the chain when the PKCS#12 file lacks some up to the root. */
  extraCertificatesPem: z
    .string()
    .max(256 * 1024)
    .default(''),
  /**
   * Keep a chain that AMT 15/16 and later refuse, for the older devices that trust its root; the
   * newer ones are refused it at OOB3 (WEAK_PROVISIONING_CHAIN).
   */
  olderFirmwareOnly: z.boolean().default(false),
});

/** What the API answers about a chain: public facts only. */
function describe(summary: ProvisioningSummary) {
  return {
    source: summary.source,
    commonName: summary.commonName,
    notAfter: summary.notAfter.toISOString(),
    rootThumbprints: summary.rootThumbprints,
    warnings: summary.warnings,
  };
}

export async function provisioningChainsRoutes(app: FastifyInstance, deps: ApiServerDeps): Promise<void> {
  const admin = (summary: string, body?: z.ZodType) => ({
    config: { right: 'administrator' as const, scope: 'site' as const },
    schema: doc('provisioning', summary, { body }),
  });
  const provisioning = () => {
    if (!deps.provisioning)
      throw new ApiError(503, 'CA_UNAVAILABLE', 'this API process runs without the certificate authority (ca)');
    return deps.provisioning;
  };

  app.get('/provisioning-chains', admin('The provisioning chains amtflow presents at OOB4'), async () => ({
    chains: provisioning().summaries().map(describe),
  }));
  app.post(
    '/provisioning-chains',
    // A PKCS#12 with its chain, base64, is larger than the API's usual JSON body.
    { ...admin('Add a provisioning chain under another root (administrator)', chainBody), bodyLimit: 1024 * 1024 },
    async (request, reply) => {
      const body = parseBody(chainBody, request.body, 'provisioning chain');
      const added = provisioning().addChain(
        Buffer.from(body.pkcs12, 'base64'),
        body.password,
        body.extraCertificatesPem,
        { requireStrong: !body.olderFirmwareOnly },
      );
      if (request.audit) {
        request.audit.target = `provisioning-chain:${added.rootThumbprints.sha256}`;
        request.audit.details = {
          commonName: added.commonName,
          rootSha256: added.rootThumbprints.sha256,
          notAfter: added.notAfter.toISOString(),
          olderFirmwareOnly: body.olderFirmwareOnly,
          warnings: added.warnings,
        };
      }
      return reply.code(201).send(describe(added));
    },
  );
}
