import { Attribute, Change } from 'ldapts';
import { openAmtSession } from '../../../lib/amt';
import { childDn } from '../../../lib/directory/dn';
import { adminClient, TEST_DC, uniqueTag } from '../../support/directory';
import { startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';
import { checkInvariants, type InvariantSubject } from './invariants';

/**
 * The invariant checker of the chaos suite can fail: after two devices provisioned cleanly every
 * invariant holds, then each kind of damage the suite must catch is done behind amtflow's back — a
 * password lost (the database's current one is not the device's), an orphaned certificate (issued,
 * never installed nor revoked), a duplicated directory object, Kerberos off in the firmware of a
 * device whose profile asks for it (what a lost NVRAM write leaves), an AMT account in a security
 * group the database does not record, a device no run accounts for —
 * and exactly the damaged cells fail.
 */
describe('chaos invariant checker', () => {
  const tag = uniqueTag();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((suffix) => `ch${tag}${suffix}`) as [string, string, string, string];
  let env: LifecycleEnv;
  const fixtures: string[] = [];

  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: a, amtVersion: '11.8.50' },
        { hostName: b, amtVersion: '5.2.70' },
        { hostName: c, amtVersion: '16.1.25' },
        { hostName: d, amtVersion: '12.0.45' },
      ],
      { firstIp: '127.31.16.1' },
    );
  });
  afterAll(async () => {
    const admin = await adminClient();
    for (const dn of fixtures) await admin.del(dn).catch(() => undefined);
    await admin.unbind();
    if (env) {
      for (const device of env.devices) {
        await env.deps.withDirectory((d) => d.deleteAmtAccount(device.fqdn)).catch(() => undefined);
      }
    }
    await env?.stop();
  });

  const subject = (devices = env.devices): InvariantSubject => ({
    deps: env.deps,
    fleet: env.fleet,
    client: env.env.client,
    taskQueue: env.taskQueue,
    devices,
  });

  it('holds after a clean provisioning, and prints the table', async () => {
    const provisioned = [env.devices[0]!, env.devices[1]!, env.devices[3]!];
    await Promise.all(provisioned.map(async (device) => (await env.provision(device.uuid)).result()));
    const report = await checkInvariants(subject(provisioned));
    console.log(`invariants after a clean provisioning\n${report.table}`);
    expect(report.failures).toEqual([]);
    expect(report.rows.map((r) => r.cells.settled.note)).toEqual(['provisioned', 'provisioned', 'provisioned']);
  });

  it('detects a lost password, an orphaned certificate, a duplicated directory object, Kerberos off, a group membership and an unaccounted device', async () => {
    const [first, second, fourth] = [env.devices[0]!, env.devices[1]!, env.devices[3]!];
    // A password the device never received becomes current: the one it holds is lost.
    const lost = await env.deps.store.credentials.stagePending(first.uuid, 'amt_admin', `sabotage-${tag}/password`);
    await env.deps.store.credentials.promote(lost);
    // A second object in the AMT container for the same device.
    const admin = await adminClient();
    try {
      const dn = childDn('CN', `${first.hostName}x`, `${TEST_DC.amtContainer},${TEST_DC.domainDn}`);
      await admin.add(dn, { objectClass: 'computer', description: `Intel AMT account of ${first.fqdn} (amtflow)` });
      fixtures.push(dn);
      // The fourth device's AMT account put into a security group the database does not record (I5).
      const group = childDn('CN', `chgrp${tag}`, `CN=Users,${TEST_DC.domainDn}`);
      await admin.add(group, { objectClass: 'group', sAMAccountName: `chgrp${tag}` });
      fixtures.unshift(group);
      const account = await env.deps.withDirectory((directory) => directory.findAmtAccount(fourth.fqdn));
      await admin.modify(
        group,
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [account!.dn] }) }),
      );
    } finally {
      await admin.unbind();
    }
    // A certificate issued for the device that nothing installs or revokes.
    await env.deps.ca.issue({
      requestId: `sabotage-${tag}/certificate`,
      template: 'amt-web-server',
      deviceUuid: second.uuid,
      fqdn: second.fqdn,
      key: { generate: true },
    });

    // Kerberos switched off in the second device's firmware, through its own WS-Management Put.
    const current = await env.deps.store.credentials.current(second.uuid, 'amt_admin');
    const emulated = env.fleet.device(second.uuid);
    const amt = openAmtSession({
      host: emulated.address,
      port: emulated.httpPort,
      credentials: [{ username: 'admin', password: await env.deps.store.credentials.reveal(current!), ref: 'admin' }],
      timeouts: env.deps.amtTimeouts,
    });
    const { instance } = await amt.wsman.features.getKerberos();
    await amt.wsman.client.put(instance, { KrbEnabled: false });
    expect(emulated.nvram().kerberos.krbEnabled).toBe(false);

    const report = await checkInvariants(subject());
    console.log(`invariants after the damage\n${report.table}`);
    expect(report.failures.map((f) => f.split(':').slice(0, 2).join(':'))).toEqual([
      `${a}: password`,
      `${a}: directory`,
      `${b}: certificates`,
      `${b}: directory`,
      `${c}: settled`,
      `${c}: audit`,
      `${d}: directory`,
    ]);
    expect(report.failures.join('\n')).toMatch(/refused by the firmware/);
    expect(report.failures.join('\n')).toMatch(/2 objects/);
    expect(report.failures.join('\n')).toMatch(/issued, neither installed nor revoked/);
    expect(report.failures.join('\n')).toMatch(/Kerberos off in the firmware, though the profile asks for it/);
    expect(report.failures.join('\n')).toMatch(new RegExp(`member of cn=chgrp${tag},.*database records none`));
  });
});
