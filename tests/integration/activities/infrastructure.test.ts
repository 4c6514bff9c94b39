import { escapeFilter, type Client } from 'ldapts';
import { createActivities } from '../../../activities';
import type { DeviceUuid, LifecycleActivities } from '../../../activities/contract';
import { ntHash } from '../../../lib/directory';
import { childDn } from '../../../lib/directory/dn';
import { idempotencyKey } from '../../../lib/store';
import { createTestDeps, TEST_DOMAIN, type TestDeps } from '../../support/activity-env';
import { adminClient, storedKeys, TEST_DC, uniqueTag } from '../../support/directory';
import { databaseSnapshot, expectRefusedUnchanged, finalFailure, importDevice } from './support-infra';

/**
 * The infrastructure activities (I1, I3, I4, I8, OOB10, DEP2, DEP3, REN2, REN3) against the real CA,
 * site database and Samba DC. Each runs twice where a retry could repeat it, and publishing is
 * interrupted between its write-ahead steps to show that the retry converges.
 */

const tag = uniqueTag();
const amtContainer = `OU=AMT Devices,${TEST_DC.domainDn}`;
let deps: TestDeps;
let activities: LifecycleActivities;
let admin: Client;
const fixtures: string[] = [];
const hosts: string[] = [];

/** A device of amtflow's domain whose AMT account the tests clean up. */
async function device(name: string, options: { profile?: string; windowsComputerDn?: string } = {}) {
  const host = `amt-${tag}-${name}`;
  hosts.push(`${host}.${TEST_DOMAIN}`);
  return importDevice(deps, host, options);
}

async function accountsNamed(fqdn: string) {
  const { searchEntries } = await admin.search(TEST_DC.domainDn, {
    scope: 'sub',
    filter: escapeFilter`(&(objectClass=computer)(description=${`Intel AMT account of ${fqdn} (amtflow)`}))`,
    attributes: ['msDS-KeyVersionNumber', 'sAMAccountName', 'servicePrincipalName'],
  });
  return searchEntries;
}

const key = (run: string, step: string) => idempotencyKey(`amt-device-${tag}/${run}`, step);

beforeAll(async () => {
  deps = await createTestDeps();
  activities = createActivities(deps);
  admin = await adminClient();
});

afterAll(async () => {
  await deps?.withDirectory(async (directory) => {
    for (const fqdn of hosts) await directory.deleteAmtAccount(fqdn).catch(() => undefined);
  });
  for (const dn of fixtures.reverse()) await admin?.del(dn).catch(() => undefined);
  await admin?.unbind();
  await deps?.cleanup();
});

describe('publishAmtAccount (I3, write-ahead)', () => {
  it('publishing twice leaves one object and one current directory-account credential', async () => {
    const d = await device('pub');
    const first = await activities.publishAmtAccount({ deviceUuid: d.uuid, idempotencyKey: key('r1', 'I3') });
    const again = await activities.publishAmtAccount({ deviceUuid: d.uuid, idempotencyKey: key('r1', 'I3') });
    expect(first.dn).toBe(childDn('CN', `amt-${tag}-pub`, amtContainer));
    // The retry found its password promoted and did not set it again: same key version.
    expect(again).toEqual(first);
    const objects = await accountsNamed(d.fqdn);
    expect(objects).toHaveLength(1);
    expect(Number(objects[0]?.['msDS-KeyVersionNumber'])).toBe(first.keyVersion);
    const credentials = await deps.store.credentials.list(d.uuid, 'directory_account');
    expect(credentials.map((c) => c.status)).toEqual(['current']);
    expect(await deps.store.directoryObjects.get(d.uuid)).toMatchObject({
      dn: first.dn,
      keyVersion: first.keyVersion,
      status: 'published',
    });
    // The directory holds exactly the stored password (its NT hash is the RC4 key).
    const password = await deps.store.credentials.reveal(credentials[0]!);
    const stored = await storedKeys(String(objects[0]?.sAMAccountName));
    expect(stored.ntHash.equals(ntHash(password))).toBe(true);

    // A later run (UPD2) refreshes it: still one object, one current version; the old one retired.
    const refreshed = await activities.publishAmtAccount({ deviceUuid: d.uuid, idempotencyKey: key('r2', 'UPD2') });
    expect(refreshed.dn).toBe(first.dn);
    expect(refreshed.keyVersion).toBeGreaterThan(first.keyVersion);
    expect(await accountsNamed(d.fqdn)).toHaveLength(1);
    expect((await deps.store.credentials.list(d.uuid, 'directory_account')).map((c) => c.status)).toEqual([
      'current',
      'retired',
    ]);
  });

  it.each([
    ['after staging, before the directory write', 1],
    ['after the directory accepted the password, before promoting it', 2],
  ])('a crash %s: the retry converges on the staged password', async (_, reached) => {
    const d = await device(`crash-${reached}`);
    const publishKey = key('crash', `I3-${reached}`);
    // The activity's steps up to the crash, by hand.
    const staged = await deps.store.credentials.stagePending(d.uuid, 'directory_account', publishKey);
    await deps.store.directoryObjects.save(d.uuid, {
      dn: childDn('CN', `amt-${tag}-crash-${reached}`, amtContainer),
      spns: [],
      windowsComputerDn: null,
      keyVersion: null,
      status: 'pending',
    });
    if (reached === 2) {
      await deps.withDirectory(async (directory) => {
        await directory.publishAmtAccount({ fqdn: d.fqdn, domain: d.domain });
        await directory.setAmtAccountPassword(d.fqdn, await deps.store.credentials.reveal(staged));
      });
    }

    const result = await activities.publishAmtAccount({ deviceUuid: d.uuid, idempotencyKey: publishKey });

    const credentials = await deps.store.credentials.list(d.uuid, 'directory_account');
    expect(credentials.map((c) => [c.version, c.status])).toEqual([[staged.version, 'current']]);
    const objects = await accountsNamed(d.fqdn);
    expect(objects).toHaveLength(1);
    expect(Number(objects[0]?.['msDS-KeyVersionNumber'])).toBe(result.keyVersion);
    const stored = await storedKeys(String(objects[0]?.sAMAccountName));
    expect(stored.ntHash.equals(ntHash(await deps.store.credentials.reveal(staged)))).toBe(true);
    expect(await deps.store.directoryObjects.get(d.uuid)).toMatchObject({ status: 'published', dn: result.dn });
  });
});

describe('registerSpns (I4) and deleteAmtAccount (DEP2, undo of I3)', () => {
  it('registers and records the SPNs, then deletes SPNs and object once', async () => {
    const d = await device('spn');
    await activities.publishAmtAccount({ deviceUuid: d.uuid, idempotencyKey: key('spn', 'I3') });
    const { spns } = await activities.registerSpns({ deviceUuid: d.uuid });
    expect([...spns].sort()).toEqual([`HTTP/${d.fqdn}:16992`, `HTTP/${d.fqdn}:16993`]);
    expect(await activities.registerSpns({ deviceUuid: d.uuid })).toEqual({ spns });
    expect((await deps.store.directoryObjects.get(d.uuid))?.spns).toEqual(spns);

    expect(await activities.deleteAmtAccount({ deviceUuid: d.uuid })).toEqual({ deleted: true });
    expect(await accountsNamed(d.fqdn)).toHaveLength(0);
    expect(await deps.store.directoryObjects.get(d.uuid)).toMatchObject({ status: 'deleted', spns: [] });
    expect(await activities.deleteAmtAccount({ deviceUuid: d.uuid })).toEqual({ deleted: false });
  });

  it('a device that never published has nothing to delete', async () => {
    const d = await device('none');
    expect(await activities.deleteAmtAccount({ deviceUuid: d.uuid })).toEqual({ deleted: false });
    expect(await deps.store.directoryObjects.get(d.uuid)).toBeUndefined();
  });

  it('an SPN held by another object is SPN_CONFLICT, and nothing is written', async () => {
    const d = await device('dup');
    await activities.publishAmtAccount({ deviceUuid: d.uuid, idempotencyKey: key('dup', 'I3') });
    const holder = childDn('CN', `decoy-${tag}`, `CN=Computers,${TEST_DC.domainDn}`);
    await admin.add(holder, {
      objectClass: 'computer',
      sAMAccountName: `DECOY-${tag}$`,
      servicePrincipalName: `HTTP/${d.fqdn.toUpperCase()}:16993`,
    });
    fixtures.push(holder);
    const failure = await expectRefusedUnchanged(
      deps,
      admin,
      () => activities.registerSpns({ deviceUuid: d.uuid }),
      'SPN_CONFLICT',
    );
    expect(failure.message).toContain(holder);
  });
});

describe('revokeDeviceCertificates (I1, UPD3, DEP2)', () => {
  it('revokes the device’s current certificates once, by template', async () => {
    const d = await device('cert');
    const issue = (requestId: string, template: 'amt-web-server' | 'ieee8021x-client') =>
      deps.ca.issue({ requestId, template, deviceUuid: d.uuid, fqdn: d.fqdn, key: { generate: true } });
    const web = await issue(`${tag}-web`, 'amt-web-server');
    const dot1x = await issue(`${tag}-8021x`, 'ieee8021x-client');

    type Revoke = Parameters<LifecycleActivities['revokeDeviceCertificates']>[0];
    const upd3: Revoke = { deviceUuid: d.uuid, reason: 'superseded', templates: ['ieee8021x-client'] };
    expect(await activities.revokeDeviceCertificates(upd3)).toEqual({ revoked: [dot1x.serial] });
    expect(await activities.revokeDeviceCertificates(upd3)).toEqual({ revoked: [] });
    expect((await deps.ca.currentCertificates(d.uuid)).map((c) => c.serial)).toEqual([web.serial]);

    const dep2: Revoke = { ...upd3, templates: ['amt-web-server', 'ieee8021x-client'] };
    expect(await activities.revokeDeviceCertificates(dep2)).toEqual({ revoked: [web.serial] });
    expect(await activities.revokeDeviceCertificates(dep2)).toEqual({ revoked: [] });
    expect(await deps.ca.currentCertificates(d.uuid)).toEqual([]);
  });
});

describe('resolveAccountSids (I8)', () => {
  it('resolves the Kerberos accounts of the settings profile; digest users need no SID', async () => {
    await deps.store.profiles.save('sids', {
      userAccounts: [
        { type: 'kerberos', account: 'CORP\\Administrator', realms: ['PTAdministration'] },
        { type: 'digest', username: 'auditor', password: 'Aud1tor!pass', realms: ['GeneralInfo'] },
        { type: 'kerberos', account: 'Domain Admins', realms: ['Redirection'] },
      ],
    });
    const d = await device('sids', { profile: 'sids' });
    const { accounts } = await activities.resolveAccountSids({ deviceUuid: d.uuid });
    expect(accounts.map((a) => a.name)).toEqual(['CORP\\Administrator', 'Domain Admins']);
    for (const account of accounts) expect(Buffer.from(account.sidBase64, 'base64')[0]).toBe(1);
  });

  it('a principal the directory does not know is PRINCIPAL_NOT_FOUND', async () => {
    await deps.store.profiles.save('ghosts', {
      userAccounts: [{ type: 'kerberos', account: `nobody-${tag}`, realms: ['Redirection'] }],
    });
    const d = await device('ghost', { profile: 'ghosts' });
    const failure = await finalFailure(activities.resolveAccountSids({ deviceUuid: d.uuid }), 'PRINCIPAL_NOT_FOUND');
    expect(failure.message).toContain(`nobody-${tag}`);
  });
});

describe('setAutomaticProvisioning (DEP3, REN3)', () => {
  it('switches the device and audits each change once', async () => {
    const d = await device('auto');
    const disable = { deviceUuid: d.uuid, enabled: false, by: 'alice' };
    await activities.setAutomaticProvisioning(disable);
    await activities.setAutomaticProvisioning(disable);
    expect((await deps.store.devices.require(d.uuid)).automaticProvisioningEnabled).toBe(false);
    await activities.setAutomaticProvisioning({ ...disable, enabled: true });
    expect((await deps.store.devices.require(d.uuid)).automaticProvisioningEnabled).toBe(true);
    expect((await deps.store.audit.forTarget(d.uuid)).map((e) => [e.actor, e.action])).toEqual([
      ['alice', 'device.automatic-provisioning.disable'],
      ['alice', 'device.automatic-provisioning.enable'],
    ]);
  });
});

describe('checkRenameComplete (REN2)', () => {
  it('waits until the directory shows the computer under its new name, then records it', async () => {
    const d = await device('old');
    const renamed = { deviceUuid: d.uuid, hostName: `amt-${tag}-new`, domain: TEST_DOMAIN };
    expect(await activities.checkRenameComplete(renamed)).toEqual({ complete: false });
    expect((await deps.store.devices.require(d.uuid)).hostName).toBe(`amt-${tag}-old`);

    // As the rename leaves it: the new DNS name and its HOST/ SPN. Its NetBIOS name is not the new
    // host name's, so the SPN is what finds it (dNSHostName is not indexed, and not searched).
    const computer = childDn('CN', `AMT-${tag}-NEW`, `CN=Computers,${TEST_DC.domainDn}`);
    await admin.add(computer, {
      objectClass: 'computer',
      sAMAccountName: `A${tag}NEW$`,
      userAccountControl: '4096',
      dNSHostName: `amt-${tag}-new.${TEST_DOMAIN}`,
      servicePrincipalName: `HOST/amt-${tag}-new.${TEST_DOMAIN}`,
    });
    fixtures.push(computer);
    expect(await activities.checkRenameComplete(renamed)).toEqual({ complete: true });
    expect(await activities.checkRenameComplete(renamed)).toEqual({ complete: true });
    expect(await deps.store.devices.require(d.uuid)).toMatchObject({
      hostName: `amt-${tag}-new`,
      fqdn: `amt-${tag}-new.${TEST_DOMAIN}`,
    });
    expect((await deps.store.devices.require(d.uuid)).windowsComputerDn?.toLowerCase()).toBe(computer.toLowerCase());
  });

  it('an operator’s confirmation completes it without the directory', async () => {
    const d = await device('confirm');
    const renamed = { deviceUuid: d.uuid, hostName: `amt-${tag}-moved`, domain: TEST_DOMAIN, confirmedBy: 'bob' };
    expect(await activities.checkRenameComplete(renamed)).toEqual({ complete: true });
    expect(await deps.store.devices.require(d.uuid)).toMatchObject({
      hostName: `amt-${tag}-moved`,
      windowsComputerDn: null,
    });
  });
});

describe('recordResult (OOB10)', () => {
  const result = (deviceUuid: DeviceUuid, operation: 'provision' | 'remove', idempotency: string) => ({
    deviceUuid,
    operation,
    outcome: 'succeeded' as const,
    stageReached: operation === 'provision' ? 'stage-two' : 'remove',
    workflowId: `amt-device-${deviceUuid}`,
    summary: `${operation} of ${deviceUuid}`,
    idempotencyKey: idempotency,
  });

  it('records once per key and moves the device with it', async () => {
    const d = await device('result');
    await activities.recordResult(result(d.uuid, 'provision', key('res', 'OOB10')));
    const before = await databaseSnapshot(deps.database);
    await activities.recordResult(result(d.uuid, 'provision', key('res', 'OOB10')));
    expect(await databaseSnapshot(deps.database)).toEqual(before);
    expect(await deps.store.results.forDevice(d.uuid)).toHaveLength(1);
    expect(await deps.store.devices.require(d.uuid)).toMatchObject({
      provisioningState: 'provisioned',
      provisioningStage: 'stage-two',
      discoveryStatus: 'provisioned',
    });

    await activities.recordResult(result(d.uuid, 'remove', key('res2', 'OOB10/remove')));
    expect(await deps.store.results.forDevice(d.uuid)).toHaveLength(2);
    expect(await deps.store.devices.require(d.uuid)).toMatchObject({
      provisioningState: 'unprovisioned',
      discoveryStatus: 'not_provisioned',
    });
  });
});
