import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client as LdapClient } from 'ldapts';
import pino from 'pino';
import { buildApiServer } from '../../../api/server';
import { childDn } from '../../../lib/directory/dn';
import type { AmtSettingsInput } from '../../../lib/store';
import { startLifecycle } from '../../../runtime/lifecycle-client';
import { waitFor } from '../../../scripts/lib/process';
import { progressQuery, wiredIeee8021xDecisionSignal, type Progress } from '../../../workflows/messages';
import { adminClient, uniqueTag } from '../../support/directory';
import {
  reportOtpHash,
  startLifecycleEnv,
  testProfile,
  type E2eDevice,
  type LifecycleEnv,
} from '../../support/lifecycle-env';

/**
 * Issue 12 §3 and §6 end to end, each against the firmware rule the emulator enforces from its own
 * reading: Kerberos needs AMT's clock within 5 minutes, so an update sets it again (I7); UPD4 warns
 * before 802.1X wired settings go to a device whose OS is not running and does what the operator
 * answers; I5 puts the AMT account into the profile's security groups in band and takes it out on
 * removal, in the real Samba DC.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const SWITCH_PORT = { protocols: [2], usernames: ['amt-wired'] };
const WIRED = {
  protocol: 'peapv0_eap_mschapv2',
  username: 'amt-wired',
  password: 'Eap!Password1',
  serverCertificateName: 'radius.corp.example.test',
} as const;

describe('firmware rules in update, provisioning and removal', () => {
  let env: LifecycleEnv;
  let admin: LdapClient;
  const fixtures: string[] = [];
  const tag = uniqueTag();
  const api = {} as { url: string; token: string; close?: () => Promise<void> };

  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        { hostName: `amt-clock-${tag}`, amtVersion: '11.8.50' },
        // Their switch port takes PEAP (2) for amt-wired only: what the network accepts with the OS off.
        { hostName: `amt-wired-skip-${tag}`, amtVersion: '15.0.23', wiredNetwork8021x: SWITCH_PORT },
        { hostName: `amt-wired-apply-${tag}`, amtVersion: '15.0.23', wiredNetwork8021x: SWITCH_PORT },
        // No Wi-Fi module: its profile's wireless network names a group without OOB9.4 storing it.
        { hostName: `amt-groups-${tag}`, amtVersion: '15.0.23', wireless: false },
      ],
      { firstIp: '127.31.212.1' },
    );
    admin = await adminClient();
    const app = await buildApiServer({
      store: env.deps.store,
      client: env.env.client,
      crl: () => env.deps.ca.crl(),
      logger: pino({ level: 'silent' }),
      taskQueue: env.taskQueue,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    api.url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    api.close = () => app.close();
    const { token } = await env.deps.store.principals
      .create({ name: 'ops-anna' })
      .then(() => env.deps.store.principals.grant('ops-anna', { collection: '*', role: 'manage' }))
      .then(() => env.deps.store.principals.issueToken('ops-anna', 'test'));
    api.token = token;
  });
  afterAll(async () => {
    await api.close?.();
    for (const dn of fixtures.reverse()) await admin?.del(dn).catch(() => undefined);
    await admin?.unbind();
    await env?.stop();
  });

  const opts = () => ({ taskQueue: env.taskQueue });
  /** The run's result; a run that parks for an operator fails the test at once, naming its step and error. */
  async function finished<T>(handle: { query: (q: typeof progressQuery) => Promise<Progress>; result(): Promise<T> }) {
    await waitFor(
      'the run to end',
      async () => {
        const progress = await handle.query(progressQuery);
        if (progress.awaiting) throw new Error(`the run waits for an operator: ${JSON.stringify(progress.awaiting)}`);
        return progress.state === 'completed' || progress.state === 'failed' || progress.state === 'aborted';
      },
      100_000,
    );
    return handle.result();
  }
  const run = async (...args: Parameters<typeof startLifecycle>) => finished(await startLifecycle(...args));
  const provision = (device: E2eDevice, mode: 'out-of-band' | 'in-band' = 'out-of-band') =>
    run(env.env.client, 'provision', { deviceUuid: device.uuid, mode, requestedBy: 'e2e' }, opts());

  /** The device moves to a collection of its own with this profile. */
  async function useProfile(device: E2eDevice, name: string, settings: AmtSettingsInput) {
    await env.deps.store.profiles.save(name, settings);
    await env.deps.store.collections.save({ name, automaticProvisioning: false, settingsProfile: name });
    await env.deps.store.devices.update(device.uuid, { collection: name });
  }

  it('update sets the AMT clock again (I7): a drifted clock that broke Kerberos is within 5 minutes after', async () => {
    const device = env.devices[0]!;
    await provision(device);
    const emulated = env.fleet.device(device.uuid);
    expect(emulated.acceptsKerberosTicket(new Date())).toBe(true);

    // Months later the real-time clock is two hours off: the firmware refuses every Kerberos ticket.
    await emulated.driftClock(2 * 60 * 60);
    expect(emulated.acceptsKerberosTicket(new Date())).toBe(false);

    const handle = await startLifecycle(
      env.env.client,
      'update',
      { deviceUuid: device.uuid, requestedBy: 'e2e' },
      opts(),
    );
    await handle.result();
    const steps = (await handle.query(progressQuery)).steps.map((s) => [s.id, s.status]);
    // Set before Kerberos is re-applied (OOB9.3a), after UPD1 reached and identified the device.
    expect(steps.map(([id]) => id).indexOf('I7')).toBeLessThan(steps.map(([id]) => id).indexOf('OOB9.3a'));
    expect(steps.map(([id]) => id).indexOf('I7')).toBeGreaterThan(steps.map(([id]) => id).indexOf('UPD1'));
    expect(steps).toContainEqual(['I7', 'succeeded']);
    expect(emulated.acceptsKerberosTicket(new Date())).toBe(true);
    expect(Math.abs(emulated.clock().getTime() - Date.now())).toBeLessThan(5 * 60 * 1000);
  });

  it.each([
    ['skip', 1, false],
    ['apply', 2, true],
  ] as const)(
    'UPD4: with the OS off, update warns before the 802.1X wired settings and does what the operator answers (%s)',
    async (answer, index, apply) => {
      const device = env.devices[index]!;
      const profile = `wired-${answer}-${tag}`;
      await useProfile(device, profile, { ...testProfile(), wiredIeee8021x: WIRED });
      await provision(device);
      const emulated = env.fleet.device(device.uuid);
      expect(emulated.nvram().ieee8021x.username).toBe('amt-wired');

      // New wired settings in the profile; the computer is switched off (AMT stays up in S5).
      await env.deps.store.profiles.save(profile, {
        ...testProfile(),
        wiredIeee8021x: { ...WIRED, username: 'amt-wired-2' },
      });
      await emulated.host.local('power-button');
      expect(emulated.host.state).toBe('S5');

      const handle = await startLifecycle(
        env.env.client,
        'update',
        { deviceUuid: device.uuid, requestedBy: 'e2e' },
        opts(),
      );
      await waitFor(
        'UPD4 waiting',
        async () => (await handle.query(progressQuery)).waiting?.step === 'UPD4',
        120_000,
        250,
      );
      const waiting = await handle.query(progressQuery);
      expect(waiting.state).toBe('waiting-for-signal');
      expect(waiting.waiting).toMatchObject({
        signal: wiredIeee8021xDecisionSignal.name,
        message: expect.stringMatching(/operating system is not running.*loses its wired connection/),
      });
      // Nothing wired was sent while the run waits.
      expect(emulated.nvram().ieee8021x.username).toBe('amt-wired');

      // The operator answers through the API (skip) or the CLI (apply).
      if (apply) {
        await promisify(execFile)(
          process.execPath,
          ['--import', 'tsx', 'cli/main.ts', 'wired-8021x', device.uuid, '--apply', '--reason', 'ticket 12'],
          { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', AMTFLOW_API_URL: api.url, AMTFLOW_TOKEN: api.token } },
        );
      } else {
        const answered = await fetch(`${api.url}/api/v1/devices/${device.uuid}/wired-8021x`, {
          method: 'POST',
          headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ apply: false, reason: 'ticket 12' }),
        });
        expect(answered.status).toBe(202);
      }
      await handle.result();
      expect(emulated.nvram().ieee8021x.username).toBe(apply ? 'amt-wired-2' : 'amt-wired');
      // What the warning was about: applied with the OS down, an identity the switch refuses cuts the
      // device off the network; skipped, it stays reachable.
      const reached = await fetch(`http://${emulated.address}:${emulated.httpPort}/wsman`, { method: 'POST' }).then(
        (response) => response.status,
        () => 'unreachable',
      );
      expect(reached).toBe(apply ? 'unreachable' : 401);
      expect(await env.deps.store.audit.forTarget(device.uuid)).toContainEqual(
        expect.objectContaining({
          actor: 'ops-anna',
          action: `update.wired-8021x.${answer}`,
          details: expect.objectContaining({ step: 'UPD4', reason: 'ticket 12' }),
        }),
      );
    },
  );

  it('UPD4 does not ask while the OS runs', async () => {
    // The apply device, switched on again: the same update goes through without a question.
    const device = env.devices[2]!;
    const emulated = env.fleet.device(device.uuid);
    await emulated.host.local('power-button');
    expect(emulated.host.state).toBe('S0');
    // With the OS up its supplicant answers the port: the device is back on the network.
    expect(emulated.onNetwork()).toBe(true);
    const handle = await startLifecycle(
      env.env.client,
      'update',
      { deviceUuid: device.uuid, requestedBy: 'e2e' },
      opts(),
    );
    await handle.result();
    const progress = await handle.query(progressQuery);
    expect(progress.steps.find((s) => s.id === 'UPD4')?.status).toBe('succeeded');
    expect(progress.steps.find((s) => s.id === 'OOB9.4')?.status).toBe('succeeded');
  });

  it('I5: in band the AMT account joins the profile’s 802.1X and wireless groups, and leaves them on removal', async () => {
    const device = env.devices[3]!;
    const domainDn = 'DC=corp,DC=example,DC=test';
    const groups: string[] = [];
    for (const name of [`amt-8021x-${tag}`, `amt-wifi-${tag}`]) {
      const dn = childDn('CN', name, `CN=Users,${domainDn}`);
      await admin.add(dn, { objectClass: 'group', sAMAccountName: name });
      fixtures.push(dn);
      groups.push(dn);
    }
    await useProfile(device, `groups-${tag}`, {
      ...testProfile(),
      wiredIeee8021x: { ...WIRED, securityGroups: [`amt-8021x-${tag}`] },
      wireless: [
        {
          name: 'corp',
          ssid: 'CORP',
          authentication: 'wpa2_ieee8021x',
          encryption: 'ccmp',
          priority: 1,
          ieee8021x: { ...WIRED, securityGroups: [`CORP\\amt-wifi-${tag}`] },
        },
      ],
    });
    const members = async (dn: string) => {
      const { searchEntries } = await admin.search(dn, { scope: 'base', attributes: ['member'] });
      const member = searchEntries[0]?.member ?? [];
      // DNs compare without case (Samba may spell an attribute type otherwise than it was written).
      return (Array.isArray(member) ? member : [member]).map((dn) => String(dn).toLowerCase());
    };

    // Out of band, I5 does not apply (spec: in-band only).
    await provision(device, 'out-of-band');
    for (const group of groups) expect(await members(group)).toEqual([]);
    await run(env.env.client, 'remove', { deviceUuid: device.uuid, mode: 'full', requestedBy: 'e2e' }, opts());

    await reportOtpHash(env, device.uuid);
    const handle = await startLifecycle(
      env.env.client,
      'provision',
      { deviceUuid: device.uuid, mode: 'in-band', requestedBy: 'e2e' },
      opts(),
    );
    await finished(handle);
    expect((await handle.query(progressQuery)).steps.find((s) => s.id === 'I5')?.status).toBe('succeeded');
    const account = await env.deps.withDirectory((directory) => directory.findAmtAccount(device.fqdn));
    expect(account).toBeDefined();
    for (const group of groups) expect(await members(group)).toEqual([account!.dn.toLowerCase()]);

    await run(env.env.client, 'remove', { deviceUuid: device.uuid, mode: 'full', requestedBy: 'e2e' }, opts());
    for (const group of groups) expect(await members(group)).toEqual([]);
  });
});
