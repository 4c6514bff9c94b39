import { X509Certificate } from 'node:crypto';
import { openAmtSession } from '../../lib/amt';
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
  const directory = await deps.openDirectory();
  try {
    const account = await directory.findAmtAccount(device.fqdn);
    expect(account?.spns.map((s) => s.toLowerCase()).sort()).toEqual(
      [`http/${device.fqdn}:16992`, `http/${device.fqdn}:16993`].sort(),
    );
    expect(account?.keyVersionNumber).toBeGreaterThan(0);
  } finally {
    await directory.close();
  }

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
