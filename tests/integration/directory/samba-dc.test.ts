import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isSambaDcHealthy, provisionSambaDc, sambaDc, startSambaDc } from '../../../scripts/samba-dc';
import { TEST_DC } from '../../support/directory';

/**
 * The dev/test DC scripts against the DC global-setup started: provisioning and starting again reuse
 * what is there (and write nothing to the directory), the DC listens on its own address only, and
 * its Administrator password stays in its 0600 file.
 */
describe('the Samba AD DC scripts', () => {
  it('reuse a provisioned domain and a running DC', async () => {
    expect(await provisionSambaDc(TEST_DC)).toEqual({ provisioned: false, ms: 0 });
    const running = await startSambaDc(TEST_DC);
    expect(running.reused).toBe(true);
    expect(running.config).toMatchObject({
      url: `ldaps://${TEST_DC.ip}`,
      caFile: TEST_DC.caFile,
      tlsServerName: 'amtflow-dc.corp.example.test',
      domain: 'corp.example.test',
    });
  });

  it('refuse to reuse a directory provisioned for another domain', async () => {
    const other = sambaDc({ stateDir: path.dirname(TEST_DC.dir), ip: TEST_DC.ip, domain: 'other.example.test' });
    await expect(provisionSambaDc(other)).rejects.toThrow(`remove ${TEST_DC.dir}`);
  });

  it('run the slim DC on its own loopback address, with its own configuration', async () => {
    const smbConf = readFileSync(TEST_DC.smbConf, 'utf8');
    expect(smbConf).toMatch(/server services = ldap, kdc/);
    expect(smbConf).toMatch(new RegExp(`interfaces = ${TEST_DC.ip.replace(/\./g, '\\.')}\\n`));
    expect(smbConf).toMatch(/bind interfaces only = Yes/);
    expect(smbConf).not.toMatch(/\/etc\/samba|\/var\/lib\/samba|\/var\/log\/samba/);
    expect(await isSambaDcHealthy(TEST_DC)).toBe(true);
    expect(await isSambaDcHealthy({ ...TEST_DC, ip: '127.0.0.1' })).toBe(false);
  });

  it('keep the Administrator password in a 0600 file and out of logs', () => {
    expect(statSync(TEST_DC.adminPasswordFile).mode & 0o777).toBe(0o600);
    const password = readFileSync(TEST_DC.adminPasswordFile, 'utf8');
    expect(password.length).toBeGreaterThanOrEqual(32);
    for (const file of [TEST_DC.logFile, TEST_DC.markerFile, TEST_DC.smbConf]) {
      expect(readFileSync(file, 'utf8')).not.toContain(password);
    }
  });
});
