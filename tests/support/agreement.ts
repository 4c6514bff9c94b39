import { X509Certificate } from 'node:crypto';
import { openAmtSession } from '../../lib/amt';
import { EncryptionCodec, deriveCodecKey } from '../../runtime/payload-codec';
import { decodedHistoryText, findLeaks } from './history-scan';
import { TEST_KEK } from './temporal';
import type { LifecycleEnv } from './lifecycle-env';

/**
 * After a provisioning run, the four places that hold the device's state must tell the same story:
 * the firmware's NVRAM (emulator oracle), the directory, the CA and the site database — and the
 * admin password the database holds as current is the one the device accepts.
 */
export async function expectProvisionedEverywhere(
  env: LifecycleEnv,
  device: { uuid: string; hostName: string; fqdn: string },
  result: { certificateSerial: string; credentialRef: string },
): Promise<void> {
  const { deps } = env;
  const emulated = env.fleet.device(device.uuid);
  const nvram = emulated.nvram();

  // Firmware: post-provisioning, named as imported, serving the certificate the CA issued.
  expect(nvram.provisioning.state).toBe(2);
  expect(nvram.general.hostName).toBe(device.hostName);
  expect(nvram.general.domainName).toBe('corp.example.test');
  const installed = nvram.certs.map((c) =>
    new X509Certificate(Buffer.from(c.der, 'base64')).serialNumber.toLowerCase(),
  );
  expect(installed).toContain(result.certificateSerial.toLowerCase());

  // CA: exactly one current web-server certificate for the device, the installed one.
  const current = await deps.ca.currentCertificates(device.uuid, ['amt-web-server']);
  expect(current.map((c) => c.serial.toLowerCase())).toEqual([result.certificateSerial.toLowerCase()]);

  // Directory: one AMT account with both SPNs and a key version.
  const account = await deps.withDirectory((directory) => directory.findAmtAccount(device.fqdn));
  expect(account?.spns.map((s) => s.toLowerCase()).sort()).toEqual(
    [`http/${device.fqdn}:16992`, `http/${device.fqdn}:16993`].sort(),
  );
  expect(account?.keyVersionNumber).toBeGreaterThan(0);
  // Kerberos: the firmware holds the key of the account's current key version.
  expect(nvram.kerberos.krbEnabled).toBe(true);
  expect(nvram.kerberos.keyVersion).toBe(account?.keyVersionNumber);
  expect(nvram.kerberos.realmName).toBe('CORP.EXAMPLE.TEST');

  // Database: the current admin password is the one the device accepts.
  const admin = await deps.store.credentials.current(device.uuid, 'amt_admin');
  expect(admin).toBeDefined();
  const password = await deps.store.credentials.reveal({
    device: device.uuid,
    kind: 'amt_admin',
    version: admin!.version,
  });
  const session = openAmtSession({
    host: emulated.address,
    port: emulated.httpPort,
    credentials: [{ username: 'admin', password, ref: 'current' }],
    timeouts: deps.amtTimeouts,
  });
  await expect(session.login()).resolves.toEqual({ credentialRef: 'current' });
  const record = await deps.store.devices.require(device.uuid);
  expect(record.discoveryStatus).toBe('provisioned');
}

/**
 * Every secret this environment's runs handled: the passwords the database holds for the devices
 * (admin, MEBx, directory account — the Kerberos keys derive from it — in every version), the OTPs
 * the firmware stores now, and `extraSecrets` (the profile's, OTPs a removal has wiped since).
 */
export async function handledSecrets(env: LifecycleEnv, extraSecrets: string[] = []): Promise<string[]> {
  const { deps } = env;
  const secrets = [...extraSecrets];
  for (const device of env.devices) {
    for (const kind of ['amt_admin', 'mebx', 'directory_account'] as const) {
      for (const credential of await deps.store.credentials.list(device.uuid, kind)) {
        secrets.push(await deps.store.credentials.reveal({ device: device.uuid, kind, version: credential.version }));
      }
    }
    const otp = env.fleet.device(device.uuid).nvram().provisioning.otp;
    if (otp) secrets.push(otp);
  }
  return secrets;
}

/**
 * Every history this environment's runs produced, decoded, searched for every secret the runs
 * handled (`handledSecrets`).
 */
export async function expectNoSecretInHistories(env: LifecycleEnv, extraSecrets: string[] = []): Promise<number> {
  const secrets = await handledSecrets(env, extraSecrets);
  const codec = new EncryptionCodec(deriveCodecKey(TEST_KEK));
  let scanned = 0;
  for await (const execution of env.env.client.workflow.list({ query: `TaskQueue = '${env.taskQueue}'` })) {
    const history = await env.env.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const text = await decodedHistoryText(history, codec);
    expect(findLeaks(text, secrets)).toEqual([]);
    scanned += 1;
  }
  return scanned;
}
