import { pgliteDir, type AmtflowConfig } from '../lib/config';
import { secretBoxFromConfig } from '../lib/crypto/kek';
import type { SecretBox } from '../lib/crypto/secret-box';
import { CertificateAuthority } from '../lib/pki';
import { createStore, type Store } from '../lib/store';
import { openDatabase, type Database } from '../lib/store/database';

/** The site's own state, which workers and front doors both open: database, sealed secrets, CA. */
export interface Site {
  database: Database;
  store: Store;
  box: SecretBox;
  ca: CertificateAuthority;
}

/**
 * Opens the site database (PostgreSQL at `database.url`, else PGlite in the state directory, or the
 * one given), the store over it and the CA. The caller closes `database`.
 */
export async function openSite(config: AmtflowConfig, database?: Database): Promise<Site> {
  const db =
    database ??
    (await openDatabase(config.database.url ? { url: config.database.url } : { dataDir: pgliteDir(config) }));
  const box = secretBoxFromConfig(config);
  return {
    database: db,
    store: createStore(db, box),
    box,
    ca: await CertificateAuthority.open({ config, box, db: db.db }),
  };
}
