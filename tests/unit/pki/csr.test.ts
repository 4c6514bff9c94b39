import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { verifyCsr } from '../../../lib/pki/csr';
import { opensslCsr, rsaKey } from './fixtures';

const key = rsaKey(1024);
const csrPem = opensslCsr(key);
const der = Buffer.from(forge.pem.decode(csrPem)[0]?.body ?? '', 'binary');
const spkiSha256 = createHash('sha256')
  .update(createPublicKey(key).export({ type: 'spki', format: 'der' }))
  .digest('hex');

describe('PKCS#10 requests', () => {
  it('yields only the public key of a request whose signature verifies (PEM, base64 DER as AMT sends, DER)', () => {
    for (const input of [csrPem, der.toString('base64'), der]) {
      const csr = verifyCsr(input);
      expect(csr.keyId).toBe(spkiSha256);
      expect(forge.pki.publicKeyToPem(csr.publicKey)).toBe(
        createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString().replace(/\n/g, '\r\n'),
      );
      expect(Object.keys(csr).sort()).toEqual(['keyId', 'publicKey']);
    }
  });

  it('accepts SHA-1 proof of possession from older firmware', () => {
    expect(verifyCsr(opensslCsr(key, 'sha1')).keyId).toBe(spkiSha256);
  });

  it('refuses a request whose signature does not match its content', () => {
    const badSignature = Buffer.from(der);
    badSignature[badSignature.length - 1] = (badSignature[badSignature.length - 1] as number) ^ 0xff;
    expect(() => verifyCsr(badSignature)).toThrow(expect.objectContaining({ code: 'CSR_SIGNATURE_INVALID' }));
    // Another subject spliced into a signed request (same length, so the structure stays valid).
    const spliced = Buffer.from(der.toString('latin1').replace('evil.attacker', 'good.attacker'), 'latin1');
    expect(() => verifyCsr(spliced)).toThrow(expect.objectContaining({ code: 'CSR_SIGNATURE_INVALID' }));
  });

  it('refuses MD5 signatures', () => {
    expect(() => verifyCsr(opensslCsr(key, 'md5'))).toThrow(expect.objectContaining({ code: 'CSR_INVALID' }));
  });

  it('refuses keys AMT cannot hold: not RSA, or over 2048 bits', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    expect(() => verifyCsr(opensslCsr(ec))).toThrow(expect.objectContaining({ code: 'KEY_UNSUPPORTED' }));
    expect(() => verifyCsr(opensslCsr(rsaKey(2056)))).toThrow(expect.objectContaining({ code: 'KEY_TOO_LARGE' }));
  });

  it.each([
    ['text that is not a request', 'hello world!'],
    ['a PEM block of another type', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'],
    ['bytes that are not DER', Buffer.from('not der')],
  ])('refuses %s with CSR_INVALID', (_what, input) => {
    expect(() => verifyCsr(input)).toThrow(expect.objectContaining({ code: 'CSR_INVALID' }));
  });
});
