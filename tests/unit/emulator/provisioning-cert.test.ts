import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { createNvram } from '../../../emulator/device/nvram';
import { deviceProfileSchema } from '../../../emulator/device/profile';
import { checkProvisioningChain } from '../../../emulator/device/provisioning-cert';
import { AMT_OID, SERVER_AUTH, makeCert, provisioningChain, sha256, testKeyPool } from './support/pki';

describe('provisioning certificate checks (spec OOB4)', () => {
  it('accepts the OID or the OU, and rejects CN, root, OID/OU and chain mistakes', async () => {
    const pool = await testKeyPool();
    const good = provisioningChain(pool, { cn: 'oobsp.corp.example.test', eku: [SERVER_AUTH, AMT_OID] });
    const nvram = createNvram(
      {
        ...deviceProfileSchema.parse({ customHashes: [{ algorithm: 'sha256', hash: sha256(good.root.der) }] }),
        uuid: '11111111-2222-4333-8444-555555555555',
        address: '127.20.0.9',
      },
      { keyPem: 'K', certPem: 'C' },
    );
    const x509 = (...certs: { der: Buffer }[]) => certs.map((c) => new X509Certificate(c.der));
    const now = new Date();
    expect(checkProvisioningChain(x509(good.leaf, good.intermediate, good.root), nvram, now)).toMatchObject({
      ok: true,
      algorithm: 'sha256',
    });

    const ou = makeCert({
      cn: 'corp.example.test',
      ou: 'Intel(R) Client Setup Certificate',
      keyPem: good.leaf.keyPem,
      issuer: good.intermediate,
    });
    expect(checkProvisioningChain(x509(ou, good.intermediate, good.root), nvram, now).ok).toBe(true);

    const reason = (...certs: { der: Buffer }[]) => {
      const r = checkProvisioningChain(x509(...certs), nvram, now);
      return r.ok ? 'ok' : r.reason;
    };
    const outside = makeCert({
      cn: 'oobsp.evilcorp.example.test',
      eku: [AMT_OID],
      keyPem: good.leaf.keyPem,
      issuer: good.intermediate,
    });
    expect(reason(outside, good.intermediate, good.root)).toBe('CN_OUTSIDE_DNS_SUFFIX');
    const plain = makeCert({
      cn: 'oobsp.corp.example.test',
      eku: [SERVER_AUTH],
      keyPem: good.leaf.keyPem,
      issuer: good.intermediate,
    });
    expect(reason(plain, good.intermediate, good.root)).toBe('NOT_A_PROVISIONING_CERT');
    expect(reason(good.leaf, good.root)).toBe('CHAIN_BROKEN');
    expect(reason(good.leaf, good.intermediate)).toBe('ROOT_NOT_SELF_SIGNED');
    nvram.hashes.find((h) => !h.isDefault)!.enabled = false;
    expect(reason(good.leaf, good.intermediate, good.root)).toBe('ROOT_NOT_TRUSTED');
    expect(checkProvisioningChain([], nvram, now)).toEqual({ ok: false, reason: 'EMPTY_CHAIN' });
  });
});

describe('weak provisioning chains (AMT SDK "Root certificate hashes": ME 15 H platform, ME 16 all)', () => {
  it('are refused from AMT 15 on and accepted before', async () => {
    const pool = await testKeyPool();
    const rootKey = pool.draw().privateKeyPem;
    const leafKey = pool.draw().privateKeyPem;
    const smallKey = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    const leafOf = (issuer: ReturnType<typeof makeCert>, keyPem = leafKey) =>
      makeCert({ cn: 'oobsp.corp.example.test', eku: [SERVER_AUTH, AMT_OID], keyPem, issuer });
    const sha1Root = makeCert({ cn: 'SHA-1 Root', keyPem: rootKey, ca: true, digest: 'sha1' });
    const goodRoot = makeCert({ cn: 'Good Root', keyPem: rootKey, ca: true });
    const verdict = (amtVersion: string, ...certs: { der: Buffer }[]) => {
      const nvram = createNvram(
        {
          ...deviceProfileSchema.parse({
            amtVersion,
            customHashes: [
              { algorithm: 'sha256', hash: sha256(sha1Root.der) },
              { algorithm: 'sha256', hash: sha256(goodRoot.der) },
            ],
          }),
          uuid: '11111111-2222-4333-8444-555555555555',
          address: '127.20.0.9',
        },
        { keyPem: 'K', certPem: 'C' },
      );
      const r = checkProvisioningChain(
        certs.map((c) => new X509Certificate(c.der)),
        nvram,
        new Date(),
      );
      return r.ok ? 'ok' : r.reason;
    };
    expect(verdict('16.1.25', leafOf(goodRoot), goodRoot)).toBe('ok');
    expect(verdict('16.1.25', leafOf(sha1Root), sha1Root)).toBe('WEAK_CHAIN');
    expect(verdict('15.0.23', leafOf(goodRoot, smallKey), goodRoot)).toBe('WEAK_CHAIN');
    expect(verdict('14.1.67', leafOf(sha1Root), sha1Root)).toBe('ok');
    expect(verdict('11.8.50', leafOf(goodRoot, smallKey), goodRoot)).toBe('ok');
  });
});
