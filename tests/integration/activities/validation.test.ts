import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'ldapts';
import { toActivityFailure } from '../../../activities/failures';
import { createActivities } from '../../../activities';
import type { DeviceUuid, LifecycleActivities } from '../../../activities/contract';
import { loadConfig } from '../../../lib/config';
import { PkiError } from '../../../lib/pki';
import { openDatabase } from '../../../lib/store/database';
import { buildActivityDeps } from '../../../runtime/activity-deps';
import { createTestDeps, TEST_DOMAIN, type TestDeps } from '../../support/activity-env';
import { addForestDomain, adminClient, removeForestDomain, uniqueTag } from '../../support/directory';
import { testFleet } from '../emulator/support/fleet';
import {
  databaseSnapshot,
  expectRefusedUnchanged,
  finalFailure,
  importDevice,
  newDeviceUuid,
  oldFirmware,
} from './support-infra';

/**
 * The validation activities (P1, P2, P4, OOB2, OOB3, IB9) over real dependencies: a fresh CA, an
 * in-memory site database, the test Samba DC and emulated firmware. Each refusal is typed, final, and
 * leaves the site database (every row), the CA's records and the directory (its USN) as they were.
 */

const tag = uniqueTag();
let deps: TestDeps;
let activities: LifecycleActivities;
let admin: Client;

beforeAll(async () => {
  deps = await createTestDeps();
  activities = createActivities(deps);
  admin = await adminClient();
});

afterAll(async () => {
  await admin?.unbind();
  await deps?.cleanup();
});

describe('loadImportedDevice (OOB2, IB9)', () => {
  it('returns the imported record with its collection and settings profile', async () => {
    await deps.store.profiles.save('desktops', { ping: true });
    const device = await importDevice(deps, `pc-${tag}-1`, { profile: 'desktops' });
    expect(
      await activities.loadImportedDevice({ deviceUuid: device.uuid.toUpperCase() as DeviceUuid, mode: 'out-of-band' }),
    ).toEqual({
      deviceUuid: device.uuid,
      hostName: `pc-${tag}-1`,
      domain: TEST_DOMAIN,
      fqdn: `pc-${tag}-1.${TEST_DOMAIN}`,
      collection: 'collection-desktops',
      profileId: 'desktops',
    });
  });

  it.each(['00000000-0000-4000-8000-000000000001', 'not-a-uuid'])(
    'refuses the unknown UUID %s with DEVICE_NOT_IMPORTED, changing nothing',
    async (deviceUuid) => {
      const failure = await expectRefusedUnchanged(
        deps,
        admin,
        () => activities.loadImportedDevice({ deviceUuid: deviceUuid as DeviceUuid, mode: 'out-of-band' }),
        'DEVICE_NOT_IMPORTED',
      );
      expect(failure.message).toContain(deviceUuid);
    },
  );

  it('in band: needs the agent’s OTP report (IB2, IB4)', async () => {
    const device = await importDevice(deps, `pc-${tag}-2`);
    await expectRefusedUnchanged(
      deps,
      admin,
      () => activities.loadImportedDevice({ deviceUuid: device.uuid, mode: 'in-band' }),
      'OTP_NOT_REPORTED',
    );
    await deps.store.otp.record(device.uuid, { algorithm: 'sha256', hash: 'ab'.repeat(32) });
    expect(await activities.loadImportedDevice({ deviceUuid: device.uuid, mode: 'in-band' })).toMatchObject({
      deviceUuid: device.uuid,
      fqdn: device.fqdn,
    });
  });

  it('a run a collection action started refuses a device no longer in the state it was selected in', async () => {
    // The automatic-provisioning sweep listed the device unprovisioned; its hello-started run
    // provisioned it before the sweep's run began (found by the 1,000-device benchmark).
    const device = await importDevice(deps, `pc-${tag}-3`);
    const selected = { deviceUuid: device.uuid, mode: 'out-of-band', selectedAs: ['unprovisioned'] } as const;
    expect(await activities.loadImportedDevice({ ...selected, selectedAs: [...selected.selectedAs] })).toMatchObject({
      deviceUuid: device.uuid,
    });
    await deps.store.devices.update(device.uuid, { provisioningState: 'provisioned' });
    const failure = await expectRefusedUnchanged(
      deps,
      admin,
      () => activities.loadImportedDevice({ ...selected, selectedAs: [...selected.selectedAs] }),
      'PROVISIONING_STATE_CHANGED',
    );
    expect(failure.message).toContain('is provisioned now, not unprovisioned');
    // Started otherwise (a hello, an operator), the run does not ask.
    expect(await activities.loadImportedDevice({ deviceUuid: device.uuid, mode: 'out-of-band' })).toMatchObject({
      deviceUuid: device.uuid,
    });
  });
});

describe('probeAmtVersion (P2)', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  const versions = ['3.2.1', '5.2.70', '11.8.50'];

  beforeAll(async () => {
    fleet = await testFleet(versions.map((amtVersion) => ({ amtVersion })));
  });

  afterAll(async () => {
    await fleet?.cleanup();
  });

  it.each([
    [0, 'eoi'],
    [1, 'eoi'],
    [2, 'wsman'],
  ] as const)('reads the version of the device %i without logging in: %s, and records it', async (index, protocol) => {
    const emulated = fleet.devices[index]!;
    const device = await importDevice(deps, `probe-${tag}-${index}`);
    await deps.store.contacts.recordOperatorEntry(device.uuid, { host: emulated.address, httpPort: emulated.httpPort });
    const result = await activities.probeAmtVersion({ deviceUuid: device.uuid });
    expect(result.amtVersion.startsWith(`${versions[index]}.`)).toBe(true);
    expect(result.protocol).toBe(protocol);
    expect((await deps.store.devices.require(device.uuid)).amtVersion).toBe(result.amtVersion);
    // Safe to run twice.
    expect(await activities.probeAmtVersion({ deviceUuid: device.uuid })).toEqual(result);
  });

  it('refuses AMT older than 3.2.1 with AMT_VERSION_UNSUPPORTED, changing nothing', async () => {
    const firmware = await oldFirmware('2.6.3.1020');
    try {
      const device = await importDevice(deps, `old-${tag}`);
      await deps.store.contacts.recordOperatorEntry(device.uuid, { host: firmware.host, httpPort: firmware.port });
      const failure = await expectRefusedUnchanged(
        deps,
        admin,
        () => activities.probeAmtVersion({ deviceUuid: device.uuid }),
        'AMT_VERSION_UNSUPPORTED',
      );
      expect(failure.message).toContain('2.6.3.1020');
      expect((await deps.store.devices.require(device.uuid)).amtVersion).toBeNull();
    } finally {
      await firmware.close();
    }
  });

  it('needs an address: DEVICE_NOT_REACHABLE_ADDRESS when the device never made contact', async () => {
    const device = await importDevice(deps, `silent-${tag}`);
    await expectRefusedUnchanged(
      deps,
      admin,
      () => activities.probeAmtVersion({ deviceUuid: device.uuid }),
      'DEVICE_NOT_REACHABLE_ADDRESS',
    );
  });
});

describe('checkDirectoryPrerequisites (P4)', () => {
  const crossRefs: string[] = [];

  beforeAll(async () => {
    // A second tree of the forest, as a multi-domain forest shows it to this DC.
    crossRefs.push(await addForestDomain('northwindtraders.test', 'NWT'));
  });

  afterAll(async () => {
    for (const dn of crossRefs) await removeForestDomain(dn);
  });

  it('passes a computer of amtflow’s own domain, reading only', async () => {
    const device = await importDevice(deps, `ok-${tag}`);
    const before = await databaseSnapshot(deps.database);
    await activities.checkDirectoryPrerequisites({ deviceUuid: device.uuid, fqdn: device.fqdn, domain: device.domain });
    expect(await databaseSnapshot(deps.database)).toEqual(before);
  });

  it.each([
    ['a workgroup computer', 'pc1.corp.example.test', 'WORKGROUP', 'WORKGROUP_COMPUTER'],
    ['a computer of another forest', 'pc1.fabrikam.test', 'fabrikam.test', 'FOREIGN_FOREST'],
    [
      'a computer of a non-contiguous namespace',
      'computer1.northwindtraders.test',
      'northwindtraders.test',
      'NON_CONTIGUOUS_NAMESPACE',
    ],
  ])('refuses %s (%s in %s) with %s, changing nothing', async (_, fqdn, domain, code) => {
    const device = await importDevice(deps, `p4-${tag}-${code.toLowerCase().replace(/_/g, '-')}`);
    await expectRefusedUnchanged(
      deps,
      admin,
      () => activities.checkDirectoryPrerequisites({ deviceUuid: device.uuid, fqdn, domain }),
      code,
    );
  });
});

describe('matchTrustedRoot (OOB3, P1)', () => {
  it('accepts a hello that lists the provisioning root, by any of its thumbprints', async () => {
    const { rootThumbprints } = deps.ca.provisioning.credential();
    const device = await importDevice(deps, `root-${tag}-1`);
    await deps.store.contacts.recordHello(device.uuid, {
      host: '127.0.0.1',
      rootHashes: [
        { algorithm: 'sha256', hex: 'ab'.repeat(32) },
        { algorithm: 'sha384', hex: rootThumbprints.sha384.toUpperCase() },
      ],
    });
    expect(await activities.matchTrustedRoot({ deviceUuid: device.uuid })).toEqual({
      rootThumbprint: rootThumbprints.sha256,
    });
  });

  it('refuses a hello without the provisioning root with ROOT_HASH_MISMATCH, naming the algorithms', async () => {
    const device = await importDevice(deps, `root-${tag}-2`);
    await deps.store.contacts.recordHello(device.uuid, {
      host: '127.0.0.1',
      rootHashes: [
        { algorithm: 'sha1', hex: '12'.repeat(20) },
        { algorithm: 'sha256', hex: '34'.repeat(32) },
      ],
    });
    const failure = await expectRefusedUnchanged(
      deps,
      admin,
      () => activities.matchTrustedRoot({ deviceUuid: device.uuid }),
      'ROOT_HASH_MISMATCH',
    );
    expect(failure.message).toContain('sha1, sha256');
    expect(failure.message).toContain(device.fqdn);
  });

  it('in band (no hello): relies on the agent’s check (IB1) and the firmware’s own at OOB4', async () => {
    const device = await importDevice(deps, `root-${tag}-3`);
    await deps.store.contacts.recordAgentReport(device.uuid, { host: '127.0.0.1' });
    expect(await activities.matchTrustedRoot({ deviceUuid: device.uuid })).toEqual({
      rootThumbprint: deps.ca.provisioning.credential().rootThumbprints.sha256,
    });
  });
});

describe('a CA key over 2048 bits (P1)', () => {
  it('refuses to build the activity deps with CA_KEY_TOO_LARGE, creating no CA and no database row', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-bigca-'));
    const database = await openDatabase({});
    try {
      const config = loadConfig({
        env: {},
        cwd: path.resolve(__dirname, '..', '..', '..'),
        overrides: {
          stateDir,
          'secrets.key': Buffer.alloc(32, 3).toString('base64'),
          'ca.provisioningDomain': TEST_DOMAIN,
          'ca.keyBits': 4096,
        },
      });
      const before = await databaseSnapshot(database);
      const err = await buildActivityDeps(config, database).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PkiError);
      expect(await finalFailure(Promise.reject(toActivityFailure(err)), 'CA_KEY_TOO_LARGE')).toBeDefined();
      expect(await databaseSnapshot(database)).toEqual(before);
      const caDir = path.join(stateDir, 'ca');
      expect(existsSync(caDir) ? readdirSync(caDir) : []).toEqual([]);
    } finally {
      await database.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

it('unknown devices are refused by every validation step that reads the device', async () => {
  const deviceUuid = newDeviceUuid();
  await finalFailure(activities.probeAmtVersion({ deviceUuid }), 'DEVICE_NOT_IMPORTED');
  await finalFailure(activities.matchTrustedRoot({ deviceUuid }), 'DEVICE_NOT_IMPORTED');
});
