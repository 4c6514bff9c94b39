import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import pino from 'pino';
import type { WorkflowFailedError, ApplicationFailure, WorkflowHandle } from '@temporalio/client';
import { createHelloService } from '../../../api/hello-service';
import { Device } from '../../../emulator/device/device';
import { createNvram, ha1 } from '../../../emulator/device/nvram';
import { deviceProfileSchema } from '../../../emulator/device/profile';
import { FaultRegistry } from '../../../emulator/fleet/faults';
import { startFleet, type Fleet } from '../../../emulator/fleet/fleet';
import type { DeviceUuid } from '../../../lib/device-uuid';
import type { Hello } from '../../../lib/hello/parse';
import { openDevice } from '../../../lib/provisioning';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import { operatorDecisionUpdate, progressQuery } from '../../../workflows/messages';
import { deviceWorkflowId } from '../../../workflows/names';
import { waitFor } from '../../../scripts/lib/process';
import { parkedAt } from '../../support/progress';
import { expectNoSecretInHistories, expectProvisionedEverywhere } from '../../support/agreement';
import { PROFILE_SECRETS, startLifecycleEnv, type E2eDevice, type LifecycleEnv } from '../../support/lifecycle-env';
import { TEST_DOMAIN } from '../../support/activity-env';
import { testKeyPool } from '../../unit/emulator/support/pki';

/**
 * Issue 9 — trust the device, not the packet — against the real stack: a run is bound to the
 * address it started with and the firmware it reached there; a hello is an unauthenticated message
 * that may record and audit, never redirect a run or degrade a provisioned device; compensation
 * undoes only the run's own work (docs/architecture.md, abort matrix).
 */
describe('trust: runs bound to the device they reached', () => {
  let env: LifecycleEnv;
  let impostors: Fleet;
  let impostorDir: string;
  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-real', amtVersion: '11.8.50' },
        { hostName: 'amt-forged', amtVersion: '11.8.50' },
        { hostName: 'amt-offline', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-i2', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-clock', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-admin', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-commit', amtVersion: '11.8.50' },
        { hostName: 'amt-abort-power', amtVersion: '11.8.50' },
        { hostName: 'amt-reprovision', amtVersion: '11.8.50' },
        { hostName: 'amt-identity', amtVersion: '11.8.50' },
        { hostName: 'amt-identity-other', amtVersion: '11.8.50' },
        { hostName: 'amt-pin', amtVersion: '11.8.50' },
        { hostName: 'amt-revoked', amtVersion: '11.8.50' },
        { hostName: 'amt-commit-lost', amtVersion: '11.8.50' },
        { hostName: 'amt-renew-moved', amtVersion: '11.8.50' },
        { hostName: 'amt-rotate-moved', amtVersion: '11.8.50' },
      ],
      { firstIp: '127.31.9.1' },
    );
    // Second machines that claim the UUIDs of the first two (an imported, copied SMBIOS UUID) and
    // trust amtflow's provisioning root: if amtflow ever dialled them, they would take the run.
    impostorDir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-impostors-'));
    const rootSha256 = env.deps.ca.provisioning.credential().rootThumbprints.sha256;
    impostors = await startFleet({
      devices: env.devices.slice(0, 2).map((device) => ({
        uuid: device.uuid,
        amtVersion: '11.8.50',
        dnsSuffix: TEST_DOMAIN,
        hello: null,
        customHashes: [{ algorithm: 'sha256' as const, hash: rootSha256, description: 'amtflow provisioning root' }],
      })),
      stateDir: impostorDir,
      ephemeralPorts: true,
      keyPool: await testKeyPool(),
      firstIp: '127.31.10.1',
      admin: false,
    });
  });
  afterAll(async () => {
    await impostors?.stop();
    await env?.stop();
    if (impostorDir) rmSync(impostorDir, { recursive: true, force: true });
  });

  const byName = (hostName: string): E2eDevice => env.devices.find((d) => d.hostName === hostName)!;
  const helloService = () =>
    createHelloService({
      store: env.deps.store,
      client: env.env.client,
      logger: pino({ level: 'silent' }),
      taskQueue: env.taskQueue,
    });
  /** What the impostor's hello says: the imported UUID and amtflow's root hash. */
  const helloOf = (uuid: DeviceUuid): Hello => ({
    version: 3,
    adminCredentialsSet: false,
    retryCount: 0,
    uuid,
    rootHashes: [{ algorithm: 'sha256', hex: env.deps.ca.provisioning.credential().rootThumbprints.sha256 }],
  });
  const decide = (handle: WorkflowHandle, action: 'retry' | 'abort', step?: string) =>
    handle.executeUpdate(operatorDecisionUpdate, {
      args: [{ action, operator: 'carol', ...(step ? { step } : {}) }],
    });
  const failureType = (err: unknown) => ((err as WorkflowFailedError).cause as ApplicationFailure).type;
  const account = (fqdn: string) => env.deps.withDirectory((directory) => directory.findAmtAccount(fqdn));
  const serials = async (uuid: string) =>
    (await env.deps.ca.currentCertificates(uuid, ['amt-web-server'])).map((c) => c.serial);
  /** What an impostor's firmware was given: nothing, as shipped. */
  const expectUntouched = (fleet: Fleet, uuid: string) => {
    const nvram = fleet.device(uuid).nvram();
    expect(nvram.provisioning.state).toBe(0);
    expect(nvram.certs).toEqual([]);
    expect(nvram.admin.isDefault).toBe(true);
    expect(nvram.kerberos.krbEnabled).toBe(false);
    expect(nvram.general.hostName).not.toBe('amt-real');
  };

  it('an impostor saying hello in stage one and in stage two gets nothing; the run parks, then ends on the real device', async () => {
    const device = byName('amt-real');
    const impostor = impostors.device(device.uuid);
    const hellos = helloService();
    const clock = env.fleet.inject({ kind: 'http500', match: 'SetHighAccuracyTimeSynch' }, device.uuid);
    const handle = await env.provision(device.uuid);

    // Stage one: the impostor's hello is recorded as a conflict, never used; the run parks on DUPLICATE_UUID.
    await parkedAt(handle, 'OOB8.1');
    await hellos.onHello(helloOf(device.uuid), impostor.address);
    expect((await env.deps.store.contacts.get(device.uuid))?.host).toBe(env.fleet.device(device.uuid).address);
    env.fleet.clearFaults(clock.id);
    await decide(handle, 'retry', 'OOB8.1');
    await parkedAt(handle, 'OOB8.1', 'DUPLICATE_UUID');
    expect(await env.deps.store.contacts.clearConflicts(device.uuid, 'carol')).toBe(1);
    const power = env.fleet.inject({ kind: 'http500', match: 'SetPowerScheme' }, device.uuid);
    await decide(handle, 'retry', 'OOB8.1');

    // Stage two: the same again, after the commit.
    await parkedAt(handle, 'OOB9.3b');
    await hellos.onHello(helloOf(device.uuid), impostor.address);
    env.fleet.clearFaults(power.id);
    await decide(handle, 'retry', 'OOB9.3b');
    await parkedAt(handle, 'OOB9.3b', 'DUPLICATE_UUID');
    await env.deps.store.contacts.clearConflicts(device.uuid, 'carol');
    await decide(handle, 'retry', 'OOB9.3b');

    await expectProvisionedEverywhere(env, device, await handle.result());
    expectUntouched(impostors, device.uuid);
    const conflicts = (await env.deps.store.audit.forTarget(device.uuid)).filter(
      (a) => a.action === 'hello.duplicate-uuid',
    );
    expect(conflicts).toHaveLength(2);
    expect(conflicts[0]).toMatchObject({
      actor: 'hello-listener',
      outcome: 'denied',
      details: { host: impostor.address, knownHost: env.fleet.device(device.uuid).address },
    });
  });

  it('a forged hello for a provisioned device changes nothing and starts no run', async () => {
    const device = byName('amt-forged');
    const first = await env.provision(device.uuid);
    const result = await first.result();
    const runBefore = (await first.describe()).runId;
    const keyVersion = (await account(device.fqdn))?.keyVersionNumber;

    await helloService().onHello(helloOf(device.uuid), impostors.device(device.uuid).address);

    const latest = await env.env.client.workflow.getHandle(deviceWorkflowId(device.uuid)).describe();
    expect(latest.runId).toBe(runBefore);
    expect(latest.status.name).toBe('COMPLETED');
    expect(await serials(device.uuid)).toEqual([result.certificateSerial]);
    expect((await account(device.fqdn))?.keyVersionNumber).toBe(keyVersion);
    expect((await env.deps.store.contacts.get(device.uuid))?.host).toBe(env.fleet.device(device.uuid).address);
    expect((await env.deps.store.audit.forTarget(device.uuid)).map((a) => a.action)).toContain(
      'hello.provisioned-device',
    );
    expectUntouched(impostors, device.uuid);
    await expectProvisionedEverywhere(env, device, result);
  });

  it('an update of a device that cannot be reached, then aborted, changes neither the directory nor the certificates', async () => {
    const device = byName('amt-offline');
    await (await env.provision(device.uuid)).result();
    const keyVersion = (await account(device.fqdn))?.keyVersionNumber;
    const certificates = await env.deps.ca.currentCertificates(device.uuid);
    const offline = env.fleet.inject({ kind: 'drop' }, device.uuid);
    const update = await startLifecycle(
      env.env.client,
      'update',
      { deviceUuid: device.uuid, requestedBy: 'carol' },
      { taskQueue: env.taskQueue },
    );
    await parkedAt(update, 'UPD1');
    await decide(update, 'abort');
    expect(failureType(await update.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');
    env.fleet.clearFaults(offline.id);
    expect((await account(device.fqdn))?.keyVersionNumber).toBe(keyVersion);
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual(certificates);
  });

  /**
   * Abort matrix rows before the commit: only this run's certificate is revoked; nothing else moved.
   * The admin and MEBx passwords the firmware takes are the factory ones (before OOB8.4 took effect)
   * or the ones the database holds as current.
   */
  it.each([
    ['amt-abort-i2', 'I2', 'GenerateKeyPair', false, false],
    ['amt-abort-clock', 'OOB8.1', 'SetHighAccuracyTimeSynch', true, false],
    ['amt-abort-admin', 'OOB8.4', 'SetAdminAclEntryEx', true, false],
    ['amt-abort-commit', 'OOB8.6', 'CommitChanges', true, true],
  ] as const)('abort matrix: %s aborted at %s', async (hostName, step, operation, issued, passwordsSet) => {
    const device = byName(hostName);
    env.fleet.inject({ kind: 'http500', match: operation }, device.uuid);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, step);
    await decide(handle, 'abort');
    expect(failureType(await handle.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');
    const progress = await handle.query(progressQuery);

    // The certificate this run issued (if it got that far) is revoked; the directory was never touched.
    const own = await env.deps.ca.certificateForRequest(`${handle.workflowId}/${(await handle.describe()).runId}/I2`);
    expect(own?.status).toBe(issued ? 'revoked' : undefined);
    expect(await serials(device.uuid)).toEqual([]);
    expect(progress.steps.some((s) => s.id === 'I2.undo')).toBe(true);
    // Aborted at the commit, the firmware was read first: still in setup, so the run undid its work.
    if (step === 'OOB8.6') expect(progress.steps.find((s) => s.id === 'OOB8.6.read')?.status).toBe('succeeded');
    expect(progress.steps.filter((s) => ['I1', 'I3', 'I4'].includes(s.id)).map((s) => s.status)).toEqual([
      'pending',
      'pending',
      'pending',
    ]);
    expect(await account(device.fqdn)).toBeUndefined();
    // The firmware never left setup; the record is as before the run.
    const nvram = env.fleet.device(device.uuid).nvram();
    expect(nvram.provisioning.state).not.toBe(2);
    const admin = await env.deps.store.credentials.current(device.uuid, 'amt_admin');
    const mebx = await env.deps.store.credentials.current(device.uuid, 'mebx');
    if (passwordsSet) {
      const password = await env.deps.store.credentials.reveal(admin!);
      expect(nvram.admin.ha1).toBe(ha1(nvram.admin.username, nvram.realm, password));
      expect(nvram.mebx.password).toBe(await env.deps.store.credentials.reveal(mebx!));
    } else {
      expect(nvram.admin.isDefault).toBe(true);
      expect(nvram.mebx.changed).toBe(false);
      expect(admin).toBeUndefined();
      expect(mebx).toBeUndefined();
    }
    expect((await env.deps.store.devices.require(device.uuid)).provisioningState).toBe('unprovisioned');
  });

  it('abort matrix: aborted after the commit, the device stays provisioned and every record says so; a forged hello then changes nothing', async () => {
    const device = byName('amt-abort-power');
    env.fleet.inject({ kind: 'http500', match: 'SetPowerScheme' }, device.uuid);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'OOB9.3b');
    await decide(handle, 'abort');
    expect(failureType(await handle.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');

    const nvram = env.fleet.device(device.uuid).nvram();
    expect(nvram.provisioning.state).toBe(2);
    const current = await serials(device.uuid);
    expect(current).toHaveLength(1);
    const installed = nvram.certs.map((c) =>
      new X509Certificate(Buffer.from(c.der, 'base64')).serialNumber.toLowerCase(),
    );
    expect(installed).toContain(current[0]!.toLowerCase());
    const published = await account(device.fqdn);
    expect(published?.keyVersionNumber).toBe(nvram.kerberos.keyVersion);
    expect(await env.deps.store.credentials.current(device.uuid, 'amt_admin')).toBeDefined();
    expect(await env.deps.store.devices.require(device.uuid)).toMatchObject({
      provisioningState: 'failed',
      discoveryStatus: 'provisioned',
      provisioningStage: 'stage-one',
    });
    const steps = (await handle.query(progressQuery)).steps;
    expect(steps.find((s) => s.id === 'OOB8.6.keep')?.status).toBe('succeeded');
    expect(steps.filter((s) => s.status === 'compensated')).toEqual([]);

    // The firmware is provisioned although amtflow's lifecycle says failed: a hello cannot come from
    // it, so one naming its UUID from elsewhere is audited and moves nothing, starts nothing.
    const runBefore = (await handle.describe()).runId;
    await helloService().onHello(helloOf(device.uuid), '127.31.10.99');
    const latest = await env.env.client.workflow.getHandle(deviceWorkflowId(device.uuid)).describe();
    expect(latest.runId).toBe(runBefore);
    expect(latest.status.name).toBe('FAILED');
    expect((await env.deps.store.contacts.get(device.uuid))?.host).toBe(env.fleet.device(device.uuid).address);
    expect(await serials(device.uuid)).toEqual(current);
    expect((await account(device.fqdn))?.keyVersionNumber).toBe(published?.keyVersionNumber);
    expect(await env.deps.store.audit.forTarget(device.uuid)).toContainEqual(
      expect.objectContaining({
        action: 'hello.provisioned-device',
        details: expect.objectContaining({ host: '127.31.10.99' }),
      }),
    );
  });

  it('abort matrix: an aborted re-provision leaves the earlier directory account and certificate', async () => {
    const device = byName('amt-reprovision');
    const first = await (await env.provision(device.uuid)).result();
    const earlier = await account(device.fqdn);
    // Someone resets the firmware by hand (MEBx): it says hello again, in pre-provisioning.
    const { setup } = await openDevice(env.deps, { deviceUuid: device.uuid, tls: 'managed', protocol: 'wsman' });
    await setup.unprovision('full');
    await env.deps.store.devices.update(device.uuid, { provisioningState: 'unprovisioned' });

    env.fleet.inject({ kind: 'http500', match: 'SetAdminAclEntryEx' }, device.uuid);
    const again = await env.provision(device.uuid);
    await parkedAt(again, 'OOB8.4');
    await decide(again, 'abort');
    expect(failureType(await again.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');

    const after = await account(device.fqdn);
    expect(after?.dn).toBe(earlier?.dn);
    expect(after?.keyVersionNumber).toBe(earlier?.keyVersionNumber);
    expect(await serials(device.uuid)).toEqual([first.certificateSerial]);
  });

  it("a device at the run's address that reports another platform UUID after login gets nothing: DEVICE_IDENTITY_MISMATCH", async () => {
    const device = byName('amt-identity');
    const other = env.fleet.device(byName('amt-identity-other').uuid);
    // The contact names another computer's address (a stale DHCP lease, a mistyped operator entry):
    // it trusts amtflow's root and takes the factory password, so only the UUID it reports tells.
    await env.deps.store.contacts.recordOperatorEntry(device.uuid, {
      host: other.address,
      httpPort: other.httpPort,
      tlsPort: other.tlsPort,
    });
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'OOB6', 'DEVICE_IDENTITY_MISMATCH');

    const progress = await handle.query(progressQuery);
    // Final on the first attempt: asking the same firmware again would not change its answer.
    expect(progress.steps.find((s) => s.id === 'OOB6')?.attempts).toBe(1);
    expect(progress.steps.find((s) => s.id === 'I2')?.status).toBe('pending');
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual([]);
    const nvram = other.nvram();
    // The TLS handshake with the provisioning certificate started remote configuration (state 1):
    // that much any connection does; nothing was written.
    expect(nvram.provisioning.state).toBe(1);
    expect(nvram.certs).toEqual([]);
    expect(nvram.admin.isDefault).toBe(true);
    expect(nvram.general.hostName).not.toBe('amt-identity');

    await decide(handle, 'abort');
    expect(failureType(await handle.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');
    expect(await account(device.fqdn)).toBeUndefined();
    expect((await env.deps.store.devices.require(device.uuid)).provisioningState).not.toBe('provisioned');
  });

  it("another device taking the run's address mid-run is refused by the pinned certificate: TLS_PIN_MISMATCH", async () => {
    const device = byName('amt-pin');
    const real = env.fleet.device(device.uuid);
    const clock = env.fleet.inject({ kind: 'http500', match: 'SetHighAccuracyTimeSynch' }, device.uuid);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'OOB8.1');

    // The real device goes; a second machine with a copied UUID and amtflow's root takes its address
    // and ports. It would pass the login and the UUID check: only the certificate pinned at OOB4 tells.
    await real.stop();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-pin-'));
    const keyPool = await testKeyPool();
    const profile = deviceProfileSchema.parse({
      uuid: device.uuid,
      address: real.address,
      amtVersion: '11.8.50',
      dnsSuffix: TEST_DOMAIN,
      hello: null,
      helloEnabled: false,
      customHashes: [
        {
          algorithm: 'sha256',
          hash: env.deps.ca.provisioning.credential().rootThumbprints.sha256,
          description: 'amtflow provisioning root',
        },
      ],
    });
    const key = keyPool.draw();
    const impostor = await Device.start({
      nvram: createNvram(
        { ...profile, uuid: device.uuid, address: real.address },
        {
          keyPem: key.privateKeyPem,
          certPem: key.certPem,
        },
      ),
      stateDir: dir,
      keyPool,
      faults: new FaultRegistry(),
      log: pino({ level: 'silent' }),
      latencyMs: profile.latencyMs,
      secureRenegotiation: profile.secureRenegotiation,
      ports: { http: real.httpPort, tls: real.tlsPort },
      helloTimeScale: 1,
    });
    try {
      env.fleet.clearFaults(clock.id);
      await decide(handle, 'retry', 'OOB8.1');
      await parkedAt(handle, 'OOB8.1', 'TLS_PIN_MISMATCH');
      const nvram = impostor.nvram();
      // The handshake (the provisioning certificate presented) is all it saw: the pin is checked
      // once the handshake completes, before any request is sent.
      expect(nvram.provisioning.state).toBe(1);
      expect(nvram.certs).toEqual([]);
      expect(nvram.admin.isDefault).toBe(true);
      expect(nvram.general.hostName).not.toBe('amt-pin');
      await decide(handle, 'abort');
      expect(failureType(await handle.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');
      expect(await serials(device.uuid)).toEqual([]);
    } finally {
      await impostor.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an update of a device serving a certificate amtflow revoked stops at UPD1 (TLS_SERVER_REVOKED) and changes nothing', async () => {
    const device = byName('amt-revoked');
    const { certificateSerial } = await (await env.provision(device.uuid)).result();
    const keyVersion = (await account(device.fqdn))?.keyVersionNumber;
    // Revoked behind the device's back (a compromised key, a device reported stolen): the firmware
    // still serves it, and it no longer proves the device's identity.
    await env.deps.ca.revoke(certificateSerial, 'keyCompromise');
    const certificates = await env.deps.ca.currentCertificates(device.uuid);
    const update = await startLifecycle(
      env.env.client,
      'update',
      { deviceUuid: device.uuid, requestedBy: 'carol' },
      { taskQueue: env.taskQueue },
    );
    await parkedAt(update, 'UPD1', 'TLS_SERVER_REVOKED');
    await decide(update, 'abort');
    expect(failureType(await update.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');
    expect((await account(device.fqdn))?.keyVersionNumber).toBe(keyVersion);
    expect(await env.deps.ca.currentCertificates(device.uuid)).toEqual(certificates);
  });

  it('abort matrix: aborted at OOB8.6 whose answer was lost although the firmware committed, the work is kept', async () => {
    const device = byName('amt-commit-lost');
    const firmware = env.fleet.device(device.uuid);
    // The commit reaches NVRAM, then the device goes down without answering and stays down through
    // every attempt of the step, so the run cannot tell and parks.
    env.fleet.inject({ kind: 'rebootDuringCommit', applied: true, rebootMs: 600_000, times: 1 }, device.uuid);
    const handle = await env.provision(device.uuid);
    await parkedAt(handle, 'OOB8.6');
    expect(firmware.nvram().provisioning.state).toBe(2);
    // Back up (a power cycle that ends now); the operator aborts.
    firmware.reboot(0);
    await decide(handle, 'abort');
    expect(failureType(await handle.result().catch((e: unknown) => e))).toBe('OPERATOR_ABORTED');

    // The firmware was read before undoing: it committed, so this run's certificate stays current.
    const own = await env.deps.ca.certificateForRequest(`${handle.workflowId}/${(await handle.describe()).runId}/I2`);
    expect(own?.status).not.toBe('revoked');
    expect(await serials(device.uuid)).toEqual([own!.serial]);
    const installed = firmware
      .nvram()
      .certs.map((c) => new X509Certificate(Buffer.from(c.der, 'base64')).serialNumber.toLowerCase());
    expect(installed).toContain(own!.serial.toLowerCase());
    expect(await env.deps.store.credentials.current(device.uuid, 'amt_admin')).toBeDefined();
    expect(await account(device.fqdn)).toBeUndefined();
    expect(await env.deps.store.devices.require(device.uuid)).toMatchObject({
      provisioningState: 'failed',
      discoveryStatus: 'provisioned',
    });
    const steps = (await handle.query(progressQuery)).steps;
    expect(steps.find((s) => s.id === 'OOB8.6.read')?.status).toBe('succeeded');
    expect(steps.find((s) => s.id === 'OOB8.6.keep')?.status).toBe('succeeded');
    expect(steps.some((s) => s.id === 'I2.undo')).toBe(false);
  });

  /** Renewal (I2 parks) and rotation (I8 parks): the contact moves meanwhile; the run stays on its address. */
  it.each([
    ['amt-renew-moved', 'renew_certificate', 'GenerateKeyPair', 'I2'],
    ['amt-rotate-moved', 'rotate_password', 'SetAdminAclEntryEx', 'I8'],
  ] as const)(
    '%s: a %s run keeps the address it started with when the contact moves',
    async (hostName, operation, fault, step) => {
      const device = byName(hostName);
      await (await env.provision(device.uuid)).result();
      const real = env.fleet.device(device.uuid);
      const parked = env.fleet.inject({ kind: 'http500', match: fault }, device.uuid);
      const handle = await startLifecycle(
        env.env.client,
        operation,
        { deviceUuid: device.uuid, requestedBy: 'carol' },
        { taskQueue: env.taskQueue },
      );
      await parkedAt(handle, step);
      // An operator (or an agent) records another address: nothing listens there.
      await env.deps.store.contacts.recordOperatorEntry(device.uuid, {
        host: '127.31.10.98',
        httpPort: real.httpPort,
        tlsPort: real.tlsPort,
      });
      env.fleet.clearFaults(parked.id);
      await decide(handle, 'retry', step);
      // Dialling the contact's new address would fail and park the run again.
      await waitFor(
        `the ${operation} run to end or park again`,
        async () => {
          const progress = await handle.query(progressQuery);
          return progress.state === 'completed' || progress.awaiting !== undefined;
        },
        120_000,
        250,
      );
      expect((await handle.query(progressQuery)).awaiting).toBeUndefined();
      const result = (await handle.result()) as { credentialRef?: string; certificateSerial?: string };
      if (operation === 'renew_certificate') expect(await serials(device.uuid)).toEqual([result.certificateSerial]);
      else {
        const current = await env.deps.store.credentials.current(device.uuid, 'amt_admin');
        expect(`${current?.kind}:${current?.version}`).toBe(result.credentialRef);
      }
    },
  );

  it('kept every password, passphrase and key out of every history', async () => {
    expect(await expectNoSecretInHistories(env, Object.values(PROFILE_SECRETS))).toBeGreaterThan(0);
  });
});
