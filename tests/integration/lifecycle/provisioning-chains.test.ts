import { createHash, X509Certificate } from 'node:crypto';
import { progressQuery } from '../../../workflows/messages';
import { AMT_PROVISIONING_OID, SERVER_AUTH_OID } from '../../../lib/pki/templates';
import { expectProvisionedEverywhere } from '../../support/agreement';
import { TEST_DOMAIN } from '../../support/activity-env';
import { startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';
import { foreignCertificate, pem, pkcs12, rsaKey } from '../../unit/pki/fixtures';

/**
 * Issue 12 §2 end to end: a mixed fleet whose newer device trusts only a public root that amtflow
 * holds a second provisioning chain under. OOB3 chooses that chain from the root hash in the
 * device's hello, and OOB4 presents it: the firmware takes it and the device ends provisioned.
 */
const vendorRootKey = rsaKey(2048);
const leafKey = rsaKey(2048);
const vendorRoot = foreignCertificate({
  subject: [{ shortName: 'CN', value: 'Public Provisioning Root' }],
  key: vendorRootKey,
  ca: true,
});
const vendorLeaf = foreignCertificate({
  subject: [{ shortName: 'CN', value: `oobsp.${TEST_DOMAIN}` }],
  key: leafKey,
  issuer: { certificate: vendorRoot, key: vendorRootKey },
  extKeyUsage: [SERVER_AUTH_OID, AMT_PROVISIONING_OID],
  serial: '6161',
});
const vendorRootSha256 = createHash('sha256')
  .update(new X509Certificate(pem(vendorRoot)).raw)
  .digest('hex');
const PASSWORD = 'Public-Export-Pa55';

describe('a device that trusts only the second provisioning chain', () => {
  let env: LifecycleEnv;
  beforeAll(async () => {
    env = await startLifecycleEnv(
      [
        {
          hostName: 'amt-public-root',
          amtVersion: '16.1.25',
          customHashes: [{ algorithm: 'sha256', hash: vendorRootSha256, description: 'public provisioning root' }],
        },
      ],
      { firstIp: '127.31.11.1' },
    );
    env.deps.ca.provisioning.addChain(pkcs12(leafKey, [vendorLeaf, vendorRoot], PASSWORD), PASSWORD);
    // Its hello lists the public root only.
    const device = env.fleet.device(env.devices[0]!.uuid);
    await env.deps.store.contacts.recordHello(env.devices[0]!.uuid, {
      host: device.address,
      httpPort: device.httpPort,
      tlsPort: device.tlsPort,
      rootHashes: [{ algorithm: 'sha256', hex: vendorRootSha256 }],
      adminCredentialsSet: false,
    });
  });
  afterAll(async () => env?.stop());

  it('is provisioned over the chain under the root it listed', async () => {
    const device = env.devices[0]!;
    const handle = await env.provision(device.uuid, 'out-of-band');
    const result = await handle.result();
    expect((await handle.query(progressQuery)).state).toBe('completed');
    await expectProvisionedEverywhere(env, device, result);
    // The firmware's provisioning record names the chain it accepted: the public root's, its leaf's CN.
    expect(env.fleet.device(device.uuid).nvram().provisioning.record).toMatchObject({
      hash: expect.stringMatching(new RegExp(`^${vendorRootSha256}$`, 'i')),
      serverCertCn: `oobsp.${TEST_DOMAIN}`,
    });
  });
});
