import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { buildCodecServer } from '../../../api/codec-server';
import { codecServerToken } from '../../../api/tokens';
import { EncryptionCodec, deriveCodecKey } from '../../../runtime/payload-codec';

describe('payload codec', () => {
  const kek = randomBytes(32);
  const codec = new EncryptionCodec(deriveCodecKey(kek));

  it('encrypts payloads so their content is not readable, and decodes them back', async () => {
    const payload = defaultPayloadConverter.toPayload({ hostName: 'amt-0001', note: 'visible only after decode' });
    const [encoded] = await codec.encode([payload]);
    expect(Buffer.from(encoded!.data!).toString('latin1')).not.toContain('amt-0001');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({
      hostName: 'amt-0001',
      note: 'visible only after decode',
    });
  });

  it('passes unencrypted payloads through, and refuses a payload of another key', async () => {
    const plain = defaultPayloadConverter.toPayload('plain');
    expect(await codec.decode([plain])).toEqual([plain]);
    const [foreign] = await new EncryptionCodec(randomBytes(32)).encode([plain]);
    await expect(codec.decode([foreign!])).rejects.toThrow(/encrypted with codec key/);
  });
});

describe('codec server', () => {
  const kek = randomBytes(32);
  const codec = new EncryptionCodec(deriveCodecKey(kek));
  const token = codecServerToken(kek);

  async function encodedBody() {
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload({ step: 'OOB8.2' })]);
    return {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(encoded!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
          ),
          data: Buffer.from(encoded!.data!).toString('base64'),
        },
      ],
    };
  }

  let app: Awaited<ReturnType<typeof buildCodecServer>>;
  let base: string;
  beforeAll(async () => {
    app = await buildCodecServer({ codec, token, allowedOrigins: ['http://127.0.0.1:8233'] });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => app?.close());

  const post = async (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(await encodedBody()),
    });

  it('refuses to decode without the token', async () => {
    expect((await post('/decode')).status).toBe(401);
    expect((await post('/decode', { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post('/nope/decode')).status).toBe(401);
  });

  it('decodes with the token in the header or the path, for the Web UI origin', async () => {
    for (const res of [await post('/decode', { authorization: `Bearer ${token}` }), await post(`/${token}/decode`)]) {
      expect(res.status).toBe(200);
      const [payload] = ((await res.json()) as { payloads: Array<{ data: string }> }).payloads;
      expect(Buffer.from(payload!.data, 'base64').toString()).toBe(JSON.stringify({ step: 'OOB8.2' }));
    }
    const preflight = await fetch(`${base}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:8233',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-namespace,content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-namespace');
  });
});
