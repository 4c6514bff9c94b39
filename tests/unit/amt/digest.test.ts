import { createHash } from 'node:crypto';
import { DigestSession, digestHa1, digestResponse, parseDigestChallenge } from '../../../lib/amt/digest';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('parseDigestChallenge', () => {
  it('reads the challenge real AMT sends (quoted stale and qop, no algorithm, no opaque)', () => {
    const challenge = parseDigestChallenge([
      'Digest realm="Digest:F3EB554784E729164447A89F60B641C5", nonce="dxNzCQ9JBAAAAAAAd2N7c6tYmUl0FFzQ",stale="false",qop="auth"',
    ]);
    expect(challenge).toEqual({
      realm: 'Digest:F3EB554784E729164447A89F60B641C5',
      nonce: 'dxNzCQ9JBAAAAAAAd2N7c6tYmUl0FFzQ',
      qop: 'auth',
      opaque: undefined,
      stale: false,
    });
  });

  it('picks auth from a qop list, keeps commas inside quotes, reads stale=true and opaque', () => {
    const challenge = parseDigestChallenge([
      'Negotiate',
      'Digest realm="a, b", nonce="n1", opaque="o", qop="auth-int, auth", stale=TRUE, algorithm=MD5',
    ]);
    expect(challenge).toMatchObject({ realm: 'a, b', nonce: 'n1', opaque: 'o', qop: 'auth', stale: true });
  });

  it('accepts an RFC 2069 challenge without qop', () => {
    expect(parseDigestChallenge(['Digest realm="r", nonce="n"'])?.qop).toBeUndefined();
  });

  it('refuses what it cannot answer: MD5-sess, auth-int only, Basic, a missing nonce', () => {
    expect(parseDigestChallenge(['Digest realm="r", nonce="n", algorithm=MD5-sess'])).toBeUndefined();
    expect(parseDigestChallenge(['Digest realm="r", nonce="n", qop="auth-int"'])).toBeUndefined();
    expect(parseDigestChallenge(['Basic realm="r"'])).toBeUndefined();
    expect(parseDigestChallenge(['Digest realm="r"'])).toBeUndefined();
  });
});

describe('digestResponse', () => {
  it('matches the RFC 2617 example', () => {
    expect(
      digestResponse({
        username: 'Mufasa',
        password: 'Circle Of Life',
        realm: 'testrealm@host.com',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        nc: '00000001',
        cnonce: '0a4f113b',
        qop: 'auth',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  // The three client styles of protocol reference §1.3: the response hashes the nc exactly as sent.
  it.each([
    ['RPS (8 hex, base36 cnonce)', '00000001', 'k3j9x0v2'],
    ['go-wsman (%08x, 6-hex cnonce)', '0000000a', '1f2e3d'],
    ['MeshCentral (decimal, 32-hex cnonce)', '10', '0123456789abcdef0123456789abcdef'],
  ])('hashes the literal nonce count of %s', (_style, nc, cnonce) => {
    const input = {
      username: 'admin',
      password: 'P@ssw0rd',
      realm: 'Digest:F3EB554784E729164447A89F60B641C5',
      method: 'POST',
      uri: '/wsman',
      nonce: 'dxNzCQ9JBAAAAAAAd2N7c6tYmUl0FFzQ',
      nc,
      cnonce,
      qop: 'auth' as const,
    };
    const ha1 = md5(`${input.username}:${input.realm}:${input.password}`);
    const ha2 = md5('POST:/wsman');
    expect(digestResponse(input)).toBe(md5(`${ha1}:${input.nonce}:${nc}:${cnonce}:auth:${ha2}`));
  });

  it('uses MD5(HA1:nonce:HA2) without qop', () => {
    const ha1 = md5('u:r:p');
    expect(
      digestResponse({
        username: 'u',
        password: 'p',
        realm: 'r',
        method: 'POST',
        uri: '/x',
        nonce: 'n',
        nc: '',
        cnonce: '',
        qop: undefined,
      }),
    ).toBe(md5(`${ha1}:n:${md5('POST:/x')}`));
  });

  it('HA1 is the raw MD5 AMT wants Base64-encoded as DigestPassword', () => {
    expect(digestHa1('admin', 'Digest:ABC', 'pw').toString('hex')).toBe(md5('admin:Digest:ABC:pw'));
  });
});

describe('DigestSession', () => {
  it('quotes every value and counts nonce uses in 8 hex digits', () => {
    const session = new DigestSession({ realm: 'R', nonce: 'N', qop: 'auth', opaque: undefined, stale: false });
    const first = session.authorization('admin', 'pw', 'POST', '/wsman');
    const second = session.authorization('admin', 'pw', 'POST', '/wsman');
    expect(first).toMatch(
      /^Digest username="admin", realm="R", nonce="N", uri="\/wsman", response="[0-9a-f]{32}", qop="auth", nc="00000001", cnonce="[0-9a-f]{32}"$/,
    );
    expect(second).toContain('nc="00000002"');
    expect(first).not.toContain('pw');
  });

  it('escapes quotes and backslashes in the username', () => {
    const session = new DigestSession({ realm: 'R', nonce: 'N', qop: undefined, opaque: 'O', stale: false });
    expect(session.authorization('a"b\\c', 'pw', 'POST', '/wsman')).toMatch(
      /^Digest username="a\\"b\\\\c", .*opaque="O"$/,
    );
  });
});
