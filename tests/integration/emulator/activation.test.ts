import { createHash, createSign, randomBytes } from 'node:crypto';
import net from 'node:net';
import { AMT, IPS } from '@device-management-toolkit/wsman-messages';
import { decodeHello, type Hello } from '../../../emulator/hello/message';
import { AMT_OID, provisioningChain, sha256, testKeyPool } from '../../unit/emulator/support/pki';
import { waitFor } from '../../../scripts/lib/process';
import { AmtClient, exchange, type Xml } from './support/client';
import { testFleet } from './support/fleet';
import { enumerate, get } from './support/wsman';

const md5 = (s: string) => createHash('md5').update(s);

async function okBody(c: AmtClient, xml: string): Promise<Xml> {
  const res = await c.post(xml);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.toString()}`);
  return res.xml.Envelope.Body;
}

/** Issue 3, 9c: an RPS-style host-based activation (CCM and ACM) against the emulator. */
describe('RPS-style host-based activation', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  let chain: ReturnType<typeof provisioningChain>;
  const amt = new AMT.Messages();
  const ips = new IPS.Messages();

  beforeAll(async () => {
    const pool = await testKeyPool();
    chain = provisioningChain(pool, { cn: 'rps.corp.example.test' });
    fleet = await testFleet([
      { amtVersion: '15.0.23', helloEnabled: false },
      {
        amtVersion: '16.1.25',
        helloEnabled: false,
        customHashes: [{ algorithm: 'sha256', hash: sha256(chain.root.der) }],
      },
    ]);
  });
  afterAll(() => fleet.cleanup());

  /** The $$OsAdmin account rpc-go reads over MEI, here from the admin API. */
  async function osAdmin(i: number): Promise<AmtClient> {
    const d = fleet.devices[i]!;
    const account = (await (await fetch(`${fleet.admin!.url}/devices/${d.uuid}/local-account`)).json()) as {
      username: string;
      password: string;
    };
    expect(account.username).toBe('$$OsAdmin');
    return new AmtClient({ host: d.address, port: d.httpPort, ...account, style: 'rps' });
  }

  it('activates in client control mode with Setup and the admin password hash', async () => {
    const local = await osAdmin(0);
    const realm = (await okBody(local, amt.GeneralSettings.Get())).AMT_GeneralSettings.DigestRealm;
    expect(realm).toMatch(/^Digest:[0-9A-Fa-f]{32}$/);
    const hbs = (await okBody(local, ips.HostBasedSetupService.Get())).IPS_HostBasedSetupService;
    expect(hbs).toMatchObject({ CurrentControlMode: '0', AllowedControlModes: ['2', '1'] });
    const hash = md5(`admin:${realm}:Ccm!Passw0rd`).digest('hex');
    expect((await okBody(local, ips.HostBasedSetupService.Setup(2, hash))).Setup_OUTPUT.ReturnValue).toBe('0');
    // Second Setup: already provisioned.
    expect((await okBody(local, ips.HostBasedSetupService.Setup(2, hash))).Setup_OUTPUT.ReturnValue).toBe('2');

    const d = fleet.devices[0]!;
    const admin = new AmtClient({
      host: d.address,
      port: d.httpPort,
      username: 'admin',
      password: 'Ccm!Passw0rd',
      style: 'rps',
    });
    expect((await okBody(admin, ips.HostBasedSetupService.Get())).IPS_HostBasedSetupService.CurrentControlMode).toBe(
      '1',
    );
    expect(
      (await okBody(admin, amt.SetupAndConfigurationService.SetMEBXPassword('Mebx!Pass1'))).SetMEBxPassword_OUTPUT
        .ReturnValue,
    ).toBe('16');
    expect(d.nvram().provisioning).toMatchObject({ state: 2, mode: 4, controlMode: 1 });

    expect((await okBody(admin, amt.SetupAndConfigurationService.Unprovision(1))).Unprovision_OUTPUT.ReturnValue).toBe(
      '0',
    );
    expect(d.nvram().provisioning).toMatchObject({ state: 0, controlMode: 0 });
    expect((await admin.post(amt.GeneralSettings.Get())).status).toBe(401);
  });

  it('activates in admin control mode with the provisioning chain and a signed nonce', async () => {
    const local = await osAdmin(1);
    const realm = (await okBody(local, amt.GeneralSettings.Get())).AMT_GeneralSettings.DigestRealm;
    const add = async (der: Buffer, leaf: boolean, root: boolean) =>
      (await okBody(local, ips.HostBasedSetupService.AddNextCertInChain(der.toString('base64'), leaf, root)))
        .AddNextCertInChain_OUTPUT.ReturnValue;
    expect(await add(chain.leaf.der, true, false)).toBe('0');
    expect(await add(chain.intermediate.der, false, false)).toBe('0');
    expect(await add(chain.root.der, false, true)).toBe('0');
    const hbs = (await okBody(local, ips.HostBasedSetupService.Get())).IPS_HostBasedSetupService;
    expect(hbs.CertChainStatus).toBe('2');

    const mcNonce = randomBytes(20);
    const hash = md5(`admin:${realm}:Acm!Passw0rd`).digest('hex');
    const wrongSig = createSign('sha256').update(randomBytes(40)).sign(chain.leaf.keyPem).toString('base64');
    expect(
      (await okBody(local, ips.HostBasedSetupService.AdminSetup(2, hash, mcNonce.toString('base64'), 2, wrongSig)))
        .AdminSetup_OUTPUT.ReturnValue,
    ).toBe('5');
    const signature = createSign('sha256')
      .update(Buffer.concat([Buffer.from(hbs.ConfigurationNonce, 'base64'), mcNonce]))
      .sign(chain.leaf.keyPem)
      .toString('base64');
    expect(
      (await okBody(local, ips.HostBasedSetupService.AdminSetup(2, hash, mcNonce.toString('base64'), 2, signature)))
        .AdminSetup_OUTPUT.ReturnValue,
    ).toBe('0');

    const d = fleet.devices[1]!;
    const admin = new AmtClient({
      host: d.address,
      port: d.httpPort,
      username: 'admin',
      password: 'Acm!Passw0rd',
      style: 'rps',
    });
    expect(
      (await okBody(admin, amt.SetupAndConfigurationService.SetMEBXPassword('Mebx!Pass1'))).SetMEBxPassword_OUTPUT
        .ReturnValue,
    ).toBe('0');
    expect(d.nvram().provisioning).toMatchObject({
      state: 2,
      mode: 1,
      controlMode: 2,
      record: { hash: sha256(chain.root.der) },
    });
  });

  it('refuses a chain whose root is not in the hash store', async () => {
    const local = await osAdmin(0);
    const other = provisioningChain(await testKeyPool(), { cn: 'x.corp.example.test' });
    await okBody(local, ips.HostBasedSetupService.AddNextCertInChain(other.leaf.der.toString('base64'), true, false));
    const verdict = await okBody(
      local,
      ips.HostBasedSetupService.AddNextCertInChain(other.root.der.toString('base64'), false, true),
    );
    expect(verdict.AddNextCertInChain_OUTPUT.ReturnValue).toBe('4');
  });
});

/** Issue 3, 9c and spec OOB1–OOB8: hello, TLS-PKI with the provisioning chain, MeshCentral-style stage one. */
describe('hello-triggered remote configuration (MeshCentral style)', () => {
  let fleet: Awaited<ReturnType<typeof testFleet>>;
  let listener: net.Server;
  const hellos: Hello[] = [];
  let chain: ReturnType<typeof provisioningChain>;
  let ouChain: ReturnType<typeof provisioningChain>;

  beforeAll(async () => {
    const pool = await testKeyPool();
    chain = provisioningChain(pool, { cn: 'oobsp.corp.example.test', eku: [AMT_OID] });
    ouChain = provisioningChain(pool, { cn: 'corp.example.test', ou: 'Intel(R) Client Setup Certificate', eku: [] });
    listener = net.createServer((s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => {
        const hello = decodeHello(Buffer.concat(parts));
        if (hello) hellos.push(hello);
      });
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const helloTarget = `127.0.0.1:${(listener.address() as net.AddressInfo).port}`;
    const root = { algorithm: 'sha256' as const, hash: sha256(chain.root.der) };
    fleet = await testFleet(
      [
        { amtVersion: '11.8.50', hello: helloTarget, customHashes: [root] },
        {
          amtVersion: '11.8.50',
          hello: helloTarget,
          customHashes: [root],
          dnsSuffix: 'other.example.test',
          helloEnabled: false,
        },
        { amtVersion: '11.8.50', helloEnabled: false },
        {
          amtVersion: '12.0.45',
          helloEnabled: false,
          customHashes: [{ algorithm: 'sha256', hash: sha256(ouChain.root.der) }],
        },
      ],
      { helloTimeScale: 3600 },
    );
  });
  afterAll(async () => {
    await fleet.cleanup();
    await new Promise((r) => listener.close(r));
  });

  const tlsTarget = (i: number, pem = chain) => {
    const d = fleet.devices[i]!;
    return { host: d.address, port: d.tlsPort, tls: { key: pem.leaf.keyPem, cert: pem.chainPem } };
  };

  it('sends PKI hellos with its UUID and root hashes, then provisions over TLS-PKI and stops', async () => {
    const d = fleet.devices[0]!;
    await waitFor('two hellos', async () => hellos.filter((h) => h.uuid === d.uuid).length >= 2, 10_000, 20);
    const hello = hellos.find((h) => h.uuid === d.uuid)!;
    expect(hello).toMatchObject({ version: 3, credentialsChanged: false, retryCount: 0 });
    expect(hello.hashes).toContainEqual({ algorithm: 'sha256', hash: sha256(chain.root.der) });

    const c = new AmtClient({ ...tlsTarget(0), username: 'admin', password: 'admin', style: 'mesh' });
    const gs = await okBody(c, get('AMT_GeneralSettings'));
    expect(d.nvram().provisioning.state).toBe(1);
    expect(d.helloRunning).toBe(false);
    const sw = await okBody(c, enumerate('CIM_SoftwareIdentity'));
    expect(sw.EnumerateResponse.EnumerationContext).toBeTruthy();
    expect(
      (await okBody(c, get('AMT_SetupAndConfigurationService'))).AMT_SetupAndConfigurationService.ProvisioningState,
    ).toBe('1');

    const amt = new AMT.Messages();
    expect(
      (await okBody(c, amt.SetupAndConfigurationService.SetMEBXPassword('Mebx!Pass1'))).SetMEBxPassword_OUTPUT
        .ReturnValue,
    ).toBe('0');
    const hex = md5(`admin:${gs.AMT_GeneralSettings.DigestRealm}:Str0ng!Admin`).digest('hex');
    expect(
      (await okBody(c, amt.AuthorizationService.SetAdminACLEntryEx('admin', hex))).SetAdminAclEntryEx_OUTPUT
        .ReturnValue,
    ).toBe('0');
    expect((await okBody(c, amt.SetupAndConfigurationService.CommitChanges())).CommitChanges_OUTPUT.ReturnValue).toBe(
      '0',
    );
    expect(d.nvram().provisioning).toMatchObject({
      state: 2,
      controlMode: 2,
      record: { serverCertCn: 'oobsp.corp.example.test' },
    });
    expect(d.nvram().admin.ha1).toBe(hex);

    const after = new AmtClient({
      host: d.address,
      port: d.httpPort,
      username: 'admin',
      password: 'Str0ng!Admin',
      style: 'mesh',
    });
    expect((await after.post(get('AMT_GeneralSettings'))).status).toBe(200);
    // No TLS configured after this stage one: 16993 is closed.
    await expect(exchange(tlsTarget(0), 'x')).rejects.toThrow();
  });

  it('fails the handshake when the CN is outside the DNS suffix, the root is unknown, or the OID/OU is missing', async () => {
    const request = 'POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n';
    // Device 1 has the root but another DNS suffix.
    await expect(exchange(tlsTarget(1), request)).rejects.toThrow();
    // Device 2 lacks the root hash.
    await expect(exchange(tlsTarget(2), request)).rejects.toThrow();
    // No OID and no OU, on a device that would otherwise accept.
    const pool = await testKeyPool();
    const plain = provisioningChain(pool, { cn: 'oobsp.other.example.test', eku: ['1.3.6.1.5.5.7.3.1'] });
    await expect(exchange(tlsTarget(1, plain), request)).rejects.toThrow();
    expect(fleet.devices[1]!.nvram().provisioning.state).toBe(0);
    expect(fleet.devices[2]!.nvram().provisioning.state).toBe(0);
  });

  it('accepts the OU form of a provisioning certificate', async () => {
    const res = await exchange(tlsTarget(3, ouChain), 'POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    expect(res.status).toBe(401);
    expect(fleet.devices[3]!.nvram().provisioning).toMatchObject({
      state: 1,
      record: { serverCertCn: 'corp.example.test' },
    });
  });
});
