import { detectInterface } from '../../../lib/amt/setup';
import { openAmtSession, probeAmt, versionFromServerHeader } from '../../../lib/amt/session';
import { AMT_REALM, startFakeAmt } from './support/fake-amt';

const timeouts = { connectMs: 10_000, responseMs: 10_000 };

describe('interface detection', () => {
  it.each([
    ['3.2.1', 'eoi'],
    ['5.2.70', 'eoi'],
    ['6.0.0', 'wsman'],
    ['11.8.50', 'wsman'],
  ])('AMT %s speaks %s', (version, iface) => {
    expect(detectInterface(version)).toBe(iface);
  });

  it('refuses what is not a version', () => {
    expect(() => detectInterface('unknown')).toThrow(TypeError);
  });

  it('reads the version from the Server header', () => {
    expect(versionFromServerHeader('Intel(R) Active Management Technology 15.0.23.1706')).toBe('15.0.23.1706');
    expect(versionFromServerHeader('Apache')).toBeUndefined();
  });
});

describe('probeAmt', () => {
  it.each([
    ['Intel(R) Active Management Technology 15.0.23.1706', '15.0.23.1706', 'wsman'],
    ['Intel(R) Active Management Technology 3.2.1', '3.2.1', 'eoi'],
  ])('reads version, realm and interface from an unauthenticated request (%s)', async (server, version, iface) => {
    const amt = await startFakeAmt({ users: { admin: 'x' }, server, handler: () => ({}) });
    try {
      expect(await probeAmt({ host: '127.0.0.1', port: amt.port }, timeouts)).toEqual({
        status: 401,
        version,
        digestRealm: AMT_REALM,
        interface: iface,
      });
      expect(amt.received[0]?.auth).toBeUndefined();
    } finally {
      await amt.close();
    }
  });
});

describe('openAmtSession', () => {
  it('does nothing on the network until the first call and refuses an IP as TLS server name', async () => {
    const amt = await startFakeAmt({ users: { admin: 'x' }, handler: () => ({}) });
    try {
      const session = openAmtSession({ host: '127.0.0.1', port: amt.port, credentials: [], timeouts });
      expect(session.target).toBe(`http://127.0.0.1:${amt.port}`);
      expect(session.credentialRef).toBeUndefined();
      expect(amt.received).toHaveLength(0);
    } finally {
      await amt.close();
    }
    expect(() =>
      openAmtSession({
        host: '10.1.1.1',
        tls: { mode: 'verified', caPem: 'x', serverName: '10.1.1.1' },
        credentials: [],
        timeouts,
      }),
    ).toThrow(TypeError);
  });
});
