import { readFileSync } from 'node:fs';
import type { ActivityDeps } from '../activities/deps';
import type { AmtflowConfig } from '../lib/config';
import { withDirectory } from '../lib/directory';
import type { ProvisioningAccount } from '../lib/store/credentials';
import type { Database } from '../lib/store/database';
import { openSite } from './site';

/** AMT's documented factory password for the `admin` account: public knowledge, not a secret. */
const FACTORY_PASSWORD = 'admin';

export function provisioningAccounts(config: AmtflowConfig): ProvisioningAccount[] {
  return config.amt.provisioningAccounts.map((account) => ({
    name: account.name,
    username: account.username,
    password: account.passwordFile ? readFileSync(account.passwordFile, 'utf8').trim() : FACTORY_PASSWORD,
  }));
}

/**
 * Builds the activities' dependencies from the configuration: the site (database, store, CA), the
 * directory and the AMT account list.
 */
export async function buildActivityDeps(config: AmtflowConfig, database?: Database): Promise<ActivityDeps> {
  const site = await openSite(config, database);
  const directoryConfig = config.directory;
  return {
    ...site,
    config,
    withDirectory: async (work) => {
      if (!directoryConfig)
        throw new Error('directory is not configured: set the `directory` section of the configuration');
      return withDirectory(directoryConfig, work);
    },
    provisioningAccounts: provisioningAccounts(config),
    amtTimeouts: { connectMs: config.amt.connectTimeoutMs, responseMs: config.amt.responseTimeoutMs },
  };
}
