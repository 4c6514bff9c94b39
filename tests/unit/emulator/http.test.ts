import { createHash } from 'node:crypto';
import { NonceTable, challenge, parseAuthorization, verifyResponse } from '../../../emulator/http/digest';
import { MAX_BODY_BYTES, RequestParser } from '../../../emulator/http/parser';
import { formatResponse } from '../../../emulator/http/response';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('digest (reference §1.3)', () => {
  const realm = 'Digest:F3EB554784E729164447A89F60B641C5';
  const ha1 = md5(`admin:${realm}:P@ssw0rd`);
  const respond = (nonce: string, nc: string, cnonce: string) =>
    md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${md5('POST:/wsman')}`);

  it('emits the challenge exactly as AMT does', () => {
    expect(challenge(realm, 'abc')).toBe(`Digest realm="${realm}", nonce="abc",stale="false",qop="auth"`);
  });

  it.each([
    [
      'RPS',
      (r: string) =>
        `Digest username="admin",realm="${realm}",nonce="N",uri="/wsman",qop="auth",response="${r}",nc="00000001",cnonce="k2j3h"`,
      '00000001',
      'k2j3h',
    ],
    [
      'go-wsman',
      (r: string) =>
        `Digest username="admin", realm="${realm}", nonce="N", uri="/wsman", response="${r}", qop="auth", nc="00000001", cnonce="a1b2c3"`,
      '00000001',
      'a1b2c3',
    ],
    [
      'MeshCentral',
      (r: string) =>
        `Digest username="admin",realm="${realm}",nonce="N",uri="/wsman",qop="auth",response="${r}",nc="12",cnonce="${'f'.repeat(32)}"`,
      '12',
      'f'.repeat(32),
    ],
    [
      'RFC unquoted',
      (r: string) =>
        `Digest username="admin", realm="${realm}", nonce="N", uri="/wsman", qop=auth, nc=0000000a, cnonce="z", response="${r}"`,
      '0000000a',
      'z',
    ],
  ])('verifies the %s style using the literal nc and cnonce', (_name, header, nc, cnonce) => {
    const creds = parseAuthorization(header(respond('N', nc, cnonce)))!;
    expect(creds).toMatchObject({ username: 'admin', nc, cnonce, qop: 'auth' });
    expect(verifyResponse(creds, 'POST', ha1)).toBe(true);
    expect(verifyResponse(creds, 'POST', md5(`admin:${realm}:wrong`))).toBe(false);
  });

  it('refuses non-digest headers and digest without qop', () => {
    expect(parseAuthorization('Basic YWRtaW46YWRtaW4=')).toBeNull();
    const noQop = parseAuthorization(
      `Digest username="admin", realm="${realm}", nonce="N", uri="/wsman", response="x"`,
    )!;
    expect(verifyResponse(noQop, 'POST', ha1)).toBe(false);
  });

  it('keeps nonces across uses, refuses replays, unknown and expired nonces', () => {
    let now = 0;
    const table = new NonceTable(() => now);
    const nonce = table.issue();
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{32}$/);
    expect(table.use(nonce, 'c', '1')).toBe(true);
    expect(table.use(nonce, 'c', '2')).toBe(true);
    expect(table.use(nonce, 'c', '2')).toBe(false);
    expect(table.use('unknown', 'c', '1')).toBe(false);
    now = 11 * 60 * 1000;
    expect(table.use(nonce, 'c', '3')).toBe(false);
  });
});

describe('request parser', () => {
  const parse = (...chunks: string[]) => {
    const p = new RequestParser();
    for (const c of chunks) p.push(Buffer.from(c, 'latin1'));
    return p;
  };

  it('reads Content-Length and chunked bodies, split anywhere, and pipelined requests', () => {
    const p = parse(
      'POST /wsman HTTP/1.1\r\nHost: a\r\nContent-Le',
      'ngth: 3\r\n\r\nab',
      'cPOST /wsman HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n1;ext\r\nz\r\n0\r\n\r\n',
    );
    const first = p.next();
    expect(first.kind === 'request' && first.request.body.toString()).toBe('abc');
    const second = p.next();
    expect(second.kind === 'request' && second.request.body.toString()).toBe('xyz');
    expect(p.next().kind).toBe('incomplete');
  });

  it('refuses oversized, malformed and unsupported input with the right status', () => {
    expect(parse(`POST /wsman HTTP/1.1\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`).next()).toEqual({
      kind: 'error',
      status: 413,
    });
    const big = parse('POST /wsman HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n');
    big.push(Buffer.from(`40001\r\n`));
    big.push(Buffer.alloc(0x40001 + 2, 'a'));
    expect(big.next()).toEqual({ kind: 'error', status: 413 });
    expect(parse('GARBAGE\r\n\r\n').next()).toEqual({ kind: 'error', status: 400 });
    expect(parse('POST /wsman HTTP/2.0\r\n\r\n').next()).toEqual({ kind: 'error', status: 505 });
    expect(parse('POST /wsman HTTP/1.1\r\nBad Header\r\n\r\n').next()).toEqual({ kind: 'error', status: 400 });
    expect(parse('POST /wsman HTTP/1.1\r\nContent-Length: -1\r\n\r\n').next()).toEqual({ kind: 'error', status: 400 });
    expect(parse('POST /wsman HTTP/1.1\r\nX: ' + 'a'.repeat(20_000)).next()).toEqual({ kind: 'error', status: 431 });
  });
});

describe('response framing', () => {
  it('writes one space after colons and a terminated chunked body', () => {
    const bytes = formatResponse({ status: 200, headers: [['Server', 'S']], body: 'hello', chunked: true }).toString();
    expect(bytes).toBe('HTTP/1.1 200 OK\r\nServer: S\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    const closed = formatResponse({
      status: 401,
      headers: [],
      body: 'x',
      chunked: false,
      after: [['Connection', 'close']],
    }).toString();
    expect(closed).toBe('HTTP/1.1 401 Unauthorized\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx');
  });
});
