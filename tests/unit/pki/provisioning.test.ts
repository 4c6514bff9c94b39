import type { KeyObject } from 'node:crypto';
import { certificateForKey, checkProvisioningChainStrength, readPkcs12 } from '../../../lib/pki/chain';
import { checkProvisioningCertificate, rootHashMatches } from '../../../lib/pki/provisioning';
import {
  AMT_PROVISIONING_OID,
  AMT_PROVISIONING_OU,
  CLIENT_AUTH_OID,
  SERVER_AUTH_OID,
} from '../../../lib/pki/templates';
import { fromForge, thumbprints, type ParsedCertificate } from '../../../lib/pki/x509';
import { foreignCertificate, pkcs12, rsaKey, type ForeignCertificateSpec } from './fixtures';

// A "purchased" provisioning certificate from a foreign CA. Checks only: 1024-bit keys where size does not matter.
const rootKey = rsaKey(1024);
const leafKey = rsaKey(1024);
const bigKey = rsaKey(2056);
const DOMAIN = 'corp.example.test';
const root = foreignCertificate({ subject: [{ shortName: 'CN', value: 'Vendor Root' }], key: rootKey, ca: true });
const rootSigner = { certificate: root, key: rootKey };

function provisioningLeaf(overrides: Partial<ForeignCertificateSpec> = {}): ParsedCertificate {
  return fromForge(
    foreignCertificate({
      subject: [{ shortName: 'CN', value: `provisionserver.${DOMAIN}` }],
      key: leafKey,
      issuer: rootSigner,
      extKeyUsage: [SERVER_AUTH_OID, AMT_PROVISIONING_OID],
      ...overrides,
    }),
  );
}

const check = (leaf: ParsedCertificate, pool = [fromForge(root)], key: KeyObject = leafKey) =>
  checkProvisioningCertificate(key, leaf, pool, DOMAIN, new Date());

describe('provisioning certificate checks (spec OOB4, P1)', () => {
  it('accepts server authentication with the AMT OID, a CN in the namespace and a chain to a root', () => {
    const leaf = provisioningLeaf();
    const { commonName, chain } = check(leaf, [fromForge(root), leaf]);
    expect(commonName).toBe('provisionserver.corp.example.test');
    expect(chain.map((c) => c.x509.subject)).toEqual(['CN=provisionserver.corp.example.test', 'CN=Vendor Root']);
  });

  it('accepts the Intel(R) Client Setup Certificate OU in place of the OID', () => {
    const leaf = provisioningLeaf({
      subject: [
        { shortName: 'OU', value: AMT_PROVISIONING_OU },
        { shortName: 'CN', value: `provisionserver.${DOMAIN}` },
      ],
      extKeyUsage: [SERVER_AUTH_OID],
    });
    expect(check(leaf).commonName).toBe('provisionserver.corp.example.test');
  });

  it.each([
    ['server authentication only', [SERVER_AUTH_OID]],
    ['the OID without server authentication', [CLIENT_AUTH_OID, AMT_PROVISIONING_OID]],
  ])('refuses %s with NOT_A_PROVISIONING_CERTIFICATE', (_what, extKeyUsage) => {
    expect(() => check(provisioningLeaf({ extKeyUsage }))).toThrow(
      expect.objectContaining({ code: 'NOT_A_PROVISIONING_CERTIFICATE' }),
    );
  });

  it('refuses an OU that differs in case (the firmware compares it exactly)', () => {
    const leaf = provisioningLeaf({
      subject: [
        { shortName: 'OU', value: AMT_PROVISIONING_OU.toUpperCase() },
        { shortName: 'CN', value: `provisionserver.${DOMAIN}` },
      ],
      extKeyUsage: [SERVER_AUTH_OID],
    });
    expect(() => check(leaf)).toThrow(expect.objectContaining({ code: 'NOT_A_PROVISIONING_CERTIFICATE' }));
  });

  it('refuses a CN outside the configured namespace, naming both', () => {
    const leaf = provisioningLeaf({ subject: [{ shortName: 'CN', value: 'provisionserver.evilcorp.example.test' }] });
    expect(() => check(leaf)).toThrow(
      expect.objectContaining({
        code: 'CN_OUTSIDE_NAMESPACE',
        message: expect.stringMatching(/provisionserver\.evilcorp\.example\.test .*corp\.example\.test/),
      }),
    );
  });

  it('refuses a chain that stops short of its root, naming the missing issuer', () => {
    expect(() => check(provisioningLeaf(), [])).toThrow(
      expect.objectContaining({ code: 'CHAIN_INCOMPLETE', message: expect.stringContaining('Vendor Root') }),
    );
  });

  it('refuses a CA key over 2048 bits anywhere in the chain (spec P1)', () => {
    const bigRoot = foreignCertificate({ subject: [{ shortName: 'CN', value: 'Big Root' }], key: bigKey, ca: true });
    const leaf = provisioningLeaf({ issuer: { certificate: bigRoot, key: bigKey } });
    expect(() => check(leaf, [fromForge(bigRoot)])).toThrow(
      expect.objectContaining({ code: 'CA_KEY_TOO_LARGE', message: expect.stringContaining('2056-bit') }),
    );
  });

  it('refuses a provisioning key over 2048 bits', () => {
    expect(() => check(provisioningLeaf({ key: bigKey }), [fromForge(root)], bigKey)).toThrow(
      expect.objectContaining({ code: 'KEY_TOO_LARGE' }),
    );
  });

  it('refuses an expired certificate', () => {
    const leaf = provisioningLeaf({ notAfter: new Date(Date.now() - 3_600_000) });
    expect(() => check(leaf)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_EXPIRED' }));
  });

  describe('what AMT 15/16 and later refuse (AMT SDK "Root certificate hashes")', () => {
    const strongRootKey = rsaKey(2048);
    const strongLeafKey = rsaKey(2048);
    const strongRoot = (digest: 'sha1' | 'sha256') =>
      foreignCertificate({
        subject: [{ shortName: 'CN', value: `Root ${digest}` }],
        key: strongRootKey,
        ca: true,
        digest,
      });
    const chainOf = (rootCert: ReturnType<typeof strongRoot>, leafKeyOf = strongLeafKey) => {
      const leaf = provisioningLeaf({ key: leafKeyOf, issuer: { certificate: rootCert, key: strongRootKey } });
      return checkProvisioningCertificate(leafKeyOf, leaf, [fromForge(rootCert)], DOMAIN, new Date());
    };

    it('passes a SHA-256 chain of 2048-bit keys on every firmware, without warnings', () => {
      const { chain, warnings } = chainOf(strongRoot('sha256'));
      expect(warnings).toEqual([]);
      expect(checkProvisioningChainStrength(chain, '16.1.25', 'chain')).toEqual([]);
    });

    it('warns at import and refuses for AMT 15 and later a SHA-1 signature anywhere, the root included', () => {
      const { chain, warnings } = chainOf(strongRoot('sha1'));
      expect(warnings).toEqual([expect.stringMatching(/"CN=Root sha1": signed with SHA-1; AMT 15\/16 and later/)]);
      expect(checkProvisioningChainStrength(chain, '11.8.50', 'chain')).toHaveLength(1);
      for (const version of ['15.0.23', '16.1.25', '19.0.0']) {
        expect(() => checkProvisioningChainStrength(chain, version, 'chain')).toThrow(
          expect.objectContaining({
            name: 'PkiError',
            code: 'WEAK_PROVISIONING_CHAIN',
            message: expect.stringContaining('"CN=Root sha1": signed with SHA-1'),
          }),
        );
      }
    });

    it('refuses for AMT 15 and later an RSA key under 2048 bits, naming the certificate', () => {
      const { chain, warnings } = chainOf(strongRoot('sha256'), leafKey);
      expect(warnings).toEqual([expect.stringContaining('1024-bit RSA key, under 2048')]);
      expect(() => checkProvisioningChainStrength(chain, '16.0.0', 'chain')).toThrow(
        expect.objectContaining({
          code: 'WEAK_PROVISIONING_CHAIN',
          message: expect.stringContaining(`"CN=provisionserver.${DOMAIN}": 1024-bit RSA key`),
        }),
      );
      expect(checkProvisioningChainStrength(chain, '14.1.67', 'chain')).toHaveLength(1);
    });
  });

  it('matches firmware root hashes of any supported algorithm, in any case', () => {
    const prints = thumbprints(fromForge(root).der);
    expect(rootHashMatches(prints, [{ algorithm: 'sha256', hash: prints.sha256.toUpperCase() }])).toBe(true);
    expect(rootHashMatches(prints, [{ algorithm: 'sha384', hash: prints.sha384 }])).toBe(true);
    expect(rootHashMatches(prints, [{ algorithm: 'sha1', hash: prints.sha1 }])).toBe(true);
    expect(rootHashMatches(prints, [{ algorithm: 'sha1', hash: prints.sha256 }])).toBe(false);
    expect(rootHashMatches(prints, [])).toBe(false);
  });
});

describe('PKCS#12 files', () => {
  const leaf = provisioningLeaf();
  const file = pkcs12(leafKey, [leaf.forge, root], 'correct horse');

  it('yields the key and every certificate, and finds the certificate of the key', () => {
    const { key, certificates } = readPkcs12(file, 'correct horse', 'test file');
    expect(certificates).toHaveLength(2);
    expect(certificateForKey(key, certificates, 'test file').der.equals(leaf.der)).toBe(true);
    expect(() => certificateForKey(rootKey, [leaf], 'test file')).toThrow(
      expect.objectContaining({ code: 'KEY_MISMATCH' }),
    );
  });

  it('reports a wrong password without repeating it', () => {
    expect(() => readPkcs12(file, 'wrong horse', 'test file')).toThrow(
      expect.objectContaining({ code: 'PKCS12_PASSWORD_INVALID', message: expect.not.stringContaining('horse') }),
    );
  });

  it('reports a file that is not PKCS#12', () => {
    expect(() => readPkcs12(Buffer.from('not a pfx'), 'x', 'test file')).toThrow(
      expect.objectContaining({ code: 'PKCS12_INVALID' }),
    );
  });
});
