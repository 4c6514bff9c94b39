import { releaseSambaDc } from '../../scripts/samba-dc';
import { stopServer } from '../../scripts/temporal-dev-server';
import { TEST_DC } from '../support/directory';
import { TEST_SERVER } from '../support/temporal';

export default async function globalTeardown(): Promise<void> {
  await Promise.all([
    process.env.AMTFLOW_TEST_STARTED_TEMPORAL === '1' ? stopServer(TEST_SERVER.stateDir) : undefined,
    process.env.AMTFLOW_TEST_NO_SAMBA === '1' ? undefined : releaseSambaDc(TEST_DC),
  ]);
}
