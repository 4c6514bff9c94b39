import { parseInput, StoreError } from '../../../lib/store/errors';
import {
  ACL_LIMITS,
  amtSettingsInputSchema,
  amtSettingsSchema,
  profileSecretName,
} from '../../../lib/store/profile-settings';
import { splitProfileSecrets } from '../../../lib/store/profiles';
import { SAMPLE_SECRETS, sampleProfile } from './sample-profile';

const parse = (input: unknown) =>
  parseInput(amtSettingsInputSchema, input, 'AMT settings profile "p"', 'INVALID_PROFILE');

/** Runs `fn`, expecting an INVALID_PROFILE error, and returns it. */
function profileError(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('INVALID_PROFILE');
    return err as StoreError;
  }
  throw new Error('expected an invalid profile');
}

describe('AMT settings profiles', () => {
  it('fills in the defaults of an empty profile', () => {
    expect(parse({})).toEqual({
      description: '',
      userAccounts: [],
      ping: true,
      webUi: false,
      serialOverLan: false,
      ideRedirection: false,
      kvm: false,
      userConsent: 'all',
      powerPackage: 'desktop_s0_s3_s45',
      wireless: [],
      wiredIeee8021x: null,
      mebx: { policy: 'leave' },
    });
  });

  it('takes every secret out of the settings and names it for stage two', () => {
    const { settings, secrets } = splitProfileSecrets(parse(sampleProfile()));
    expect(Object.fromEntries(secrets)).toEqual({
      [profileSecretName.digestUser('auditor')]: SAMPLE_SECRETS.digestPassword,
      [profileSecretName.wirelessPassphrase('corpPsk')]: SAMPLE_SECRETS.passphrase,
      [profileSecretName.wirelessIeee8021x('corp1x')]: SAMPLE_SECRETS.wirelessEapPassword,
      [profileSecretName.wiredIeee8021x()]: SAMPLE_SECRETS.wiredEapPassword,
      [profileSecretName.mebx()]: SAMPLE_SECRETS.mebxPassword,
    });
    const stored = JSON.stringify(settings);
    for (const secret of Object.values(SAMPLE_SECRETS)) expect(stored).not.toContain(secret);
    expect(settings.mebx).toEqual({ policy: 'set' });
    expect(settings.userAccounts[2]).toEqual({
      type: 'digest',
      username: 'auditor',
      realms: ['AuditLog', 'EventLogReader'],
      access: 'local_and_network',
    });
    expect(settings.wiredIeee8021x).toMatchObject({
      protocol: 'eap_ttls_mschapv2',
      availableInS0: true,
      pxeTimeoutSeconds: 60,
    });
  });

  it('refuses stored settings that carry a secret', () => {
    const stored = splitProfileSecrets(parse(sampleProfile())).settings;
    const leaked = { ...stored, mebx: { policy: 'set', password: SAMPLE_SECRETS.mebxPassword } };
    expect(amtSettingsSchema.safeParse(stored).success).toBe(true);
    const err = profileError(() => parseInput(amtSettingsSchema, leaked, 'stored settings', 'INVALID_PROFILE'));
    expect(err.issues.map((i) => i.field)).toEqual(['mebx.password']);
  });

  const REMOVE = Symbol('remove');

  /** Sets (or removes) the value at `at` in a copy of the sample profile. */
  function spoiled(at: (string | number)[], value: unknown): unknown {
    const input = structuredClone(sampleProfile()) as Record<string | number, unknown>;
    const parent = at.slice(0, -1).reduce((node, key) => node[key] as Record<string | number, unknown>, input);
    const last = at.at(-1) as string | number;
    if (value === REMOVE) delete parent[last];
    else parent[last] = value;
    return input;
  }

  it.each<[string, (string | number)[], unknown, string]>([
    ['a priority out of range', ['wireless', 0, 'priority'], 300, 'wireless.0.priority'],
    ['an unknown realm', ['userAccounts', 0, 'realms'], ['Redirection', 'Teleportation'], 'userAccounts.0.realms.1'],
    ['a repeated realm', ['userAccounts', 0, 'realms'], ['Redirection', 'Redirection'], 'userAccounts.0.realms'],
    ['a reserved digest user', ['userAccounts', 2, 'username'], '$$OsAdmin', 'userAccounts.2.username'],
    ['a hostile Windows account', ['userAccounts', 0, 'account'], 'a\\b\\c', 'userAccounts.0.account'],
    ['an unknown power package', ['powerPackage'], 'always', 'powerPackage'],
    ['a duplicate wireless name', ['wireless', 1, 'name'], 'corpPsk', 'wireless.1.name'],
    ['a duplicate wireless priority', ['wireless', 1, 'priority'], 1, 'wireless.1.priority'],
    ['a PSK profile without passphrase', ['wireless', 0, 'passphrase'], REMOVE, 'wireless.0.passphrase'],
    ['a password protocol without password', ['wiredIeee8021x', 'password'], REMOVE, 'wiredIeee8021x.password'],
    ['a certificate protocol with a password', ['wiredIeee8021x', 'protocol'], 'eap_tls', 'wiredIeee8021x'],
    ['the set MEBx policy without password', ['mebx'], { policy: 'set' }, 'mebx.password'],
    ['an unknown setting', ['telnet'], true, '(root)'],
    ['a PXE timeout over a day', ['wiredIeee8021x', 'pxeTimeoutSeconds'], 86401, 'wiredIeee8021x.pxeTimeoutSeconds'],
  ])('names the field of %s', (_, at, value, field) => {
    const err = profileError(() => parse(spoiled(at, value)));
    expect(err.issues.map((i) => i.field)).toContain(field);
    expect(err.message).toContain(field);
  });

  // AMT SDK "Valid user names and passwords": what AddUserAclEntryEx / SetMEBxPassword refuse only
  // after stage two has cleared the ACL is refused here, at save, naming the field.
  it.each<[string, (string | number)[], unknown, string]>([
    ['a digest user name with &', ['userAccounts', 2, 'username'], 'ops&lab', 'userAccounts.2.username'],
    ['a digest user name with <', ['userAccounts', 2, 'username'], 'ops<lab', 'userAccounts.2.username'],
    ['a 20-character digest user name', ['userAccounts', 2, 'username'], 'a'.repeat(20), 'userAccounts.2.username'],
    ['a digest user name with a space', ['userAccounts', 2, 'username'], 'ops lab', 'userAccounts.2.username'],
    ['a non-ASCII digest user name', ['userAccounts', 2, 'username'], 'opérateur', 'userAccounts.2.username'],
    ['the built-in admin name', ['userAccounts', 2, 'username'], 'admin', 'userAccounts.2.username'],
    ['the built-in admin name, capitalised', ['userAccounts', 2, 'username'], 'Admin', 'userAccounts.2.username'],
    ['the Release 3.2 admin name', ['userAccounts', 2, 'username'], 'Administrator', 'userAccounts.2.username'],
    [
      'a digest password with _ as only symbol',
      ['userAccounts', 2, 'password'],
      'Location_1',
      'userAccounts.2.password',
    ],
    [
      'a digest password with space as only symbol',
      ['userAccounts', 2, 'password'],
      'Abcdefg1 x',
      'userAccounts.2.password',
    ],
    ['a non-ASCII MEBx password', ['mebx', 'password'], 'Şifre123x!', 'mebx.password'],
    ['a MEBx password with _ as only symbol', ['mebx', 'password'], 'Location_1', 'mebx.password'],
    ['a non-ASCII 802.1X password', ['wiredIeee8021x', 'password'], 'pässwort-1', 'wiredIeee8021x.password'],
    ['a non-ASCII 802.1X user', ['wireless', 1, 'ieee8021x', 'username'], 'bénédicte', 'wireless.1.ieee8021x.username'],
    // AMT_8021XProfile: Password MaxLen=32, Domain MaxLen=128.
    ['a 33-character 802.1X password', ['wiredIeee8021x', 'password'], 'p'.repeat(33), 'wiredIeee8021x.password'],
    ['a 129-character 802.1X domain', ['wiredIeee8021x', 'domain'], 'd'.repeat(129), 'wiredIeee8021x.domain'],
    // AddWiFiSettings takes only letters and digits as ElementName, and OOB9.4 has deleted the old
    // profiles by then.
    ['a wireless profile name with a dash', ['wireless', 0, 'name'], 'corp-wifi', 'wireless.0.name'],
    ['a wireless profile name with an underscore', ['wireless', 0, 'name'], 'corp_wifi', 'wireless.0.name'],
    ['a wireless profile name with a dot', ['wireless', 0, 'name'], 'corp.wifi', 'wireless.0.name'],
    ['a 33-character wireless profile name', ['wireless', 0, 'name'], 'w'.repeat(33), 'wireless.0.name'],
  ])('refuses %s at save, naming the field', (_, at, value, field) => {
    const err = profileError(() => parse(spoiled(at, value)));
    expect(err.issues.map((i) => i.field)).toEqual([field]);
  });

  it('accepts what the firmware accepts: 16-character user names, symbols other than the forbidden ones, 32-character Wi-Fi names and 802.1X passwords', () => {
    const edge = spoiled(['userAccounts', 2, 'username'], 'ops.lab-01~$x!#%');
    expect(() => parse(spoiled(['userAccounts', 2, 'password'], 'Location_1!'))).not.toThrow();
    expect(() => parse(edge)).not.toThrow();
    expect(() => parse(spoiled(['wireless', 0, 'name'], `CorpWifi${'9'.repeat(24)}`))).not.toThrow();
    expect(() => parse(spoiled(['wiredIeee8021x', 'password'], 'p'.repeat(32)))).not.toThrow();
  });

  // AddUserAclEntryEx answers MAX_LIMIT_REACHED for the entry after the last one the firmware has
  // room for — at OOB9.1, after the ACL was cleared. The emulator keeps the same room
  // (emulator/classes/account-rules.ts), so a profile saved here is one a device takes.
  describe('the room in the user ACL', () => {
    const digest = (i: number) => ({
      type: 'digest' as const,
      username: `operator${i}`,
      password: SAMPLE_SECRETS.digestPassword,
      realms: ['Redirection' as const],
    });
    const kerberos = (i: number) => ({
      type: 'kerberos' as const,
      account: `CORP\\amt-group-${i}`,
      realms: ['Redirection' as const],
    });
    const withAccounts = (accounts: unknown[]) => ({ ...sampleProfile(), userAccounts: accounts });
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);

    it('takes seven Digest users and 32 Kerberos users or groups', () => {
      expect(ACL_LIMITS).toEqual({ digest: 7, kerberos: 32 });
      const full = withAccounts([...range(7).map(digest), ...range(32).map(kerberos)]);
      expect(parse(full).userAccounts).toHaveLength(39);
    });

    it.each([
      ['an eighth Digest user', [...range(8).map(digest)], 'holds 8 digest accounts; AMT keeps at most 7'],
      ['a 33rd Kerberos entry', [...range(33).map(kerberos)], 'holds 33 kerberos accounts; AMT keeps at most 32'],
    ])('refuses %s at save, naming the field', (_, accounts, message) => {
      const err = profileError(() => parse(withAccounts(accounts)));
      expect(err.issues.map((i) => i.field)).toEqual(['userAccounts']);
      expect(err.message).toContain(message);
    });
  });

  it('does not repeat a rejected secret in the error', () => {
    const weak = {
      digestPassword: 'weakpassword',
      passphrase: 'Zq7!xYw',
      wirelessEapPassword: 'ok-eap-1',
      wiredEapPassword: 'ok-eap-2',
      mebxPassword: 'alsoweak99',
    };
    const err = profileError(() => parse(sampleProfile(weak)));
    expect(err.issues.map((i) => i.field).sort()).toEqual([
      'mebx.password',
      'userAccounts.2.password',
      'wireless.0.passphrase',
    ]);
    for (const secret of [weak.digestPassword, weak.passphrase, weak.mebxPassword]) {
      expect(err.message).not.toContain(secret);
      expect(JSON.stringify(err.issues)).not.toContain(secret);
    }
  });
});
