import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { DeviceSession } from '../../../activities/contract';
import { serialiseRef, openDevice } from '../../../lib/provisioning';
import type { Device } from '../../../emulator/device/device';
import type { AmtSettingsInput } from '../../../lib/store/profile-settings';
import {
  adminHolds,
  deviceTestbed,
  normaliseSerial,
  servedCertificateSerial,
  sidBase64,
  uuidOf,
  type DeviceTestbed,
} from './support-device';

/** What a typed, retryable or final activity failure looks like. */
const failure = (type: string, nonRetryable: boolean) => expect.objectContaining({ type, nonRetryable });

const PROFILE: AmtSettingsInput = {
  userAccounts: [
    { type: 'digest', username: 'helpdesk', password: 'Help!Desk2024', realms: ['Redirection', 'RemoteControl'] },
    { type: 'kerberos', account: 'CORP\\AMT Operators', realms: ['PTAdministration'], access: 'local_and_network' },
  ],
  ping: true,
  webUi: true,
  serialOverLan: true,
  ideRedirection: true,
  kvm: true,
  userConsent: 'kvm',
  powerPackage: 'desktop_s0_s3_s45',
  wireless: [
    {
      name: 'corp',
      ssid: 'CORP',
      authentication: 'wpa2_psk',
      encryption: 'ccmp',
      priority: 1,
      passphrase: 'Wireless!Pass1',
    },
  ],
  wiredIeee8021x: {
    protocol: 'peapv0_eap_mschapv2',
    username: 'amt-wired',
    password: 'Eap!Password1',
    serverCertificateName: 'radius.corp.example.test',
  },
  mebx: { policy: 'set', password: 'Mebx!Pass1234' },
};

const OPERATORS = { name: 'corp\\amt operators', sidBase64: sidBase64(21, 1, 2, 3, 1105) };

/** OOB3–OOB6 on a fresh device: the provisioning TLS session and the login with the factory account. */
async function connect(bed: DeviceTestbed, device: Device, protocol: 'wsman' | 'eoi'): Promise<DeviceSession> {
  await bed.activities.connectForProvisioning({ deviceUuid: uuidOf(device), protocol });
  const session: DeviceSession = { deviceUuid: uuidOf(device), tls: 'provisioning', protocol };
  const login = await bed.activities.loginWithDigest({ session });
  expect(login).toEqual({ credentialRef: 'account:factory', provisioningState: 'in' });
  return { ...session, credentialRef: login.credentialRef };
}

/** OOB8 up to and without the commit, as provisionDevice runs it; returns the session with the admin ref. */
async function stageOneBeforeCommit(bed: DeviceTestbed, device: Device, session: DeviceSession) {
  const { fqdn, hostName, domain } = await bed.deps.store.devices.require(device.uuid);
  const key = (step: string) => `wf-${device.uuid}/run/${step}`;
  const { serial } = await bed.activities.requestWebServerCertificate({ session, fqdn, idempotencyKey: key('I2') });
  await bed.activities.setAmtClock({ session });
  await bed.activities.setHostNameAndDomain({ session, hostName, domain });
  await bed.activities.installCertificateAndEnableTls({ session, serial });
  const admin = await bed.activities.setAdminPassword({ session, idempotencyKey: key('OOB8.4') });
  const withAdmin = { ...session, credentialRef: admin.credentialRef };
  const mebx = await bed.activities.setMebxPassword({ session: withAdmin, idempotencyKey: key('OOB8.5') });
  return { session: withAdmin, serial, mebx, fqdn, hostName };
}

async function currentAdminPassword(bed: DeviceTestbed, device: Device): Promise<string> {
  const current = await bed.deps.store.credentials.current(device.uuid, 'amt_admin');
  if (!current) throw new Error('no current admin credential');
  return bed.deps.store.credentials.reveal(current);
}

describe.each([
  { label: 'modern (AMT 11.8.50, WS-Management)', amtVersion: '11.8.50', protocol: 'wsman' as const },
  { label: 'legacy (AMT 3.2.1, EOI)', amtVersion: '3.2.1', protocol: 'eoi' as const },
])('provisioning a $label device', ({ amtVersion, protocol }) => {
  let bed: DeviceTestbed;
  beforeAll(async () => {
    bed = await deviceTestbed([{ amtVersion }], { profile: PROFILE });
  });
  afterAll(() => bed.cleanup());

  it('runs stage one and stage two, and the firmware holds what the site database says', async () => {
    const device = bed.fleet.devices[0]!;
    const connected = await connect(bed, device, protocol);
    const { session, serial, mebx, hostName } = await stageOneBeforeCommit(bed, device, connected);
    expect(session.credentialRef).toBe('amt_admin:1');
    await bed.activities.commitSetup({ session });

    let nvram = device.nvram();
    expect(nvram.provisioning.state).toBe(2);
    expect(nvram.general).toMatchObject({ hostName, domainName: 'corp.example.test' });
    expect(servedCertificateSerial(device)).toBe(normaliseSerial(serial));
    expect(adminHolds(device, await currentAdminPassword(bed, device))).toBe(true);
    // PasswordModel 0 before AMT 6: the MEBx password follows the admin password, nothing to set.
    expect(mebx).toEqual({ changed: protocol === 'wsman' });
    if (protocol === 'wsman') expect(nvram.mebx).toEqual({ password: 'Mebx!Pass1234', changed: true });
    // A CA-made key (EOI) is forgotten once the firmware holds it durably.
    await expect(bed.deps.ca.privateKeyForFirmware(serial)).rejects.toMatchObject({
      code: 'PRIVATE_KEY_NOT_AVAILABLE',
    });

    // Stage two over TLS verified against amtflow's CA and the device FQDN.
    const login = await bed.activities.loginWithDigest({
      session: { deviceUuid: uuidOf(device), tls: 'managed', protocol },
    });
    expect(login).toEqual({ credentialRef: 'amt_admin:1', provisioningState: 'post' });
    const managed: DeviceSession = {
      deviceUuid: uuidOf(device),
      tls: 'managed',
      protocol,
      credentialRef: login.credentialRef,
    };
    expect(await bed.activities.configureAccessControl({ session: managed, accounts: [OPERATORS] })).toEqual({
      entries: 2,
    });
    // Again: the ACL is cleared first, so a retry converges instead of adding twice.
    expect(await bed.activities.configureAccessControl({ session: managed, accounts: [OPERATORS] })).toEqual({
      entries: 2,
    });
    await bed.activities.configureFeatures({ session: managed });
    expect(await bed.activities.setPowerPolicy({ session: managed })).toEqual({ changed: true });
    expect(await bed.activities.setPowerPolicy({ session: managed })).toEqual({ changed: false });
    expect(
      await bed.activities.configureNetworkAuthentication({
        session: managed,
        update: false,
        idempotencyKey: 'wf/run/OOB9.4',
      }),
    ).toEqual({ profiles: 1 });
    // UPD4: an update leaves the wireless profiles alone.
    expect(
      await bed.activities.configureNetworkAuthentication({
        session: managed,
        update: true,
        idempotencyKey: 'wf/run2/OOB9.4',
      }),
    ).toEqual({ profiles: 0 });

    nvram = device.nvram();
    expect(nvram.users.map((u) => ({ username: u.username, sid: u.kerberosSid, realms: u.realms }))).toEqual([
      { username: 'helpdesk', sid: null, realms: [2, 5] },
      { username: null, sid: OPERATORS.sidBase64, realms: [3] },
    ]);
    expect(nvram.general).toMatchObject({ pingResponseEnabled: true, webUiEnabled: true });
    expect(nvram.redirection).toMatchObject({ enabledState: 32771, listenerEnabled: true });
    if (protocol === 'wsman') {
      expect(nvram.kvm.enabledState).toBe(2);
      expect(nvram.optIn.required).toBe(1);
    }
    expect(nvram.power.schemeIndex).toBe(7);
    expect(nvram.wifi.profiles.map((p) => p.ssid)).toEqual(['CORP']);
    expect(nvram.ieee8021x).toMatchObject({ enabled: 2, authenticationProtocol: 2, username: 'amt-wired' });
  });
});

describe('one-shot steps read the firmware first', () => {
  let bed: DeviceTestbed;
  beforeAll(async () => {
    bed = await deviceTestbed([{}, {}, {}, {}, {}, { amtVersion: '3.2.1' }], {
      profile: { mebx: { policy: 'leave' } },
    });
  });
  afterAll(() => bed.cleanup());

  it('a crash between the device taking the admin password and promote converges to a current credential', async () => {
    const device = bed.fleet.devices[0]!;
    const session = await connect(bed, device, 'wsman');
    const key = 'wf-crash/run/OOB8.4';
    // The first attempt: write-ahead, then the device call — and the worker dies before promote.
    const staged = await bed.deps.store.credentials.stagePending(device.uuid, 'amt_admin', key);
    const password = await bed.deps.store.credentials.reveal(staged);
    const { amt, setup } = await openDevice(bed.deps, session);
    await amt.login('wsman');
    await setup.setAdminPassword({ username: 'admin', password, ref: serialiseRef(staged) });
    expect(await bed.deps.store.credentials.current(device.uuid, 'amt_admin')).toBeUndefined();

    expect(await bed.activities.setAdminPassword({ session, idempotencyKey: key })).toEqual({
      credentialRef: 'amt_admin:1',
    });
    expect(await bed.deps.store.credentials.current(device.uuid, 'amt_admin')).toMatchObject({ version: 1 });
    expect(adminHolds(device, password)).toBe(true);
    const fresh = await bed.activities.loginWithDigest({ session: { ...session, credentialRef: undefined } });
    expect(fresh.credentialRef).toBe('amt_admin:1');
  });

  it('a reboot during an applied commit is read, not re-sent', async () => {
    const device = bed.fleet.devices[1]!;
    const { session } = await stageOneBeforeCommit(bed, device, await connect(bed, device, 'wsman'));
    bed.fleet.inject({ kind: 'rebootDuringCommit', applied: true, rebootMs: 0, times: 1 }, device.uuid);
    // Counts CommitChanges: a second one would use up its second and last application.
    const counter = bed.fleet.inject({ kind: 'delay', ms: 0, match: 'CommitChanges', times: 2 }, device.uuid);
    await bed.activities.commitSetup({ session });
    expect(device.nvram().provisioning.state).toBe(2);
    expect(bed.fleet.faults().map((f) => f.id)).toContain(counter.id);
    // A retry of the step finds post and sends nothing.
    await bed.activities.commitSetup({ session });
    expect(bed.fleet.faults().map((f) => f.id)).toContain(counter.id);
  });

  it('a reboot before the commit reached NVRAM fails retryably; the next attempt reads in-provisioning and commits', async () => {
    const device = bed.fleet.devices[2]!;
    const { session } = await stageOneBeforeCommit(bed, device, await connect(bed, device, 'wsman'));
    bed.fleet.inject({ kind: 'rebootDuringCommit', applied: false, rebootMs: 0, times: 1 }, device.uuid);
    await expect(bed.activities.commitSetup({ session })).rejects.toEqual(failure('CONNECTION_RESET', false));
    expect(device.nvram().provisioning.state).toBe(1);
    await bed.activities.commitSetup({ session });
    expect(device.nvram().provisioning.state).toBe(2);
  });

  it('a TLS credential context or a commit the firmware answered but did not keep is read back; the retry holds', async () => {
    const device = bed.fleet.devices[4]!;
    const session = await connect(bed, device, 'wsman');
    // OOB8.3's credential context (its only Create) is answered and lost.
    bed.fleet.inject({ kind: 'lostWrite', match: 'Create', times: 1 }, device.uuid);
    await expect(stageOneBeforeCommit(bed, device, session)).rejects.toEqual(failure('SETTING_NOT_KEPT', false));
    expect(device.nvram().tls.credentialContext).toBeNull();
    const { session: withAdmin } = await stageOneBeforeCommit(bed, device, session);
    expect(device.nvram().tls.credentialContext).not.toBeNull();

    bed.fleet.inject({ kind: 'lostWrite', match: 'CommitChanges', times: 1 }, device.uuid);
    await expect(bed.activities.commitSetup({ session: withAdmin })).rejects.toEqual(
      failure('SETTING_NOT_KEPT', false),
    );
    expect(device.nvram().provisioning.state).toBe(1);
    await bed.activities.commitSetup({ session: withAdmin });
    expect(device.nvram().provisioning.state).toBe(2);
  });

  it('EOI: a TLS key and certificate answered but not kept is read back over WS-Management; the retry holds', async () => {
    const device = bed.fleet.devices[5]!;
    const session = await connect(bed, device, 'eoi');
    bed.fleet.inject({ kind: 'lostWrite', match: 'SetTLSKeyAndCertificate', times: 1 }, device.uuid);
    await expect(stageOneBeforeCommit(bed, device, session)).rejects.toEqual(failure('SETTING_NOT_KEPT', false));
    expect(device.nvram().certs).toEqual([]);
    const { session: withAdmin, serial } = await stageOneBeforeCommit(bed, device, session);
    // Sent again (a retry after a later call of the step failed): EOI keeps a second copy, and the
    // read-back finds the one in the credential context.
    await bed.activities.installCertificateAndEnableTls({ session: withAdmin, serial });
    expect(device.nvram().certs).toHaveLength(2);
    await bed.activities.commitSetup({ session: withAdmin });
    expect(device.nvram().provisioning.state).toBe(2);
  });

  it.each([
    { kind: 'drop' as const, type: 'CONNECTION_RESET' },
    { kind: 'http500' as const, type: 'UNEXPECTED_HTTP_STATUS' },
    { kind: 'busy' as const, type: 'WSMAN_QUOTA_LIMIT' },
  ])('a $kind fault is a retryable $type failure', async ({ kind, type }) => {
    const device = bed.fleet.devices[3]!;
    const session: DeviceSession = { deviceUuid: uuidOf(device), tls: 'provisioning', protocol: 'wsman' };
    if (device.nvram().provisioning.state === 0) await connect(bed, device, 'wsman');
    bed.fleet.inject({ kind, times: 1 }, device.uuid);
    await expect(bed.activities.setAmtClock({ session })).rejects.toEqual(failure(type, false));
    await expect(bed.activities.setAmtClock({ session })).resolves.toEqual({ driftSeconds: expect.any(Number) });
  });
});

/**
 * A write the firmware answers with success but does not keep (the emulator's lost NVRAM write) is
 * read back by every stage-two step: a retryable SETTING_NOT_KEPT instead of a step that succeeds,
 * and the step's next attempt puts the settings again and holds.
 */
describe('stage two reads back what it wrote', () => {
  let bed: DeviceTestbed;
  let session: DeviceSession;
  beforeAll(async () => {
    bed = await deviceTestbed([{ amtVersion: '11.8.50' }], { profile: PROFILE });
    session = await provisioned(bed, bed.fleet.devices[0]!);
  });
  afterAll(() => bed.cleanup());
  const nvram = () => bed.fleet.devices[0]!.nvram();

  it.each([
    {
      step: 'OOB9.1',
      setting: 'the user ACL',
      // The first entry added is lost: the ACL holds one of the profile's two.
      lost: { match: 'AddUserAclEntryEx', times: 1 },
      run: () => bed.activities.configureAccessControl({ session, accounts: [OPERATORS] }),
      held: () => nvram().users.length,
      wanted: 2,
    },
    {
      step: 'OOB9.2',
      setting: 'the features',
      // The web UI (already on) and then SOL/IDER: redirection stays off.
      lost: { match: 'RequestStateChange', times: 2 },
      run: () => bed.activities.configureFeatures({ session }),
      held: () => nvram().redirection.enabledState,
      wanted: 32771,
    },
    {
      step: 'OOB9.3b',
      setting: 'the power package',
      lost: { match: 'SetPowerScheme', times: 1 },
      run: () => bed.activities.setPowerPolicy({ session }),
      held: () => nvram().power.schemeIndex,
      wanted: 7,
    },
    {
      step: 'OOB9.4 (wired, on update)',
      setting: 'the 802.1X wired settings',
      // Before the wireless case, whose retry applies the wired settings too.
      lost: { match: 'Put', times: 1 },
      run: () => bed.activities.configureNetworkAuthentication({ session, update: true, idempotencyKey: 'wf/lost/b' }),
      held: () => nvram().ieee8021x.enabled,
      wanted: 2,
    },
    {
      step: 'OOB9.4 (wireless)',
      setting: 'the wireless profiles',
      lost: { match: 'AddWiFiSettings', times: 1 },
      run: () => bed.activities.configureNetworkAuthentication({ session, update: false, idempotencyKey: 'wf/lost/a' }),
      held: () =>
        nvram()
          .wifi.profiles.map((p) => p.ssid)
          .join(','),
      wanted: 'CORP',
    },
  ])('$step: a lost write is SETTING_NOT_KEPT, and the retry holds', async ({ setting, lost, run, held, wanted }) => {
    const device = bed.fleet.devices[0]!;
    bed.fleet.inject({ kind: 'lostWrite', ...lost }, device.uuid);
    const error = await run().catch((err: unknown) => err);
    expect(error).toEqual(failure('SETTING_NOT_KEPT', false));
    expect((error as Error).message).toContain(setting);
    expect(held()).not.toEqual(wanted);
    // The fault was used up by the lost write: nothing else stands between the retry and the firmware.
    expect(bed.fleet.faults()).toEqual([]);
    await run();
    expect(held()).toEqual(wanted);
  });

  it('never names a secret of the profile in the failure', async () => {
    const device = bed.fleet.devices[0]!;
    bed.fleet.inject({ kind: 'lostWrite', match: 'AddWiFiSettings', times: 1 }, device.uuid);
    bed.fleet.inject({ kind: 'lostWrite', match: 'Put', times: 1 }, device.uuid);
    const error = await bed.activities
      .configureNetworkAuthentication({ session, update: false, idempotencyKey: 'wf/lost/c' })
      .catch((err: unknown) => err);
    expect(error).toEqual(failure('SETTING_NOT_KEPT', false));
    const text = JSON.stringify(error) + String((error as Error).message);
    for (const secret of ['Wireless!Pass1', 'Eap!Password1', 'Help!Desk2024', 'Mebx!Pass1234'])
      expect(text).not.toContain(secret);
    bed.fleet.clearFaults();
  });
});

describe('IB5 one-time password', () => {
  let bed: DeviceTestbed;
  beforeAll(async () => {
    bed = await deviceTestbed([{}, {}]);
  });
  afterAll(() => bed.cleanup());

  const sha256 = (text: string) => createHash('sha256').update(text, 'ascii').digest('hex');

  it('matches the reported hash, presents the OTP, and the commit is then allowed', async () => {
    const device = bed.fleet.devices[0]!;
    await device.setProvisioningOtp('Otp-1234567890ab');
    await bed.deps.store.otp.record(device.uuid, { algorithm: 'sha256', hash: sha256('Otp-1234567890ab') });
    const session = await connect(bed, device, 'wsman');
    await bed.activities.verifyOneTimePassword({ session });
    // A retry of the step after its match is answered the same way.
    await bed.activities.verifyOneTimePassword({ session });
    expect(device.nvram().provisioning.presentedOtp).toBe('Otp-1234567890ab');
    const { session: withAdmin } = await stageOneBeforeCommit(bed, device, session);
    await bed.activities.commitSetup({ session: withAdmin });
    expect(device.nvram().provisioning.state).toBe(2);
  });

  it('a different hash is a final OTP_MISMATCH that carries no OTP', async () => {
    const device = bed.fleet.devices[1]!;
    await device.setProvisioningOtp('Otp-abcdefghijkl');
    await bed.deps.store.otp.record(device.uuid, { algorithm: 'sha256', hash: sha256('Otp-somethingelse') });
    const session = await connect(bed, device, 'wsman');
    const error = await bed.activities.verifyOneTimePassword({ session }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toEqual(failure('OTP_MISMATCH', true));
    expect(JSON.stringify(error) + String((error as Error).message)).not.toContain('Otp-abcdefghijkl');
    expect(device.nvram().provisioning.presentedOtp).toBeNull();
  });
});

/** Stage one through the commit, as provisionDevice runs it; the session for what follows it. */
async function provisioned(bed: DeviceTestbed, device: Device): Promise<DeviceSession> {
  const { session } = await stageOneBeforeCommit(bed, device, await connect(bed, device, 'wsman'));
  await bed.activities.commitSetup({ session });
  return { ...session, tls: 'managed' };
}

describe('OOB9.3 Kerberos (test Samba DC)', () => {
  let bed: DeviceTestbed;
  beforeAll(async () => {
    bed = await deviceTestbed([{}], { directory: true, profile: { mebx: { policy: 'leave' } } });
  });
  afterAll(() => bed.cleanup());

  it('gives the firmware the AMT account key of the current directory password and its key version, read back', async () => {
    const device = bed.fleet.devices[0]!;
    const session = await provisioned(bed, device);
    const { fqdn, domain } = await bed.deps.store.devices.require(device.uuid);
    // What I3 (publishAmtAccount) leaves behind: the account, and its password written ahead.
    await bed.deps.withDirectory(async (directory) => {
      try {
        await directory.ensureAmtContainer(domain);
        await directory.publishAmtAccount({ fqdn, domain });
        const staged = await bed.deps.store.credentials.stagePending(device.uuid, 'directory_account', 'wf/run/I3');
        const account = await directory.setAmtAccountPassword(fqdn, await bed.deps.store.credentials.reveal(staged));
        await bed.deps.store.credentials.promote(staged);

        // The firmware answers the Put with success and keeps nothing: read back, Kerberos is off.
        bed.fleet.inject({ kind: 'lostWrite', match: 'Put', times: 1 }, device.uuid);
        const lost = await bed.activities.enableKerberos({ session }).catch((err: unknown) => err);
        expect(lost).toEqual(failure('SETTING_NOT_KEPT', false));
        expect((lost as Error).message).toMatch(/Kerberos.*enabled is false, written true/);
        expect(device.nvram().kerberos.krbEnabled).toBe(false);

        // The step's retry puts it again and reads it back.
        await bed.activities.enableKerberos({ session });
        expect(device.nvram().kerberos).toMatchObject({
          realmName: account.realm.toUpperCase(),
          keyVersion: account.keyVersionNumber,
          krbEnabled: true,
        });
      } finally {
        await directory.deleteAmtAccount(fqdn);
      }
    });
  });
});

describe('DEP1 removal', () => {
  let bed: DeviceTestbed;
  beforeAll(async () => {
    bed = await deviceTestbed([{}, {}, {}], { profile: { mebx: { policy: 'leave' } } });
  });
  afterAll(() => bed.cleanup());

  it('DEP1 full removal reads the state first: a repeated removal finds the factory device and sends nothing', async () => {
    const device = bed.fleet.devices[0]!;
    const session = await provisioned(bed, device);
    await bed.activities.unprovisionDevice({ session, mode: 'full' });
    expect(device.nvram().provisioning.state).toBe(0);
    expect(device.nvram().admin.isDefault).toBe(true);
    await bed.activities.unprovisionDevice({ session, mode: 'full' });
    expect(device.nvram().provisioning.state).toBe(0);
  });

  it('DEP1 reads the state back: an Unprovision answered but not kept is SETTING_NOT_KEPT; the retry removes', async () => {
    const device = bed.fleet.devices[1]!;
    const session = await provisioned(bed, device);
    bed.fleet.inject({ kind: 'lostWrite', match: 'Unprovision', times: 1 }, device.uuid);
    await expect(bed.activities.unprovisionDevice({ session, mode: 'full' })).rejects.toEqual(
      failure('SETTING_NOT_KEPT', false),
    );
    expect(device.nvram().provisioning.state).toBe(2);
    await bed.activities.unprovisionDevice({ session, mode: 'full' });
    expect(device.nvram().provisioning.state).toBe(0);
  });

  it('DEP1 with the host off: the device drops off the network once it took the Unprovision, and that is done', async () => {
    const device = bed.fleet.devices[2]!;
    const session = await provisioned(bed, device);
    // The profile's power package keeps the ME on in S4-5 until the removal restores the factory one.
    await bed.activities.setPowerPolicy({ session });
    await device.host.local('power-button');
    await bed.activities.unprovisionDevice({ session, mode: 'full' });
    expect(device.nvram().provisioning.state).toBe(0);
  });
});
