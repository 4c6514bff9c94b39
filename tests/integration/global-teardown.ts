import { stopServer } from '../../scripts/temporal-dev-server';
import { TEST_SERVER } from '../support/temporal';

export default async function globalTeardown(): Promise<void> {
  if (process.env.AMTFLOW_TEST_STARTED_TEMPORAL === '1') await stopServer(TEST_SERVER.stateDir);
}
