import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';
import { escapeFilter } from 'ldapts';
import {
  ActiveDirectory,
  amtKerberosSettings,
  DirectoryError,
  ntHash,
  type DirectoryErrorCode,
} from '../../../lib/directory';
import { childDn, sameDn } from '../../../lib/directory/dn';
import {
  addForestDomain,
  adminClient,
  aesKey,
  ENCTYPE,
  changesSince,
  highestCommittedUsn,
  removeForestDomain,
  storedKeys,
  testDirectoryConfig,
  TEST_DC,
  uniqueTag,
  verifyServiceTicket,
  writeKeytab,
} from '../../support/directory';

/**
 * The directory adapter against the real Samba AD DC of the tests. Every refused request is checked
 * to have written nothing: the DC's highest committed USN, which every write in any partition
 * advances, is the same before and after. The tests of this file run one after another, and no
 * other test file writes to this DC.
 */

const tag = uniqueTag();
const domainDn = TEST_DC.domainDn;
const container = `OU=AMT Devices,${domainDn}`;
const fqdn = (n: number | string) => `amt-${tag}-${n}.corp.example.test`;

let admin: Client;
let ad: ActiveDirectory;
const fixtures: string[] = [];
const published: string[] = [];

async function expectCode<T>(promise: Promise<T>, code: DirectoryErrorCode): Promise<DirectoryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DirectoryError);
  expect((err as DirectoryError).code).toBe(code);
  return err as DirectoryError;
}

/** Runs a request that must be refused with `code`, and proves the directory did not change. */
async function expectRefusedUnchanged<T>(request: () => Promise<T>, code: DirectoryErrorCode): Promise<DirectoryError> {
  const before = await highestCommittedUsn(admin);
  const err = await expectCode(request(), code);
  expect(await changesSince(admin, before)).toEqual([]);
  return err;
}

async function addFixture(dn: string, attributes: Record<string, string | string[]>): Promise<string> {
  await admin.add(dn, attributes);
  fixtures.push(dn);
  return dn;
}

/** A Windows computer object as a domain join leaves it: its DNS name and HOST/ SPNs, or neither when pre-staged. */
function addWindowsComputer(host: string, dnsHostName?: string): Promise<string> {
  return addFixture(childDn('CN', host.toUpperCase(), `CN=Computers,${domainDn}`), {
    objectClass: 'computer',
    sAMAccountName: `${host.toUpperCase()}$`,
    userAccountControl: '4096',
    ...(dnsHostName
      ? { dNSHostName: dnsHostName, servicePrincipalName: [`HOST/${dnsHostName}`, `HOST/${host.toUpperCase()}`] }
      : {}),
  });
}

function addGroup(cn: string, samAccountName: string): Promise<string> {
  return addFixture(childDn('CN', cn, `CN=Users,${domainDn}`), {
    objectClass: 'group',
    sAMAccountName: samAccountName,
  });
}

async function read(dn: string, attributes: string[]) {
  const { searchEntries } = await admin.search(dn, { scope: 'base', attributes });
  return searchEntries[0];
}

async function publish(n: number | string, domain = 'corp.example.test') {
  published.push(fqdn(n));
  return ad.publishAmtAccount({ fqdn: fqdn(n), domain });
}

beforeAll(async () => {
  admin = await adminClient();
  ad = await ActiveDirectory.open(testDirectoryConfig());
});

afterAll(async () => {
  for (const name of published) await ad?.deleteAmtAccount(name).catch(() => undefined);
  await ad?.close();
  for (const dn of fixtures.reverse()) await admin?.del(dn).catch(() => undefined);
  await admin?.unbind();
});

describe('connection', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'amtflow-directory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses StartTLS on ldap:// by default', async () => {
    const session = await ActiveDirectory.open(testDirectoryConfig({ url: `ldap://${TEST_DC.ip}` }));
    expect((await session.forest()).rootDomain).toBe('corp.example.test');
    await session.close();
  });

  it('refuses plain LDAP unless allowPlain says so, and the DC refuses a plain bind anyway', async () => {
    const plain = testDirectoryConfig({ url: `ldap://${TEST_DC.ip}`, startTls: false });
    await expectCode(ActiveDirectory.open(plain), 'DIRECTORY_INSECURE');
    await expectCode(ActiveDirectory.open({ ...plain, allowPlain: true }), 'DIRECTORY_INSECURE');
  });

  it('refuses a certificate it cannot verify', async () => {
    const { caFile: _, ...withoutCa } = testDirectoryConfig();
    await expectCode(ActiveDirectory.open(withoutCa), 'DIRECTORY_TLS_UNTRUSTED');
    await expectCode(
      ActiveDirectory.open(testDirectoryConfig({ tlsServerName: 'dc.elsewhere.test' })),
      'DIRECTORY_TLS_UNTRUSTED',
    );
  });

  it('says when the bind password is wrong, without showing it', async () => {
    const file = path.join(dir, 'wrong-password');
    writeFileSync(file, 'Wrong-Password-1\n');
    const err = await expectCode(
      ActiveDirectory.open(testDirectoryConfig({ bindPasswordFile: file })),
      'DIRECTORY_AUTH_FAILED',
    );
    expect(err.message).not.toContain('Wrong-Password-1');
  });
});

describe('a forest of three domains in two trees', () => {
  // The DC holds corp.example.test; the forest also has its child emea.corp.example.test and a second
  // tree, northwindtraders.test, declared by crossRefs as a multi-domain forest shows them. Samba's
  // KDC refuses service tickets while such crossRefs lack trust objects, so they exist only here.
  const crossRefs: string[] = [];
  let forestAd: ActiveDirectory;

  beforeAll(async () => {
    crossRefs.push(await addForestDomain('emea.corp.example.test', 'EMEA'));
    crossRefs.push(await addForestDomain('northwindtraders.test', 'NWT'));
    forestAd = await ActiveDirectory.open(testDirectoryConfig());
  });

  afterAll(async () => {
    await forestAd?.close();
    for (const dn of crossRefs) await removeForestDomain(dn);
  });

  it('is read from the partitions container', async () => {
    const forest = await forestAd.forest();
    expect(forest.rootDomain).toBe('corp.example.test');
    expect(forest.domains.map((d) => [d.dnsName, d.netbiosName, d.tree, d.hosted]).sort()).toEqual([
      ['corp.example.test', 'CORP', 'corp.example.test', true],
      ['emea.corp.example.test', 'EMEA', 'corp.example.test', false],
      ['northwindtraders.test', 'NWT', 'northwindtraders.test', false],
    ]);
  });

  it.each<[string, string, string | undefined, DirectoryErrorCode]>([
    ['hostile host name (filter syntax)', 'x)(cn=*', 'corp.example.test', 'INVALID_HOST_NAME'],
    ['hostile host name (DN syntax)', 'a,ou=evil', 'corp.example.test', 'INVALID_HOST_NAME'],
    ['hostile host name with a suffix', 'a,ou=evil.corp.example.test', 'corp.example.test', 'INVALID_HOST_NAME'],
    ['hostile domain', 'pc1.corp.example.test', '*)(objectClass=*', 'INVALID_DOMAIN_NAME'],
    ['workgroup computer', 'pc1.corp.example.test', 'WORKGROUP', 'WORKGROUP_COMPUTER'],
    ['computer without a domain', 'pc1.corp.example.test', undefined, 'WORKGROUP_COMPUTER'],
    ['foreign forest', 'pc1.fabrikam.test', 'fabrikam.test', 'FOREIGN_FOREST'],
    [
      'non-contiguous namespace',
      'computer1.northwindtraders.test',
      'northwindtraders.test',
      'NON_CONTIGUOUS_NAMESPACE',
    ],
    ['disjoint DNS suffix', 'computer1.northwindtraders.test', 'corp.example.test', 'NON_CONTIGUOUS_NAMESPACE'],
    ['domain this DC does not hold', 'pc1.emea.corp.example.test', 'EMEA', 'DOMAIN_NOT_SERVED'],
  ])('refuses, writing nothing, a %s: %s in %s → %s', async (_, host, domain, code) => {
    await expectRefusedUnchanged(() => forestAd.publishAmtAccount({ fqdn: host, domain }), code);
  });
});

describe('other refusals before anything is written', () => {
  it('a missing AMT container (P3) is named', async () => {
    const elsewhere = await ActiveDirectory.open(testDirectoryConfig({ amtContainer: `OU=Missing ${tag}` }));
    try {
      const err = await expectRefusedUnchanged(
        () => elsewhere.publishAmtAccount({ fqdn: fqdn('c'), domain: 'corp.example.test' }),
        'CONTAINER_MISSING',
      );
      expect(err.message).toContain(`OU=Missing ${tag},${domainDn}`);
    } finally {
      await elsewhere.close();
    }
  });

  it('a Windows computer DN that does not exist is refused', async () => {
    await expectRefusedUnchanged(
      () =>
        ad.publishAmtAccount({
          fqdn: fqdn('n'),
          domain: 'corp.example.test',
          computerDn: `CN=NOPE-${tag},CN=Computers,${domainDn}`,
        }),
      'COMPUTER_NOT_FOUND',
    );
  });
});

describe('publishing the AMT account (I3)', () => {
  it('creates one computer object in the container, linked to the Windows computer, however often it runs', async () => {
    const computerDn = await addWindowsComputer(`amt-${tag}-1`, fqdn(1));
    const first = await publish(1);
    expect(first).toMatchObject({
      created: true,
      dn: `CN=amt-${tag}-1,${container}`,
      fqdn: fqdn(1),
      domain: 'corp.example.test',
      realm: 'CORP.EXAMPLE.TEST',
      computerDn,
      spns: [],
    });
    expect(first.samAccountName).toMatch(/^AMT-[0-9A-F]{11}\$$/);

    const before = await highestCommittedUsn(admin);
    const second = await publish(1);
    expect(second).toEqual({ ...first, created: false });
    expect(await changesSince(admin, before)).toEqual([]);

    const { searchEntries } = await admin.search(domainDn, {
      filter: escapeFilter`(sAMAccountName=${first.samAccountName})`,
      attributes: ['objectClass', 'userAccountControl', 'managedBy'],
    });
    expect(searchEntries).toHaveLength(1);
    // A computer account without a password yet (WORKSTATION_TRUST_ACCOUNT | PASSWD_NOTREQD).
    expect(searchEntries[0]).toMatchObject({ userAccountControl: '4128', managedBy: computerDn });
    // managedBy is a linked attribute: the Windows computer points back at its AMT account.
    expect((await read(computerDn, ['managedObjects']))?.managedObjects).toBe(first.dn);
  });

  it('publishes without a link when the computer has no Windows object yet (bare metal), by NetBIOS domain', async () => {
    const account = await publish(2, 'CORP');
    expect(account.created).toBe(true);
    expect(account.computerDn).toBeUndefined();
  });

  it('brings an existing account up to date (encryption types, a Windows computer that appeared)', async () => {
    published.push(fqdn(3));
    const rc4 = await ad.publishAmtAccount(
      { fqdn: fqdn(3), domain: 'corp.example.test' },
      { encryptionTypes: ['rc4-hmac'] },
    );
    expect(rc4.encryptionTypes).toEqual(['rc4-hmac']);
    const computerDn = await addWindowsComputer(`amt-${tag}-3`, fqdn(3));
    const updated = await publish(3);
    expect(updated).toMatchObject({ created: false, dn: rc4.dn, computerDn });
    expect(updated.encryptionTypes).toEqual(['rc4-hmac', 'aes128-cts-hmac-sha1-96', 'aes256-cts-hmac-sha1-96']);
  });

  it('refuses to take over an object that holds the account DN', async () => {
    await addFixture(childDn('CN', `amt-${tag}-4`, container), {
      objectClass: 'computer',
      sAMAccountName: `X${tag}4$`,
    });
    const err = await expectRefusedUnchanged(() => publish(4), 'ACCOUNT_CONFLICT');
    expect(err.message).toContain(`CN=amt-${tag}-4,${container}`);
  });
});

describe('account password and Kerberos keys', () => {
  it('sets the password over TLS and reports the key version number AMT needs', async () => {
    const account = await publish(5);
    const first = await ad.setAmtAccountPassword(fqdn(5), `First-${tag}-Password-1`);
    const password = `Second-${tag}-Pässword-2`;
    const second = await ad.setAmtAccountPassword(fqdn(5), password);
    expect(second.keyVersionNumber).toBe(first.keyVersionNumber + 1);
    expect(second.keyVersionNumber).toBeGreaterThan(account.keyVersionNumber);
    // With a password, an empty one is no longer accepted.
    expect((await read(account.dn, ['userAccountControl']))?.userAccountControl).toBe('4096');

    // What amtflow derives for the firmware is what the DC itself stored for the account.
    const stored = await storedKeys(account.samAccountName);
    const settings = amtKerberosSettings(second, password, second.keyVersionNumber);
    expect(stored.keyVersionNumber).toBe(second.keyVersionNumber);
    expect(stored.ntHash.toString('hex')).toBe(ntHash(password).toString('hex'));
    expect(Buffer.from(settings.masterKey, 'base64')).toEqual(stored.ntHash);
    expect(settings.salt).toBe(stored.salt);
    expect(settings.realmName).toBe('CORP.EXAMPLE.TEST');
  });

  it('needs a published account', async () => {
    await expectRefusedUnchanged(() => ad.setAmtAccountPassword(fqdn('none'), 'Some-Password-1'), 'ACCOUNT_NOT_FOUND');
  });
});

describe('Kerberos end to end: the KDC issues tickets for the AMT SPNs that the firmware keys decrypt', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'amtflow-keytab-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('RC4-HMAC: MasterKey and KeyVersion (every AMT release)', async () => {
    published.push(fqdn('k1'));
    await ad.publishAmtAccount({ fqdn: fqdn('k1'), domain: 'corp.example.test' }, { encryptionTypes: ['rc4-hmac'] });
    const password = `Rc4-${tag}-Password-1`;
    const account = await ad.setAmtAccountPassword(fqdn('k1'), password);
    await ad.registerSpns(fqdn('k1'));
    const settings = amtKerberosSettings(account, password, account.keyVersionNumber);
    const spn = `HTTP/${fqdn('k1')}:16992`;
    const keytab = path.join(dir, 'rc4.keytab');
    writeKeytab(
      keytab,
      `${spn}@${settings.realmName}`,
      settings.keyVersion,
      ENCTYPE['rc4-hmac'],
      Buffer.from(settings.masterKey, 'base64'),
    );
    expect(await verifyServiceTicket(spn, keytab)).toBe(
      `${spn}@CORP.EXAMPLE.TEST: kvno = ${settings.keyVersion}, keytab entry valid`,
    );
  });

  it('AES256: Passphrase, Salt and IterationCount (AMT Release 8 and later)', async () => {
    await publish('k2');
    const password = `Aes-${tag}-Password-2`;
    const account = await ad.setAmtAccountPassword(fqdn('k2'), password);
    await ad.registerSpns(fqdn('k2'));
    const settings = amtKerberosSettings(account, password, account.keyVersionNumber);
    const spn = `HTTP/${fqdn('k2')}:16993`;
    const keytab = path.join(dir, 'aes.keytab');
    const key = aesKey(settings.passphrase, settings.salt, settings.iterationCount, 32);
    writeKeytab(keytab, `${spn}@${settings.realmName}`, settings.keyVersion, ENCTYPE['aes256-cts-hmac-sha1-96'], key);
    expect(await verifyServiceTicket(spn, keytab)).toBe(
      `${spn}@CORP.EXAMPLE.TEST: kvno = ${settings.keyVersion}, keytab entry valid`,
    );
  });
});

describe('SPNs (I4) and removal (DEP2)', () => {
  const spns = (n: number) => [`HTTP/${fqdn(n)}:16992`, `HTTP/${fqdn(n)}:16993`];

  it('registers, re-registers without writing, removes, and deletes the account', async () => {
    const account = await publish(6);
    expect((await ad.registerSpns(fqdn(6))).spns.sort()).toEqual(spns(6));
    expect((await read(account.dn, ['servicePrincipalName']))?.servicePrincipalName).toEqual(
      expect.arrayContaining(spns(6)),
    );

    const before = await highestCommittedUsn(admin);
    expect((await ad.registerSpns(fqdn(6))).spns.sort()).toEqual(spns(6));
    expect(await changesSince(admin, before)).toEqual([]);

    expect((await ad.removeSpns(fqdn(6))).sort()).toEqual(spns(6));
    expect(await ad.removeSpns(fqdn(6))).toEqual([]);
    expect((await ad.findAmtAccount(fqdn(6)))?.spns).toEqual([]);

    expect(await ad.deleteAmtAccount(fqdn(6))).toBe(true);
    expect(await ad.deleteAmtAccount(fqdn(6))).toBe(false);
    expect(await ad.findAmtAccount(fqdn(6))).toBeUndefined();
    expect(await read(account.dn, ['1.1']).catch(() => undefined)).toBeUndefined();
  });

  it('a duplicate SPN names the object holding it and changes nothing', async () => {
    await publish(7);
    const holder = await addFixture(childDn('CN', `decoy-${tag}`, `CN=Computers,${domainDn}`), {
      objectClass: 'computer',
      sAMAccountName: `DECOY-${tag}$`,
      servicePrincipalName: `HTTP/${fqdn(7).toUpperCase()}:16993`,
    });
    const err = await expectRefusedUnchanged(() => ad.registerSpns(fqdn(7)), 'SPN_CONFLICT');
    expect(err.details).toMatchObject({ holder, spn: `HTTP/${fqdn(7).toUpperCase()}:16993` });
    expect(err.message).toContain(holder);
    expect((await ad.findAmtAccount(fqdn(7)))?.spns).toEqual([]);
  });
});

describe('SIDs of users and groups in AMT user-account settings', () => {
  it('returns string and base64 forms for DOMAIN\\user, group@domain and bare names', async () => {
    const [user, group, bare] = await ad.lookupPrincipals([
      'CORP\\Administrator',
      'Domain Admins@corp.example.test',
      'Domain Users',
    ]);
    expect(user).toMatchObject({ kind: 'user', dn: `CN=Administrator,CN=Users,${domainDn}` });
    expect(user?.sid).toMatch(/^S-1-5-21-\d+-\d+-\d+-500$/);
    expect(group).toMatchObject({ kind: 'group', sid: user?.sid.replace(/-500$/, '-512') });
    expect(bare).toMatchObject({ kind: 'group', sid: user?.sid.replace(/-500$/, '-513') });

    const { searchEntries } = await admin.search(user?.dn ?? '', {
      scope: 'base',
      attributes: ['objectSid'],
      explicitBufferAttributes: ['objectSid'],
    });
    expect(user?.sidBase64).toBe((searchEntries[0]?.objectSid as Buffer).toString('base64'));
  });

  it('treats filter and DN syntax in names as plain characters', async () => {
    const dn = await addGroup(`a,ou=evil ${tag}`, `x)(cn-${tag}`);
    await expectCode(ad.lookupPrincipals(['x)(cn=*']), 'PRINCIPAL_NOT_FOUND');
    await expectCode(ad.lookupPrincipals(['*']), 'PRINCIPAL_NOT_FOUND');
    const [found] = await ad.lookupPrincipals([`x)(cn-${tag}`]);
    expect(found).toMatchObject({ kind: 'group', samAccountName: `x)(cn-${tag}` });
    // Samba spells the escaped '=' of the fixture's DN as \3D: the same DN.
    expect(sameDn(found?.dn ?? '', dn)).toBe(true);
  });

  it('names the principal it cannot find', async () => {
    const err = await expectCode(ad.lookupPrincipals(['Domain Admins', `nobody-${tag}`]), 'PRINCIPAL_NOT_FOUND');
    expect(err.message).toContain(`nobody-${tag}`);
    await expectCode(ad.lookupPrincipals(['FABRIKAM\\Administrator']), 'PRINCIPAL_NOT_FOUND');
  });
});

describe('802.1X and wireless security groups (I5)', () => {
  it('adds and removes the AMT account idempotently, hostile group names included', async () => {
    const account = await publish(8);
    const wired = await addGroup(`AMT 802.1X ${tag}`, `amt-8021x-${tag}`);
    const wireless = await addGroup(`AMT, wireless (${tag})`, `amt-wifi)(${tag}`);
    const groups = [`amt-8021x-${tag}`, `CORP\\amt-wifi)(${tag}`];

    expect((await ad.addAmtAccountToGroups(fqdn(8), groups)).changed.sort()).toEqual([wired, wireless].sort());
    for (const group of [wired, wireless]) expect((await read(group, ['member']))?.member).toBe(account.dn);

    const before = await highestCommittedUsn(admin);
    expect(await ad.addAmtAccountToGroups(fqdn(8), groups)).toEqual({ groups: [wired, wireless], changed: [] });
    expect(await changesSince(admin, before)).toEqual([]);

    // Removal takes the DNs I5 recorded; a group deleted since counts as left.
    const deleted = `CN=amt-gone-${tag},CN=Users,DC=corp,DC=example,DC=test`;
    expect((await ad.removeAmtAccountFromGroups(fqdn(8), [wired, deleted, wireless])).sort()).toEqual(
      [wired, wireless].sort(),
    );
    expect(await ad.removeAmtAccountFromGroups(fqdn(8), [wired, wireless])).toEqual([]);
    for (const group of [wired, wireless]) expect((await read(group, ['member']))?.member).toEqual([]);
  });

  it('changes no group when one of them is unknown or not a group', async () => {
    await publish(9);
    await addGroup(`AMT known ${tag}`, `amt-known-${tag}`);
    await expectRefusedUnchanged(
      () => ad.addAmtAccountToGroups(fqdn(9), [`amt-known-${tag}`, `amt-unknown-${tag}`]),
      'PRINCIPAL_NOT_FOUND',
    );
    await expectRefusedUnchanged(
      () => ad.addAmtAccountToGroups(fqdn(9), [`amt-known-${tag}`, 'Administrator']),
      'PRINCIPAL_NOT_FOUND',
    );
  });
});
