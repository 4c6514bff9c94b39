import { escapeFilter } from 'ldapts';
import { childDn, escapeDnValue, isWithinDn, sameDn, splitDn, unescapeDnValue } from '../../../lib/directory/dn';

describe('RFC 4514 DN value escaping', () => {
  it.each([
    ['plain', 'pc1', 'pc1'],
    ['comma and equals cannot start a new RDN', 'a,ou=evil', 'a\\,ou\\=evil'],
    ['filter syntax is an ordinary value in a DN', 'x)(cn=*', 'x)(cn\\=*'],
    ['plus, semicolon, angle brackets, quote', 'a+b;c<d>e"f', 'a\\+b\\;c\\<d\\>e\\"f'],
    ['backslash', 'a\\b', 'a\\\\b'],
    ['leading hash', '#x', '\\#x'],
    ['hash inside stays', 'a#b', 'a#b'],
    ['leading and trailing space', ' a ', '\\ a\\ '],
    ['inner space stays', 'a b', 'a b'],
    ['NUL and line breaks as hex pairs', 'a\0b\nc', 'a\\00b\\0ac'],
    ['non-ASCII stays UTF-8', 'Müller', 'Müller'],
  ])('%s', (_, input, escaped) => {
    expect(escapeDnValue(input)).toBe(escaped);
  });

  it('keeps a hostile value inside one RDN', () => {
    const dn = childDn('CN', 'a,ou=evil', 'OU=AMT Devices,DC=corp,DC=example,DC=test');
    expect(splitDn(dn)).toEqual(['CN=a\\,ou\\=evil', 'OU=AMT Devices', 'DC=corp', 'DC=example', 'DC=test']);
  });
});

describe('DN parsing', () => {
  it('unescapes character and hex-pair escapes, hex pairs as UTF-8 bytes', () => {
    expect(unescapeDnValue('a\\,ou\\3Devil')).toBe('a,ou=evil');
    expect(unescapeDnValue('M\\C3\\BCller\\ ')).toBe('Müller ');
    expect(unescapeDnValue('\\#x\\00')).toBe('#x\0');
  });

  it.each(['pc1', 'a,ou=evil', 'x)(cn=*', ' #lead and trail ', 'a\\b\0c', 'Müller 😀'])('round-trips %j', (value) => {
    expect(unescapeDnValue(escapeDnValue(value))).toBe(value);
  });

  it('splits at unescaped commas and drops spaces around them, not escaped ones', () => {
    expect(splitDn('CN=a\\,b , OU=AMT Devices,DC=x')).toEqual(['CN=a\\,b', 'OU=AMT Devices', 'DC=x']);
    expect(splitDn('CN=a\\ ,DC=x')).toEqual(['CN=a\\ ', 'DC=x']);
    expect(splitDn('')).toEqual([]);
  });
});

describe('DN comparison', () => {
  it('sees through different spellings of the same value', () => {
    expect(sameDn('CN=a\\,ou\\=evil,CN=Users,DC=corp', 'cn=A\\2Cou\\3Devil, cn=users,dc=CORP')).toBe(true);
    expect(sameDn('CN=a\\,b,DC=corp', 'CN=a,CN=b,DC=corp')).toBe(false);
  });

  const base = 'OU=AMT Devices,DC=corp,DC=example,DC=test';

  it('compares case-insensitively', () => {
    expect(sameDn('CN=PC1,CN=Computers,DC=corp', 'cn=pc1,cn=computers,dc=CORP')).toBe(true);
    expect(sameDn('CN=PC1,DC=corp', 'CN=PC2,DC=corp')).toBe(false);
  });

  it('tells containment by RDN, so an escaped comma is no boundary', () => {
    expect(isWithinDn(`CN=pc1,${base}`, base)).toBe(true);
    expect(isWithinDn(base, base)).toBe(true);
    expect(isWithinDn(`CN=x\\,OU=AMT Devices,DC=corp,DC=example,DC=test`, base)).toBe(false);
    expect(isWithinDn('CN=pc1,CN=Computers,DC=corp,DC=example,DC=test', base)).toBe(false);
    expect(isWithinDn('DC=example,DC=test', base)).toBe(false);
  });
});

describe('RFC 4515 filter value escaping (ldapts escapeFilter)', () => {
  it('turns filter syntax in a value into escaped bytes', () => {
    expect(escapeFilter`(sAMAccountName=${'x)(cn=*'})`).toBe('(sAMAccountName=x\\29\\28cn=\\2a)');
    expect(escapeFilter`(cn=${'a\\b\0'})`).toBe('(cn=a\\5cb\\00)');
  });

  it('leaves DN punctuation alone, which is not filter syntax', () => {
    expect(escapeFilter`(member=${'CN=a\\,b,DC=x'})`).toBe('(member=CN=a\\5c,b,DC=x)');
  });
});
