import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import type { Client } from 'ldapts';
import { addForestDomain, adminClient, highestCommittedUsn, removeForestDomain } from '../../support/directory';
import { expectNoSecretInHistories } from '../../support/agreement';
import { newDeviceUuid } from '../../support/device-uuid';
import { PROFILE_SECRETS, startLifecycleEnv, type LifecycleEnv } from '../../support/lifecycle-env';

/**
 * Each validation failure ends the run with its typed error, and nothing changed in the firmware,
 * the directory, the CA or the site database.
 */
describe('validation failures end to end', () => {
  let env: LifecycleEnv;
  let ldap: Client;
  let crossRef: string;

  beforeAll(async () => {
    crossRef = await addForestDomain('northwindtraders.test', 'NWT');
    ldap = await adminClient();
    env = await startLifecycleEnv(
      [
        { hostName: 'amt-untrusted', amtVersion: '11.8.50' },
        { hostName: 'pc1', domain: 'fabrikam.test', amtVersion: '11.8.50' },
        { hostName: 'computer1', domain: 'northwindtraders.test', amtVersion: '11.8.50' },
      ],
      { firstIp: '127.31.5.1' },
    );
    // The first device's hello listed roots other than amtflow's.
    const untrusted = env.fleet.device(env.devices[0]!.uuid);
    await env.deps.store.contacts.recordHello(untrusted.uuid, {
      host: untrusted.address,
      httpPort: untrusted.httpPort,
      tlsPort: untrusted.tlsPort,
      rootHashes: [{ algorithm: 'sha256', hex: 'ee'.repeat(32) }],
    });
  });
  afterAll(async () => {
    await env?.stop();
    await ldap?.unbind();
    await removeForestDomain(crossRef);
  });

  async function snapshot(uuid: string) {
    const db = env.deps.database.db;
    const count = async (
      table: 'certificates' | 'credentials' | 'directory_objects' | 'provisioning_results',
      column: string,
    ) =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .where(column as never, '=', uuid as never)
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      nvram: uuid === 'unknown' ? null : env.fleet.device(uuid).nvram(),
      usn: await highestCommittedUsn(ldap),
      certificates: await count('certificates', 'device_uuid'),
      credentials: uuid === 'unknown' ? 0 : await count('credentials', 'device'),
      directoryObjects: uuid === 'unknown' ? 0 : await count('directory_objects', 'device'),
      results: uuid === 'unknown' ? 0 : await count('provisioning_results', 'device'),
    };
  }

  it.each([
    ['no root-hash match', 0, 'ROOT_HASH_MISMATCH'],
    ['a foreign forest', 1, 'FOREIGN_FOREST'],
    ['a non-contiguous namespace', 2, 'NON_CONTIGUOUS_NAMESPACE'],
    ['an unknown UUID', -1, 'DEVICE_NOT_IMPORTED'],
  ])('%s ends with its typed error and changes nothing', async (_name, index, code) => {
    const uuid = index >= 0 ? env.devices[index]!.uuid : newDeviceUuid();
    const before = await snapshot(index >= 0 ? uuid : 'unknown');
    const failure = await (await env.provision(uuid)).result().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(((failure as WorkflowFailedError).cause as ApplicationFailure).type).toBe(code);
    expect(await snapshot(index >= 0 ? uuid : 'unknown')).toEqual(before);
  });

  it('kept every password, passphrase and OTP out of every history', async () => {
    expect(await expectNoSecretInHistories(env, Object.values(PROFILE_SECRETS))).toBeGreaterThan(0);
  });
});
