import { isDirectoryError } from '../../../lib/directory/errors';
import { amtAccountName, amtSpns, parseDomainName, parseHostName } from '../../../lib/directory/names';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isDirectoryError(err) ? err.code : `not a DirectoryError: ${String(err)}`;
  }
}

describe('host names', () => {
  it('normalises a valid FQDN', () => {
    expect(parseHostName('PC1.Corp.Example.Test.')).toEqual({
      fqdn: 'pc1.corp.example.test',
      host: 'pc1',
      suffix: 'corp.example.test',
    });
    expect(parseHostName('pc1')).toEqual({ fqdn: 'pc1', host: 'pc1', suffix: '' });
  });

  it.each([
    'x)(cn=*',
    'a,ou=evil',
    'a,ou=evil.corp.example.test',
    'pc1.corp.example.test)(cn=*',
    '*',
    '',
    'pc 1.x.test',
    '-pc.x.test',
    'pc-.x.test',
    `${'a'.repeat(64)}.x.test`,
    'pc1..x.test',
    'pc\\1.x.test',
    'pc1.x.test\0',
  ])('refuses %j with INVALID_HOST_NAME', (input) => {
    expect(codeOf(() => parseHostName(input))).toBe('INVALID_HOST_NAME');
  });
});

describe('domain names', () => {
  it('tells absent, NetBIOS and DNS names apart', () => {
    expect(parseDomainName(undefined)).toEqual({ kind: 'none' });
    expect(parseDomainName(' ')).toEqual({ kind: 'none' });
    expect(parseDomainName('workgroup')).toEqual({ kind: 'netbios', name: 'WORKGROUP' });
    expect(parseDomainName('Corp.Example.Test')).toEqual({ kind: 'dns', name: 'corp.example.test' });
  });

  it.each(['x)(cn=*', 'a,ou=evil', 'TOOLONGNETBIOSNAME', 'a b.test', 'corp..test'])(
    'refuses %j with INVALID_DOMAIN_NAME',
    (input) => {
      expect(codeOf(() => parseDomainName(input))).toBe('INVALID_DOMAIN_NAME');
    },
  );
});

describe('AMT account names and SPNs', () => {
  it('derives a stable computer account name from the FQDN, case-insensitively', () => {
    const name = amtAccountName('pc1.corp.example.test');
    expect(name).toMatch(/^AMT-[0-9A-F]{11}\$$/);
    expect(amtAccountName('PC1.corp.example.test')).toBe(name);
    expect(amtAccountName('pc2.corp.example.test')).not.toBe(name);
  });

  it('names the spec I4 SPNs', () => {
    expect(amtSpns('PC1.corp.example.test')).toEqual([
      'HTTP/pc1.corp.example.test:16992',
      'HTTP/pc1.corp.example.test:16993',
    ]);
  });
});
