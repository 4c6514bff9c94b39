import { AmtAuthError, AmtError } from '../../../lib/amt/errors';
import { AmtHttpClient, type AmtCredential } from '../../../lib/amt/http-client';
import type { AmtTimeouts } from '../../../lib/amt/transport';
import { AMT_REALM, startFakeAmt, type FakeAmt } from './support/fake-amt';

const timeouts: AmtTimeouts = { connectMs: 10_000, responseMs: 10_000 };
const request = { path: '/wsman', headers: { 'Content-Type': 'application/soap+xml; charset=utf-8' }, body: '<x/>' };
const SECRET = 'Corr3ct-H0rse!';

const credential = (ref: string, password: string, username = 'admin'): AmtCredential => ({ username, password, ref });

let amt: FakeAmt;
beforeEach(async () => {
  amt = await startFakeAmt({ users: { admin: SECRET }, handler: () => ({ body: '<ok/>' }) });
});
afterEach(() => amt.close());

const client = (credentials: AmtCredential[]): AmtHttpClient =>
  new AmtHttpClient({ host: '127.0.0.1', port: amt.port }, timeouts, credentials);

describe('Digest login', () => {
  it('sends the first request without credentials, answers the challenge, then reuses the nonce with a growing nc', async () => {
    const http = client([credential('current', SECRET)]);
    await http.post(request);
    await http.post(request);
    await http.post(request);
    expect(amt.received.map((r) => r.auth?.['nc'])).toEqual([undefined, '00000001', '00000002', '00000003']);
    const [, first, second] = amt.received;
    expect(first?.auth).toMatchObject({ username: 'admin', realm: AMT_REALM, uri: '/wsman', qop: 'auth' });
    expect(second?.auth?.['nonce']).toBe(first?.auth?.['nonce']);
    expect(http.credentialRef).toBe('current');
    expect(http.digestRealm).toBe(AMT_REALM);
    expect(http.serverHeader).toBe('Intel(R) Active Management Technology 15.0.23.1706');
    // The 401 closed the first connection; the authenticated requests shared the second.
    expect(amt.connections).toBe(2);
  });

  it('answers a stale challenge with the same credential and a new nonce', async () => {
    const http = client([credential('wrong', 'nope'), credential('current', SECRET)]);
    await http.post(request);
    amt.expireNonces();
    await http.post(request);
    const last = amt.received.slice(-2);
    expect(last.map((r) => r.auth?.['nc'])).toEqual(['00000002', '00000001']);
    expect(last[1]?.auth?.['nonce']).not.toBe(last[0]?.auth?.['nonce']);
    expect(http.credentialRef).toBe('current');
  });

  it('does not count a refusal against an old nonce (stale="false") as a wrong password', async () => {
    const http = client([credential('current', SECRET), credential('other', 'x')]);
    await http.post(request);
    amt.forgetNonces();
    await http.post(request);
    expect(amt.handled).toHaveLength(2);
    expect(http.credentialRef).toBe('current');
    expect(amt.received.filter((r) => r.auth?.['username'] === 'admin')).toHaveLength(3);
  });

  it('serialises concurrent requests so the nonce count grows in sending order', async () => {
    const http = client([credential('current', SECRET)]);
    await http.post(request);
    await Promise.all([http.post(request), http.post(request), http.post(request)]);
    expect(amt.handled.map((r) => r.auth?.['nc'])).toEqual(['00000001', '00000002', '00000003', '00000004']);
  });
});

describe('credential fallback (OOB6)', () => {
  it('tries the candidates in order and reports the ref that worked', async () => {
    const http = client([
      credential('pending', 'not-yet', 'pending-user'),
      credential('retired', 'old-one', 'retired-user'),
      credential('provisioning', SECRET),
      credential('never-tried', SECRET, 'never-user'),
    ]);
    await http.post(request);
    expect(amt.received.map((r) => r.auth?.['username'])).toEqual([undefined, 'pending-user', 'retired-user', 'admin']);
    expect(http.credentialRef).toBe('provisioning');
    expect(amt.handled).toHaveLength(1);
  });

  it('fails with AUTH_FAILED naming every ref tried, and never the passwords', async () => {
    const http = client([credential('pending', 'Pending-Secret-1'), credential('retired', 'Retired-Secret-2')]);
    const error = await http.post(request).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(AmtAuthError);
    expect(error).toMatchObject({ code: 'AUTH_FAILED', outcome: 'rejected', triedRefs: ['pending', 'retired'] });
    const everything = `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack ?? ''}`;
    expect(everything).not.toMatch(/Pending-Secret-1|Retired-Secret-2/);
    expect(amt.handled).toHaveLength(0);
  });

  it('fails with AUTH_FAILED when no credentials are configured and the device wants some', async () => {
    await expect(client([]).post(request)).rejects.toMatchObject({ code: 'AUTH_FAILED', triedRefs: [] });
  });

  it('logs in with a new password at once after the device changed it', async () => {
    const http = client([credential('current', SECRET)]);
    await http.post(request);
    amt.setPassword('admin', 'N3w-Password!');
    http.preferCredential(credential('pending', 'N3w-Password!'));
    await http.post(request);
    expect(http.credentialRef).toBe('pending');
    expect(amt.received).toHaveLength(3);
  });

  it('falls back to the old password while the device does not use the new one yet', async () => {
    const http = client([credential('current', SECRET)]);
    await http.post(request);
    http.preferCredential(credential('pending', 'N3w-Password!'));
    await http.post(request);
    expect(http.credentialRef).toBe('current');
    expect(amt.handled).toHaveLength(2);
  });
});

describe('authentication schemes', () => {
  it('reports a device without a Digest challenge as AUTH_SCHEME_UNSUPPORTED', async () => {
    const negotiateOnly = await startFakeAmt({
      handler: () => ({ status: 401, headers: { 'WWW-Authenticate': 'Negotiate' } }),
    });
    try {
      const http = new AmtHttpClient({ host: '127.0.0.1', port: negotiateOnly.port }, timeouts, [credential('a', 'b')]);
      const error = await http.post(request).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(AmtError);
      expect(error).toMatchObject({ code: 'AUTH_SCHEME_UNSUPPORTED', outcome: 'rejected' });
    } finally {
      await negotiateOnly.close();
    }
  });
});
