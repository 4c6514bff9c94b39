import { DISCOVERY_STATUSES, type StoreError } from '../../../lib/store';
import { backends } from '../../support/databases';
import { DEVICE, OTHER_DEVICE, useStore } from './store-fixture';

describe.each(backends)('devices and collections on $name', (backend) => {
  const f = useStore(backend);

  async function failure(promise: Promise<unknown>): Promise<StoreError> {
    return (await promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (err: unknown) => err,
    )) as StoreError;
  }

  it('imports a computer for out of band management by UUID, host name and domain (OOB2)', async () => {
    const { device, created } = await f.store.devices.importComputer({
      uuid: `{${DEVICE.toUpperCase()}}`,
      hostName: 'PC-0042',
      domain: 'Corp.Example.Test',
    });
    expect(created).toBe(true);
    expect(device).toMatchObject({
      uuid: DEVICE,
      hostName: 'PC-0042',
      domain: 'Corp.Example.Test',
      fqdn: 'pc-0042.corp.example.test',
      discoveryStatus: 'unknown',
      provisioningState: 'unprovisioned',
      automaticProvisioningEnabled: true,
      collection: null,
    });
    expect((await f.store.devices.get(DEVICE.replace(/-/g, '')))?.uuid).toBe(DEVICE);
    expect(await f.store.devices.get(OTHER_DEVICE)).toBeUndefined();
    expect((await f.store.devices.findByFqdn('PC-0042.corp.example.test')).map((d) => d.uuid)).toEqual([DEVICE]);

    // Importing the same list again is harmless; a known UUID under another name is not a silent rename.
    const again = await f.store.devices.importComputer({
      uuid: DEVICE,
      hostName: 'pc-0042',
      domain: 'corp.example.test',
    });
    expect(again.created).toBe(false);
    const renamed = await failure(
      f.store.devices.importComputer({ uuid: DEVICE, hostName: 'pc-0043', domain: 'corp.example.test' }),
    );
    expect(renamed.code).toBe('DEVICE_ALREADY_IMPORTED');
  });

  it.each([
    ['hostName', { hostName: 'x)(cn=*' }],
    ['hostName', { hostName: 'a,ou=evil' }],
    ['domain', { domain: 'workgroup' }],
    ['uuid', { uuid: 'not-a-uuid' }],
  ])('refuses a bad %s with a typed error', async (field, bad) => {
    const err = await failure(
      f.store.devices.importComputer({ uuid: DEVICE, hostName: 'pc1', domain: 'corp.example.test', ...bad }),
    );
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.issues.map((i) => i.field)).toEqual([field]);
    expect(await f.store.devices.list()).toEqual([]);
  });

  it('records discovery status, AMT version, the Windows computer and the lifecycle stage', async () => {
    await f.store.devices.importComputer({ uuid: DEVICE, hostName: 'pc1', domain: 'corp.example.test' });
    for (const status of DISCOVERY_STATUSES) {
      expect((await f.store.devices.update(DEVICE, { discoveryStatus: status })).discoveryStatus).toBe(status);
    }
    const updated = await f.store.devices.update(DEVICE, {
      amtVersion: '11.8.50',
      windowsComputerDn: 'CN=PC1,OU=Computers,DC=corp,DC=example,DC=test',
      provisioningState: 'provisioning',
      provisioningStage: 'OOB8.4',
    });
    expect(updated).toMatchObject({
      amtVersion: '11.8.50',
      discoveryStatus: 'externally_provisioned',
      provisioningState: 'provisioning',
      provisioningStage: 'OOB8.4',
      windowsComputerDn: 'CN=PC1,OU=Computers,DC=corp,DC=example,DC=test',
    });
    const rename = await f.store.devices.update(DEVICE, { hostName: 'pc1-new', domain: 'emea.corp.example.test' });
    expect(rename.fqdn).toBe('pc1-new.emea.corp.example.test');

    const bad = await failure(f.store.devices.update(DEVICE, { discoveryStatus: 'Provisioned' as never }));
    expect(bad.issues.map((i) => i.field)).toEqual(['discoveryStatus']);
    expect((await failure(f.store.devices.update(OTHER_DEVICE, { amtVersion: '3.2.1' }))).code).toBe(
      'DEVICE_NOT_FOUND',
    );
    expect((await failure(f.store.devices.update(DEVICE, { collection: 'nowhere' }))).code).toBe(
      'COLLECTION_NOT_FOUND',
    );
  });

  it('turns automatic provisioning off and on per device and per collection (DEP3, REN3)', async () => {
    await f.store.profiles.save('desktops', {});
    const err = await failure(f.store.collections.save({ name: 'Head office', automaticProvisioning: true }));
    expect(err.issues.map((i) => i.field)).toEqual(['settingsProfile']);
    await f.store.collections.save({ name: 'Head office', automaticProvisioning: true, settingsProfile: 'desktops' });
    await f.store.devices.importComputer({
      uuid: DEVICE,
      hostName: 'pc1',
      domain: 'corp.example.test',
      collection: 'Head office',
    });
    await f.store.devices.importComputer({ uuid: OTHER_DEVICE, hostName: 'pc2', domain: 'corp.example.test' });

    const effective = async () => (await f.store.devices.automaticProvisioning(DEVICE)).enabled;
    expect(await f.store.devices.automaticProvisioning(DEVICE)).toEqual({
      enabled: true,
      deviceEnabled: true,
      collection: 'Head office',
      collectionEnabled: true,
      settingsProfile: 'desktops',
    });
    // REN3: removal for a rename disables it; it stays off until the rename is done, then on again.
    await f.store.devices.setAutomaticProvisioning(DEVICE, false);
    expect(await effective()).toBe(false);
    await f.store.devices.setAutomaticProvisioning(DEVICE, false);
    expect(await effective()).toBe(false);
    await f.store.devices.setAutomaticProvisioning(DEVICE.toUpperCase(), true);
    expect(await effective()).toBe(true);
    // The collection's flag gates every member.
    await f.store.collections.setAutomaticProvisioning('Head office', false);
    expect(await f.store.devices.automaticProvisioning(DEVICE)).toMatchObject({
      enabled: false,
      deviceEnabled: true,
      collectionEnabled: false,
    });
    // Without a collection there is nothing to provision with.
    expect(await f.store.devices.automaticProvisioning(OTHER_DEVICE)).toMatchObject({
      enabled: false,
      collection: null,
    });
    expect((await f.store.devices.list({ collection: 'Head office' })).map((d) => d.uuid)).toEqual([DEVICE]);
    expect(
      (await failure(f.store.devices.setAutomaticProvisioning('00000000-0000-0000-0000-000000000000', true))).code,
    ).toBe('DEVICE_NOT_FOUND');
    expect((await failure(f.store.collections.save({ name: 'x', settingsProfile: 'nope' }))).code).toBe(
      'PROFILE_NOT_FOUND',
    );
  });

  it('commits a store transaction whole or not at all', async () => {
    await f.store.devices.importComputer({ uuid: DEVICE, hostName: 'pc1', domain: 'corp.example.test' });
    const crash = new Error('crash in the middle of the database update');
    await expect(
      f.store.transaction(async (trx) => {
        await trx.devices.update(DEVICE, { provisioningState: 'provisioned', discoveryStatus: 'provisioned' });
        const staged = await trx.credentials.stagePending(DEVICE, 'amt_admin', 'wf/OOB8.4');
        await trx.credentials.promote(staged);
        throw crash;
      }),
    ).rejects.toBe(crash);
    expect(await f.store.devices.require(DEVICE)).toMatchObject({ provisioningState: 'unprovisioned' });
    expect(await f.store.credentials.list(DEVICE)).toEqual([]);

    await f.store.transaction(async (trx) => {
      await trx.devices.update(DEVICE, { provisioningState: 'provisioned', discoveryStatus: 'provisioned' });
      await trx.credentials.promote(await trx.credentials.stagePending(DEVICE, 'amt_admin', 'wf/OOB8.4'));
    });
    expect(await f.store.devices.require(DEVICE)).toMatchObject({ provisioningState: 'provisioned' });
    expect((await f.store.credentials.current(DEVICE, 'amt_admin'))?.version).toBe(1);
  });
});
