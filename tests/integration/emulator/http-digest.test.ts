import { AMT } from '@device-management-toolkit/wsman-messages';
import { waitFor } from '../../../scripts/lib/process';
import { AmtClient, connect, exchange, parseChallenge, type DigestStyle } from './support/client';
import { testFleet } from './support/fleet';
import { get } from './support/wsman';

/**
 * HTTP framing and digest authentication exactly as AMT does them (reference §1.2–1.3), observed
 * on the raw bytes, and the digest variants of RPS, go-wsman and MeshCentral (issue 3, 9b).
 */
describe('device HTTP port: framing and digest', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const password = 'Adm1n!pass';

  beforeAll(async () => {
    fleet = await testFleet([{ state: 'post', adminPassword: password, amtVersion: '15.0.23', build: '1706' }]);
  });
  afterAll(() => fleet.cleanup());

  const target = () => ({ host: fleet.devices[0]!.address, port: fleet.devices[0]!.httpPort });
  const client = (style: DigestStyle, pw = password) =>
    new AmtClient({ ...target(), username: 'admin', password: pw, style });

  it('answers an unauthenticated request with AMT 401 framing and challenge', async () => {
    const res = await exchange(target(), `POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
    expect(res.status).toBe(401);
    const lines = res.head
      .split('\r\n')
      .slice(1)
      .map((l) => l.slice(0, l.indexOf(':')));
    expect(lines).toEqual(['WWW-Authenticate', 'Content-Type', 'Server', 'Content-Length', 'Connection']);
    const realm = fleet.devices[0]!.nvram().realm;
    expect(res.headers.get('www-authenticate')).toMatch(
      new RegExp(`^Digest realm="${realm}", nonce="[A-Za-z0-9+/]{32}",stale="false",qop="auth"$`),
    );
    expect(realm).toMatch(/^Digest:[0-9A-F]{32}$/);
    expect(res.headers.get('connection')).toBe('close');
    expect(res.headers.get('server')).toBe('Intel(R) Active Management Technology 15.0.23.1706');
    expect(res.body.toString()).toContain(
      'Log on failed. Incorrect user name or password, or user account temporarily locked.',
    );
    // Exactly one space after every colon (MeshCentral slices at colon + 2).
    for (const line of res.head.split('\r\n').slice(1)) expect(line).toMatch(/^[A-Za-z-]+: \S/);
  });

  it.each<DigestStyle>(['rps', 'go', 'mesh'])(
    'accepts %s digest style and reuses the nonce across connections',
    async (style) => {
      const c = client(style);
      for (let i = 0; i < 3; i++) {
        const res = await c.post(new AMT.Messages().GeneralSettings.Get());
        expect(res.status).toBe(200);
        expect(res.chunked).toBe(true);
        expect(res.headers.get('content-type')).toBe('application/soap+xml; charset=UTF-8');
        expect(
          res.head
            .split('\r\n')
            .slice(1)
            .map((l) => l.slice(0, l.indexOf(':'))),
        ).toEqual(['Date', 'Server', 'X-Frame-Options', 'Content-Type', 'Transfer-Encoding']);
        expect(res.xml.Envelope.Body.AMT_GeneralSettings.DigestRealm).toBe(fleet.devices[0]!.nvram().realm);
      }
    },
  );

  it('rejects a wrong password, a foreign realm and a replayed request with 401', async () => {
    const bad = await client('go', 'wrong').post(get('AMT_GeneralSettings'));
    expect(bad.status).toBe(401);

    const c = client('go');
    const first = await exchange(target(), c.frame(get('AMT_GeneralSettings'), null));
    const challenge = parseChallenge(first.headers.get('www-authenticate'));
    (c as unknown as { challenge: unknown }).challenge = {
      ...challenge,
      realm: 'Digest:00000000000000000000000000000000',
    };
    expect(
      (await exchange(target(), c.frame(get('AMT_GeneralSettings'), c.authorization('POST', '/wsman')))).status,
    ).toBe(401);

    (c as unknown as { challenge: unknown; nc: number }).challenge = challenge;
    (c as unknown as { nc: number }).nc = 0;
    const auth = c.authorization('POST', '/wsman');
    expect((await exchange(target(), c.frame(get('AMT_GeneralSettings'), auth))).status).toBe(200);
    expect((await exchange(target(), c.frame(get('AMT_GeneralSettings'), auth))).status).toBe(401);
  });

  it('serves several requests on one keep-alive connection, chunked request bodies included', async () => {
    const c = client('rps');
    await c.post(get('AMT_GeneralSettings'));
    const socket = await connect(target());
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
    });
    for (let i = 0; i < 3; i++) {
      socket.write(c.frame(get('AMT_GeneralSettings'), c.authorization('POST', '/wsman')));
      await waitFor('the response', async () => buf.split('0\r\n\r\n').length > i + 1, 5000, 20);
    }
    socket.destroy();
    expect(buf.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3);
  });

  it('answers wrong methods and unknown paths like a web server, and faults with 400 + Connection: close', async () => {
    expect((await exchange(target(), 'GET /wsman HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(405);
    expect((await exchange(target(), 'POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')).status).toBe(
      404,
    );
    const fault = await client('mesh').post(get('AMT_NoSuchClass'));
    expect(fault.status).toBe(400);
    expect(fault.headers.get('connection')).toBe('close');
    expect(fault.chunked).toBe(true);
    expect(fault.xml.Envelope.Body.Fault.Code.Subcode.Value).toBe('b:DestinationUnreachable');
  });
});
