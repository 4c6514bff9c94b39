import { PkiError } from '../../../lib/pki/errors';
import { isInNamespace, normalizeDeviceUuid, normalizeFqdn } from '../../../lib/pki/names';

describe('device host names for subjects and SANs', () => {
  it('accepts fully qualified names and lower-cases them', () => {
    expect(normalizeFqdn('AMT1.Corp.Example.TEST')).toBe('amt1.corp.example.test');
    expect(normalizeFqdn('a-1.b2.example')).toBe('a-1.b2.example');
  });

  it.each([
    'x)(cn=*',
    'a,ou=evil.corp.example.test',
    'amt1.corp.example.test,CN=other',
    '*.corp.example.test',
    'single-label',
    'trailing.dot.',
    '-lead.example.test',
    'space host.example.test',
    `${'a'.repeat(64)}.example.test`,
    '',
  ])('refuses %j with INVALID_FQDN, naming the value', (name) => {
    expect(() => normalizeFqdn(name)).toThrow(expect.objectContaining({ code: 'INVALID_FQDN' }));
    try {
      normalizeFqdn(name, 'device FQDN');
    } catch (err) {
      expect(err).toBeInstanceOf(PkiError);
      expect((err as Error).message).toContain(JSON.stringify(name));
    }
  });

  it('places a name inside a namespace only on a label boundary', () => {
    expect(isInNamespace('provisionserver.corp.example.test', 'corp.example.test')).toBe(true);
    expect(isInNamespace('corp.example.test', 'Corp.Example.Test')).toBe(true);
    expect(isInNamespace('evilcorp.example.test', 'corp.example.test')).toBe(false);
    expect(isInNamespace('computer1.northwindtraders.com', 'contoso.com')).toBe(false);
  });

  it('stores device UUIDs lower-case and refuses anything else', () => {
    expect(normalizeDeviceUuid('8F0E2C1A-0B6D-4F47-9A0E-3C1D2B4A5E6F')).toBe('8f0e2c1a-0b6d-4f47-9a0e-3c1d2b4a5e6f');
    expect(() => normalizeDeviceUuid('not-a-uuid')).toThrow(expect.objectContaining({ code: 'INVALID_DEVICE_UUID' }));
  });
});
