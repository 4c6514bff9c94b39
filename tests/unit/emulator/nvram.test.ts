import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { completeProvisioning, createNvram, ha1, unprovision } from '../../../emulator/device/nvram';
import { deviceProfileSchema } from '../../../emulator/device/profile';
import { NvramWriter, loadNvram, nvramPath } from '../../../emulator/device/store';
import { parseAmtVersion, isSupportedVersion, versionAtLeast } from '../../../emulator/device/version';
import { EmulatorError } from '../../../emulator/errors';

const identity = { keyPem: 'K', certPem: 'C' };
const nvramFor = (input: Record<string, unknown>) =>
  createNvram(
    { ...deviceProfileSchema.parse(input), uuid: '11111111-2222-4333-8444-555555555555', address: '127.20.0.7' },
    identity,
  );

describe('device model', () => {
  it('knows the modelled versions', () => {
    expect(isSupportedVersion('3.2.1')).toBe(true);
    expect(isSupportedVersion('3.2.0')).toBe(false);
    expect(isSupportedVersion('19.0.5')).toBe(true);
    expect(isSupportedVersion('20.0.0')).toBe(false);
    expect(parseAmtVersion('11.8.50')).toEqual({ major: 11, minor: 8, hotfix: 50 });
    expect(versionAtLeast('6.0.0', 6)).toBe(true);
    expect(() => deviceProfileSchema.parse({ amtVersion: '2.6.0' })).toThrow();
  });

  it('creates factory NVRAM per version: SHA-1 defaults before 11, SHA-256 after, custom slots', () => {
    const old = nvramFor({
      amtVersion: '5.2.10',
      customHashes: Array.from({ length: 5 }, (_, i) => ({ algorithm: 'sha1', hash: String(i).repeat(40) })),
    });
    expect(old.hashes.filter((h) => h.isDefault).every((h) => h.algorithm === 'sha1')).toBe(true);
    expect(old.hashes.filter((h) => !h.isDefault)).toHaveLength(3);
    const modern = nvramFor({ amtVersion: '16.1.25' });
    expect(modern.hashes.every((h) => h.algorithm === 'sha256' && h.hash.length === 64)).toBe(true);
    expect(modern.realm).toMatch(/^Digest:[0-9A-F]{32}$/);
    expect(modern.provisioning).toMatchObject({ state: 0, controlMode: 0, remoteConfigEnabled: true });
    expect(modern.mebx).toEqual({ password: 'admin', changed: false });
    expect(modern.ethernet[0]!.ipAddress).toBe('127.20.0.7');
    expect(Buffer.from(modern.provisioning.configurationNonce, 'base64')).toHaveLength(20);
  });

  it('starts provisioned with the admin password, and unprovisions back to factory', () => {
    const post = nvramFor({ state: 'post', adminPassword: 'Adm1n!pw', controlMode: 'ccm' });
    expect(post.provisioning).toMatchObject({ state: 2, mode: 4, controlMode: 1 });
    expect(post.admin.ha1).toBe(ha1('admin', post.realm, 'Adm1n!pw'));
    post.general.hostName = 'keep-me';
    post.users.push({
      handle: 1,
      username: 'u',
      ha1: 'x',
      kerberosSid: null,
      accessPermission: 2,
      realms: [3],
      enabled: true,
    });
    const realm = post.realm;
    unprovision(post, true);
    expect(post).toMatchObject({
      realm,
      users: [],
      admin: { ha1: null, isDefault: true },
      provisioning: { state: 0, controlMode: 0 },
    });
    expect(post.general.hostName).toBe('keep-me');
    unprovision(post, false);
    expect(post.general.hostName).toBe('');
    completeProvisioning(post, 2, 'a'.repeat(32));
    expect(post.provisioning).toMatchObject({ state: 2, mode: 1, controlMode: 2 });
  });
});

describe('NVRAM persistence', () => {
  it('writes atomically, coalesces concurrent saves and loads exactly what was written', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'amtflow-nvram-'));
    try {
      const nvram = nvramFor({});
      const writer = new NvramWriter(nvramPath(dir, nvram.uuid), () => nvram);
      const saves = Array.from({ length: 5 }, (_, i) => {
        nvram.general.hostName = `h${i}`;
        return writer.save();
      });
      await Promise.all(saves);
      await writer.flush();
      expect(await loadNvram(dir, nvram.uuid)).toEqual(nvram);
      expect((await readdir(path.join(dir, 'devices'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(JSON.parse(await readFile(nvramPath(dir, nvram.uuid), 'utf8')).general.hostName).toBe('h4');
      expect(await loadNvram(dir, '99999999-2222-4333-8444-555555555555')).toBeNull();
      await writeFile(nvramPath(dir, nvram.uuid), '{"schema":');
      await expect(loadNvram(dir, nvram.uuid)).rejects.toMatchObject({ code: 'NVRAM_CORRUPT' });
      await expect(loadNvram(dir, nvram.uuid)).rejects.toBeInstanceOf(EmulatorError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
