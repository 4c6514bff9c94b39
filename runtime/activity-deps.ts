import { readFileSync } from 'node:fs';
import type { ActivityDeps } from '../activities/deps';
import { pgliteDir, type AmtflowConfig } from '../lib/config';
import { secretBoxFromConfig } from '../lib/crypto/kek';
import { withDirectory } from '../lib/directory';
import { CertificateAuthority } from '../lib/pki';
import { createStore } from '../lib/store';
import type { ProvisioningAccount } from '../lib/store/credentials';
import { openDatabase, type Database } from '../lib/store/database';

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
 * Builds the activities' dependencies from the configuration: the site database (PGlite or
 * PostgreSQL), the store over it, the CA, the directory and the AMT account list.
 */
export async function buildActivityDeps(config: AmtflowConfig, database?: Database): Promise<ActivityDeps> {
  const db =
    database ??
    (await openDatabase(config.database.url ? { url: config.database.url } : { dataDir: pgliteDir(config) }));
  const box = secretBoxFromConfig(config);
  const directoryConfig = config.directory;
  return {
    config,
    database: db,
    store: createStore(db, box),
    box,
    ca: await CertificateAuthority.open({ config, box, db: db.db }),
    withDirectory: async (work) => {
      if (!directoryConfig)
        throw new Error('directory is not configured: set the `directory` section of the configuration');
      return withDirectory(directoryConfig, work);
    },
    provisioningAccounts: provisioningAccounts(config),
    amtTimeouts: { connectMs: config.amt.connectTimeoutMs, responseMs: config.amt.responseTimeoutMs },
  };
}
