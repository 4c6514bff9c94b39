import { createPrivateKey } from 'node:crypto';
import type { Device } from '../../../emulator/device/device';
import { openAmtSession, type AmtCredential, type AmtSession, type AmtTimeouts } from '../../../lib/amt';
import { makeCert, testKeyPool } from '../../unit/emulator/support/pki';

export const TIMEOUTS: AmtTimeouts = { connectMs: 5_000, responseMs: 10_000 };

export const admin = (password: string): AmtCredential => ({ username: 'admin', password, ref: 'device-admin' });

/** amtflow's WS-Management session to an emulated device over its plain port. */
export function adminSession(device: Device, password: string): AmtSession {
  return openAmtSession({
    host: device.address,
    port: device.httpPort,
    credentials: [admin(password)],
    timeouts: TIMEOUTS,
  });
}

/**
 * TLS as stage one configures it (OOB8.3): a CA-issued certificate for `<host>.corp.example.test`,
 * committed. Returns what a verified TLS client needs.
 */
export async function configureTls(
  device: Device,
  password: string,
  options: { acceptNonSecureConnections: boolean },
): Promise<{ caPem: string; serverName: string }> {
  const pool = await testKeyPool();
  const caKey = pool.draw();
  const serverKey = pool.draw();
  const serverName = `${device.uuid.slice(0, 8)}.corp.example.test`;
  const ca = makeCert({ cn: 'amtflow test CA', keyPem: caKey.privateKeyPem, ca: true });
  const leaf = makeCert({ cn: serverName, keyPem: serverKey.privateKeyPem, issuer: ca });
  const setup = adminSession(device, password).setup('wsman');
  await setup.installTlsCertificate({
    privateKeyDer: createPrivateKey(serverKey.privateKeyPem).export({ type: 'pkcs1', format: 'der' }),
    certificateChainDer: [leaf.der, ca.der],
    acceptNonSecureConnections: options.acceptNonSecureConnections,
  });
  await setup.commitChanges();
  return { caPem: ca.pem, serverName };
}
