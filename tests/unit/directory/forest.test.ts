import { isDirectoryError } from '../../../lib/directory/errors';
import { buildForest, ownDomain, placeComputer } from '../../../lib/directory/forest';
import { parseHostName } from '../../../lib/directory/names';

// A forest of two trees: corp.example.test (with a child emea.corp.example.test) and, added later,
// northwindtraders.test. This DC holds corp.example.test only.
const forest = buildForest(
  'DC=corp,DC=example,DC=test',
  [
    { dn: 'DC=corp,DC=example,DC=test', dnsName: 'corp.example.test', netbiosName: 'corp' },
    { dn: 'DC=emea,DC=corp,DC=example,DC=test', dnsName: 'EMEA.corp.example.test', netbiosName: 'EMEA' },
    { dn: 'DC=northwindtraders,DC=test', dnsName: 'northwindtraders.test', netbiosName: 'NWT' },
  ],
  ['DC=corp,DC=example,DC=test', 'CN=Configuration,DC=corp,DC=example,DC=test'],
);
const own = ownDomain(forest, 'corp.example.test');

function place(fqdn: string, domain?: string) {
  return placeComputer(forest, own, parseHostName(fqdn), domain);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isDirectoryError(err) ? err.code : `not a DirectoryError: ${String(err)}`;
  }
}

describe('forest discovery', () => {
  it('groups domains into trees by DNS and marks the ones this DC holds', () => {
    expect(forest.rootDomain).toBe('corp.example.test');
    expect(forest.domains.map((d) => [d.dnsName, d.netbiosName, d.tree, d.hosted])).toEqual([
      ['corp.example.test', 'CORP', 'corp.example.test', true],
      ['emea.corp.example.test', 'EMEA', 'corp.example.test', false],
      ['northwindtraders.test', 'NWT', 'northwindtraders.test', false],
    ]);
  });

  it('refuses a configured domain outside the forest', () => {
    expect(codeOf(() => ownDomain(forest, 'fabrikam.test'))).toBe('DIRECTORY_CONFIG_INVALID');
  });
});

describe('spec P4 placement', () => {
  it('accepts computers of amtflow’s tree, by DNS or NetBIOS domain name', () => {
    expect(place('pc1.corp.example.test', 'corp.example.test').dnsName).toBe('corp.example.test');
    expect(place('pc1.corp.example.test', 'CORP').dnsName).toBe('corp.example.test');
    expect(place('pc2.emea.corp.example.test', 'emea.corp.example.test').dnsName).toBe('emea.corp.example.test');
    // A DNS suffix other than the domain's but inside the tree is contiguous.
    expect(place('pc3.corp.example.test', 'EMEA').dnsName).toBe('emea.corp.example.test');
  });

  it.each([
    ['no domain', 'pc1.corp.example.test', undefined, 'WORKGROUP_COMPUTER'],
    ['a workgroup name', 'pc1.corp.example.test', 'WORKGROUP', 'WORKGROUP_COMPUTER'],
    ['another forest', 'pc1.fabrikam.test', 'fabrikam.test', 'FOREIGN_FOREST'],
    [
      'another tree of the forest',
      'computer1.northwindtraders.test',
      'northwindtraders.test',
      'NON_CONTIGUOUS_NAMESPACE',
    ],
    ['another tree by NetBIOS name', 'computer1.northwindtraders.test', 'NWT', 'NON_CONTIGUOUS_NAMESPACE'],
    [
      'a DNS suffix outside the tree',
      'computer1.northwindtraders.test',
      'corp.example.test',
      'NON_CONTIGUOUS_NAMESPACE',
    ],
    ['a single-label host name', 'pc1', 'corp.example.test', 'INVALID_HOST_NAME'],
    ['a hostile domain', 'pc1.corp.example.test', 'x)(cn=*', 'INVALID_DOMAIN_NAME'],
  ])('refuses %s', (_, fqdn, domain, code) => {
    expect(codeOf(() => place(fqdn, domain))).toBe(code);
  });

  it('says what to do in the message', () => {
    try {
      place('computer1.northwindtraders.test', 'northwindtraders.test');
      throw new Error('not refused');
    } catch (err) {
      expect((err as Error).message).toContain('northwindtraders.test tree');
      expect((err as Error).message).toContain('spec P4');
    }
  });
});
