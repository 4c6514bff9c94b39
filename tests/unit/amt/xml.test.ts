import { AmtProtocolError } from '../../../lib/amt/errors';
import { createSoapParser, escapeXml, pathOf, textOf } from '../../../lib/amt/xml';

const parser = createSoapParser(new Set(['Realms']));

describe('escapeXml', () => {
  it('escapes all five special characters, hostile sequences included', () => {
    expect(escapeXml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
    expect(escapeXml(']]><x:Inject/>&amp;')).toBe(']]&gt;&lt;x:Inject/&gt;&amp;amp;');
  });
});

describe('createSoapParser', () => {
  it('strips namespace prefixes, keeps attributes and strings, decodes the predefined and numeric entities once', () => {
    const doc = parser.parse(
      '<a:E xmlns:a="u"><a:S Name="x&amp;y">1 &lt; 2 &amp;amp; &#65;&#x42;</a:S><a:N>007</a:N></a:E>',
      'test',
    );
    expect(textOf(pathOf(doc, 'E', 'S'))).toBe('1 < 2 &amp; AB');
    expect(textOf(pathOf(doc, 'E', 'S', '@_Name'))).toBe('x&y');
    expect(pathOf(doc, 'E', 'N')).toBe('007');
  });

  it('rejects a DTD instead of expanding entities (billion laughs, external entities)', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><E>&lol2;</E>';
    expect(() => parser.parse(laughs, 'test')).toThrow(AmtProtocolError);
    expect(() => parser.parse('<!DOCTYPE E [<!ENTITY x SYSTEM "file:///etc/passwd">]><E>&x;</E>', 'test')).toThrow(
      /DTD/,
    );
  });

  it('leaves an undeclared entity reference as it is', () => {
    expect(textOf(pathOf(parser.parse('<E><S>&xxe;</S></E>', 'test'), 'E', 'S'))).toBe('&xxe;');
  });

  it('reads CDATA as text, including a split "]]>"', () => {
    const doc = parser.parse('<E><S><![CDATA[<a&b>]]]]><![CDATA[>]]></S></E>', 'test');
    expect(textOf(pathOf(doc, 'E', 'S'))).toBe('<a&b>]]>');
  });

  it('returns arrays for multi-valued names and Items children, even with one element', () => {
    const doc = parser.parse('<E><Realms>3</Realms><Items><X><P>1</P></X></Items><Single>1</Single></E>', 'test');
    expect(pathOf(doc, 'E', 'Realms')).toEqual(['3']);
    expect(pathOf(doc, 'E', 'Items', 'X')).toEqual([{ P: '1' }]);
    expect(pathOf(doc, 'E', 'Single')).toBe('1');
  });

  it('rejects what is not well-formed XML', () => {
    expect(() => parser.parse('<html><body>Log on failed</html>', 'test')).toThrow(AmtProtocolError);
  });
});
